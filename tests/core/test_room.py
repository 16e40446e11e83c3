"""Room settings: the loudness target as written, every key's default."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from setandsetting.core.room import Room


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
