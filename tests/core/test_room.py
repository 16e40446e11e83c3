"""room.yaml's OSC targets: the one reading of `host:port`, for `validate` and the backend."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from setandsetting.core.room import OscSettings, parse_target

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
