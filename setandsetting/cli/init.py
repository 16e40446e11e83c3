"""`setandsetting init [DIR] [--force]`: a new room folder, from the example room.

room.yaml (commented), the shipped profiles, the default playlists, one example patient
and a .gitignore for the journal, the lock and the token. It never overwrites a file: a
folder that already has some of them gets nothing (exit 2, naming them), and `--force`
adds only what is missing, naming what it left.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init", help="make a room folder: room.yaml, profiles, playlists")
    p.add_argument("dir", nargs="?", type=Path, help="the folder (default: --room, else here)")
    p.add_argument("--force", action="store_true", help="add what is missing, keep the rest")
    p.set_defaults(func=init, error_prefix="setandsetting init: ")


def init(args: argparse.Namespace) -> int:
    from setandsetting.room.skeleton import make_room

    dest = args.dir if args.dir is not None else Path(args.room)
    made = make_room(dest, force=args.force)
    if made.written:
        count = len(made.written)
        print(f"made the room in {dest}: {count} file{'' if count == 1 else 's'} written")
    else:
        print(f"{dest} has every file of a room already: nothing written")
    if made.left:
        print(f"left as they were: {', '.join(str(rel) for rel in made.left)}")
    if made.written:
        print(
            "next: `setandsetting demo` there plays the demo session (it makes the demo "
            "music the example playlists name); edit room.yaml for this room's devices"
        )
    return 0
