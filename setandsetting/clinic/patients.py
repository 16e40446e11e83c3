"""A patient's folder across rooms: playlists and patient.yaml, versioned at the hub.

The hub holds each patient's folder as its files (`playlists/<ID>/*.yaml|m3u|m3u8`) and a
version number. A room fetches the folder when a session for that patient starts and keeps
it as its local copy (written atomically, the version beside it in `.clinic-version`), so
the session has it when the hub is away. An edit is sent with the version it was made on:
if the hub has moved on meanwhile (another room, or the dashboard, saved first), the hub
refuses it and says who saved the newer version — two edits of one playlist never silently
overwrite each other. The local edit stays on disk, unsent, for the editor to redo on the
newer version.
"""

from __future__ import annotations

import re

from setandsetting.core.types import check_patient_id
from setandsetting.room.folder import RoomFolder
from setandsetting.room.yamlfile import write_atomic

FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(?:yaml|m3u|m3u8)")
MAX_FILE_BYTES = 256 * 1024
MAX_FILES = 64
VERSION_FILE = ".clinic-version"


def check_files(files: object) -> dict[str, str]:
    """A folder's files as a request carries them: names a playlist or patient.yaml can
    have, text, bounded; ValueError says what is wrong."""
    if not isinstance(files, dict) or len(files) > MAX_FILES:
        raise ValueError(f"files: an object of at most {MAX_FILES} file names to their text")
    for name, text in files.items():
        if not isinstance(name, str) or not FILE_NAME.fullmatch(name):
            raise ValueError(f"files: {name!r} is not a playlist or patient.yaml file name")
        if not isinstance(text, str) or len(text.encode()) > MAX_FILE_BYTES:
            raise ValueError(f"files: {name} is not text of at most {MAX_FILE_BYTES // 1024} KB")
    return dict(files)


def read_folder(folder: RoomFolder, patient: str) -> dict[str, str]:
    """The patient's files in this room, by name."""
    root = folder.patient_dir(patient)
    if not root.is_dir():
        return {}
    return {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted(root.iterdir())
        if path.is_file() and FILE_NAME.fullmatch(path.name)
    }


def local_version(folder: RoomFolder, patient: str) -> int:
    """The hub's version this room's copy is (0: never fetched nor sent)."""
    path = folder.patient_dir(patient) / VERSION_FILE
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return 0


def write_folder(folder: RoomFolder, patient: str, files: dict[str, str], version: int) -> None:
    """Make this room's copy the hub's `version`: each file atomically, files the hub no
    longer has removed, then the version."""
    root = folder.patient_dir(check_patient_id(patient))
    root.mkdir(parents=True, exist_ok=True)
    files = check_files(files)
    for name, text in files.items():
        path = root / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_atomic(path, text)
    for path in root.iterdir():
        if path.is_file() and FILE_NAME.fullmatch(path.name) and path.name not in files:
            path.unlink()
    write_atomic(root / VERSION_FILE, f"{version}\n")
