"""The room's music library: the folders room.yaml names, and the path guard for requests.

A path from a request reaches the file system only through `library_file`: no `..`, no
NUL, and it must resolve (symlinks too) to an audio file inside a library root. What the
library shows of each file is the catalogue's row when the file has not changed since it
was scanned, else what its tags say now (not scanned: no loudness yet).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from setandsetting.core.catalogue import Condition, Entry, matches
from setandsetting.core.playlist import AUDIO_SUFFIXES
from setandsetting.room.catalogue import Row, entry, stored_rows, tags_row
from setandsetting.room.errors import EditError, NotFound
from setandsetting.room.folder import RoomFolder

LIBRARY_LIMIT = 500  # at most this many library entries per listing


def library_roots(folder: RoomFolder) -> list[tuple[Path, Path]]:
    """room.yaml's library roots as (as written, under the room folder; fully resolved)."""
    roots = []
    for root in folder.room().library:
        path = Path(os.path.normpath(folder.root / root))
        if path.is_dir():
            roots.append((path, path.resolve()))
    return roots


def library_file(folder: RoomFolder, library_path: str) -> Path:
    """A path from a request, if it is an audio file inside a library root (even resolved).

    Returned as written (not resolved), so playlists keep the room's own relative paths.
    """
    if not isinstance(library_path, str) or not library_path or "\x00" in library_path:
        raise EditError("a library path is required")
    candidate = Path(library_path)
    if ".." in candidate.parts:
        raise EditError(f"{library_path!r}: '..' is not allowed in a library path")
    roots = library_roots(folder)
    if not roots:
        raise EditError("room.yaml names no library folder")
    bases = [candidate] if candidate.is_absolute() else [folder.root / candidate]
    bases += [] if candidate.is_absolute() else [shown / candidate for shown, _ in roots]
    for base in bases:
        resolved = base.resolve()
        if any(resolved.is_relative_to(real) for _, real in roots):
            if not resolved.is_file():
                continue
            if resolved.suffix.lower() not in AUDIO_SUFFIXES:
                raise EditError(f"{library_path!r} is not an audio file")
            return Path(os.path.normpath(base))
        if resolved.exists() or candidate.is_absolute():
            raise EditError(f"{library_path!r} is outside the room's library folders")
    raise NotFound(f"{library_path!r}: no such file in the room's library")


def library_entries(folder: RoomFolder) -> Iterator[Entry]:
    """Every playable audio file under the library roots (symlinks out of a root skipped)."""
    rows = stored_rows(folder)
    for shown_root, real_root in library_roots(folder):
        for file in sorted(shown_root.rglob("*")):
            if file.suffix.lower() not in AUDIO_SUFFIXES or not file.is_file():
                continue
            if not file.resolve().is_relative_to(real_root):
                continue
            found = _entry(folder, file, rows)
            if found is not None:
                yield found


def _entry(folder: RoomFolder, file: Path, rows: dict[str, Row]) -> Entry | None:
    """The catalogue's row while the file is unchanged, else its tags read now."""
    shown = os.path.relpath(file, folder.root)
    row, st = rows.get(shown), file.stat()
    if row is not None and row.current(st):
        return entry(folder, row)
    try:
        now = tags_row(file, shown, st)
    except EditError:
        return None  # unreadable: nothing to play
    hand = row.hand_vocals if row is not None else None
    return entry(folder, replace(now, hand_vocals=hand), scanned=False)


def library(
    folder: RoomFolder, query: str = "", conditions: Sequence[Condition] = ()
) -> list[dict[str, Any]]:
    """The library's entries the search words and tag conditions keep, at most LIBRARY_LIMIT."""
    out: list[dict[str, Any]] = []
    for found in library_entries(folder):
        if matches(found, conditions, query):
            out.append(found.view())
            if len(out) >= LIBRARY_LIMIT:
                break
    return out
