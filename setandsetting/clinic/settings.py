"""The room's side of the clinic link as room.yaml sets it: the hub's address, the room's
name there, and its token, read from `token_file` (relative to the room folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from setandsetting.room.errors import RoomError
from setandsetting.room.folder import RoomFolder


class ClinicSetupError(RoomError):
    """The room is not (or not properly) set up to report to a clinic hub."""


@dataclass(frozen=True, slots=True)
class LinkSettings:
    url: str
    room: str
    token: str


def link_settings(folder: RoomFolder) -> LinkSettings:
    """room.yaml's `clinic:` with its token; ClinicSetupError says what is missing."""
    clinic = folder.room().clinic
    where = folder.root / "room.yaml"
    if clinic is None:
        raise ClinicSetupError(f"{where}: no `clinic:` section, so this room reports nowhere")
    path = Path(clinic.token_file)
    path = path if path.is_absolute() else folder.root / path
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ClinicSetupError(
            f"{where}: clinic.token_file {path}: cannot read the room's token "
            f"({err.strerror or err})"
        ) from None
    if not token:
        raise ClinicSetupError(f"{where}: clinic.token_file {path} is empty")
    return LinkSettings(clinic.url, clinic.room, token)
