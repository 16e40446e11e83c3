"""`setandsetting demo [DIR]`: what `make demo` does, from an installed package.

A room folder first where there is none (`init`: the example room), then the demo music the
example playlists name (generated once, into music/demo; kept after that), then the room
daemon serving, with the six-minute demo session started for the example patient (or an
interrupted one resumed), and its address printed. Ctrl-C stops the daemon, not the session.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEMO_PROFILE = "demo"
DEMO_PATIENT = "P-0042"
MUSIC_DIR = Path("music") / "demo"
STAMP = ".generated"  # `make test` takes the demo music as complete once this is there


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="make a room if needed, its demo music, and serve the demo")
    p.add_argument("dir", nargs="?", type=Path, help="the room folder (default: --room, else here)")
    p.add_argument("--port", type=int, help="port (default: room.yaml, else 8700; 0: any free)")
    p.set_defaults(func=demo, error_prefix="setandsetting demo: ")


def demo(args: argparse.Namespace) -> int:
    from setandsetting.cli.common import profile_of
    from setandsetting.cli.serve import serve
    from setandsetting.room.skeleton import make_room

    root = args.dir if args.dir is not None else Path(args.room)
    if not (root / "room.yaml").exists():
        made = make_room(root)
        print(f"made the room in {root}: {len(made.written)} files written", flush=True)
    serving = argparse.Namespace(
        room=root,
        host=None,
        port=args.port,
        start=DEMO_PROFILE,
        patient=DEMO_PATIENT,
        meds=None,
        first=None,
        intention=None,  # the demo's route asks no session facts
    )
    profile_of(serving, DEMO_PROFILE, "--start: ")  # said now, not after making the music
    _demo_music(root)
    return serve(serving)


def _demo_music(root: Path) -> None:
    """Every demo file complete (those there already are kept); the first time, also their
    loudness measured into the room's cache (else the session's start would, unannounced)."""
    from setandsetting.audio.demo_music import generate
    from setandsetting.audio.loudness import LoudnessCache
    from setandsetting.cli.common import CommandError, room_of

    folder = room_of(argparse.Namespace(room=root))
    music = folder.root / MUSIC_DIR
    first = not (music / STAMP).exists()
    if first:
        print(f"making the demo music in {music} (a minute or so, once)", flush=True)
    try:
        paths = generate(music)
        if first:
            if folder.room().audio.loudness_target is not None:
                LoudnessCache(folder.cache_dir).measure_all(paths)
            (music / STAMP).touch()
    except OSError as err:
        why = err.strerror or err
        raise CommandError(f"cannot write the demo music in {music}: {why}") from None
