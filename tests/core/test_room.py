"""Room settings: OSC targets (the one reading of `host:port`, for `validate` and the
backend), the loudness target as written, every key's default."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from setandsetting.core.room import OscSettings, Room, parse_target

EXAMPLE = "write host:port, e.g. 127.0.0.1:7700"


@pytest.mark.parametrize(
    ("target", "read"),
    [
        ("127.0.0.1:7700", ("127.0.0.1", 7700)),
        ("qlc.local:9000", ("qlc.local", 9000)),
        ("[::1]:7700", ("::1", 7700)),
        ("fe80::1:7700", ("fe80::1", 7700)),  # unbracketed: the port follows the last colon
        # Not an address, but a host is the resolver's question (OscCues: cannot resolve);
        # the OSC backend's own copy used to refuse it here.
        ("fe80::zz:7700", ("fe80::zz", 7700)),
        ("127.0.0.1:65535", ("127.0.0.1", 65535)),
    ],
)
def test_a_target_is_read_as_host_and_port(target: str, read: tuple[str, int]) -> None:
    assert parse_target("lights", target) == read
    assert OscSettings(targets={"lights": target}).targets == {"lights": target}


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("127.0.0.1", EXAMPLE),
        (":7700", EXAMPLE),
        ("host:port", EXAMPLE),
        # Refused as room.yaml always refused it; the backend's copy used to strip spaces.
        ("127.0.0.1:7700 ", EXAMPLE),
        ("127.0.0.1:0", f"port 0 is not in 1..65535; {EXAMPLE}"),
        ("127.0.0.1:70000", f"port 70000 is not in 1..65535; {EXAMPLE}"),
    ],
)
def test_a_bad_target_says_what_to_write(target: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_target("lights", target)
    assert str(refused.value) == f"OSC target 'lights': {message}"
    with pytest.raises(ValidationError, match=f"OSC target 'lights': {message}"):
        OscSettings(targets={"lights": target})


@pytest.mark.parametrize(
    ("written", "lufs"), [("-23 LUFS", -23.0), ("-14.5lkfs", -14.5), ("-20", -20.0), (-18, -18.0)]
)
def test_a_loudness_target_as_written(written: object, lufs: float) -> None:
    assert (
        Room.model_validate({"audio": {"loudness_target": written}}).audio.loudness_target == lufs
    )


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("loud", "'loud' is not a loudness; write e.g. -23 LUFS"),
        (3, "a loudness target lies between -70 and 0 LUFS"),
        (10**400, "this number is far too large"),
    ],
)
def test_a_loudness_target_out_of_reach_is_refused(written: object, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Room.model_validate({"audio": {"loudness_target": written}})
    assert [e["msg"] for e in refused.value.errors()] == [f"Value error, {message}"]


def test_every_key_is_optional() -> None:
    room = Room.model_validate({})
    assert (room.server.host, room.server.port, room.resume_window) == ("127.0.0.1", 8700, 900.0)
