"""The room's music library: the folders room.yaml names, and the path guard for requests.

A path from a request reaches the file system only through `library_file`: no `..`, no
NUL, and it must resolve (symlinks too) to an audio file inside a library root.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from setandsetting.audio.tags import probe
from setandsetting.core.playlist import AUDIO_SUFFIXES
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


def library(folder: RoomFolder, query: str = "") -> list[dict[str, Any]]:
    """Audio files under the library roots (symlinks out of a root are skipped)."""
    needle = query.strip().lower()
    out: list[dict[str, Any]] = []
    for shown_root, real_root in library_roots(folder):
        for file in sorted(shown_root.rglob("*")):
            if file.suffix.lower() not in AUDIO_SUFFIXES or not file.is_file():
                continue
            if not file.resolve().is_relative_to(real_root):
                continue
            shown = os.path.relpath(file, folder.root)
            found = probe(file)
            title = found.title or file.stem
            if needle and needle not in title.lower() and needle not in shown.lower():
                continue
            out.append({"path": shown, "title": title, "duration_s": found.length})
            if len(out) >= LIBRARY_LIMIT:
                return out
    return out
