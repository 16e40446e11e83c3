"""A new room folder, made from the example room the package carries (`setandsetting init`).

The example room (`setandsetting/example_room/`: room.yaml commented, the shipped profiles,
the default playlists, one example patient, a .gitignore for what a room makes as it runs)
is read through importlib.resources, so it is found however the package is installed. No
file that exists is ever written: without `force` a folder that already has any of them
gets nothing at all, with `force` only the missing ones are added.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

from setandsetting.room.errors import RoomError

EXAMPLE_ROOM = "example_room"


@dataclass(frozen=True)
class Made:
    """What `make_room` did: the files it wrote and the ones it left as they were."""

    written: tuple[PurePosixPath, ...]
    left: tuple[PurePosixPath, ...]


def example_files() -> dict[PurePosixPath, Traversable]:
    """Each file of the example room, by its path inside a room folder."""
    root = files("setandsetting") / EXAMPLE_ROOM

    def walk(node: Traversable, here: PurePosixPath) -> Iterator[tuple[PurePosixPath, Traversable]]:
        for child in node.iterdir():
            if child.name == "__pycache__":
                continue
            if child.is_dir():
                yield from walk(child, here / child.name)
            else:
                yield here / child.name, child

    return dict(sorted(walk(root, PurePosixPath())))


def make_room(dest: Path, *, force: bool = False) -> Made:
    """Copy the example room into `dest` (made if missing). RoomError, and nothing written,
    when `dest` already holds any of its files and not `force`; with `force` the files
    that exist are left and only the others written."""
    example = example_files()
    if dest.exists() and not dest.is_dir():
        raise RoomError(f"{dest}: is not a folder")
    left = tuple(rel for rel in example if os.path.lexists(dest / rel))
    if left and not force:
        shown = ", ".join(str(rel) for rel in left[:4]) + (" …" if len(left) > 4 else "")
        raise RoomError(
            f"{dest} already has {shown}: nothing written "
            "(`setandsetting init --force` adds only what is missing)"
        )
    written = []
    try:
        for rel, source in example.items():
            if rel in left:
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL: a file that appeared meanwhile is not overwritten either
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            with os.fdopen(fd, "wb") as out:
                out.write(source.read_bytes())
            written.append(rel)
    except OSError as err:
        raise RoomError(f"cannot make the room in {dest}: {err.strerror or err}") from None
    return Made(tuple(written), left)
