"""`setandsetting library scan DIR`: measure every track's loudness ahead of a session.

Measuring a long track takes a moment; doing it before the session means the engine finds
every gain in the cache (`<room>/.cache/loudness.json`) and never waits at a track change.
Unreadable files are listed as errors and counted, but the exit status stays 0: the scan
is an analysis, the files it could read are cached, and `validate` is the command that
fails on bad input. Exit 2 (a CommandError) only when DIR itself is not a folder.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from setandsetting.audio.loudness import (
    DEFAULT_TARGET_LUFS,
    LoudnessCache,
    LoudnessError,
    TrackLoudness,
    gain_to_target,
)
from setandsetting.cli.common import CommandError
from setandsetting.core.playlist import AUDIO_SUFFIXES
from setandsetting.core.units import format_clock
from setandsetting.room.folder import RoomFolder

_SAVE_EVERY = 25  # an interrupted scan of a big library keeps most of its work


def register(subparsers: argparse._SubParsersAction) -> None:
    library = subparsers.add_parser("library", help="analyse tracks (duration, loudness)")
    sub = library.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    p = sub.add_parser("scan", help="measure loudness of every audio file under DIR")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument(
        "--target",
        type=float,
        default=DEFAULT_TARGET_LUFS,
        metavar="LUFS",
        help=f"loudness target for the gain column (default {DEFAULT_TARGET_LUFS:g})",
    )
    p.set_defaults(func=_scan, error_prefix="setandsetting library scan: ")


def audio_files(root: Path) -> list[Path]:
    """Audio files under `root` by suffix, sorted, skipping hidden files and folders."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            Path(folder) / f
            for f in files
            if not f.startswith(".") and Path(f).suffix.lower() in AUDIO_SUFFIXES
        ]
    return sorted(found)


def _db(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "silent"


def _scan(args: argparse.Namespace) -> int:
    root: Path = args.dir
    if not root.is_dir():
        raise CommandError(f"{root} is not a folder")
    files = audio_files(root)
    cache = LoudnessCache(RoomFolder(Path(args.room)).cache_dir)
    results: dict[Path, TrackLoudness | LoudnessError] = {}
    with Progress(
        TextColumn("measuring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("", total=len(files))
        for i, path in enumerate(files, 1):
            progress.update(task, description=path.name)
            results[path] = cache.measure(path)
            progress.advance(task)
            if i % _SAVE_EVERY == 0:
                cache.save()
    cache.save()

    table = Table(title=f"{root}  (target {args.target:g} LUFS)")
    table.add_column("track", overflow="fold")
    table.add_column("duration", justify="right")
    table.add_column("LUFS", justify="right")
    table.add_column("peak dB", justify="right")
    table.add_column("gain dB", justify="right")
    errors = 0
    for path, result in results.items():
        name = str(path.relative_to(root))
        if isinstance(result, LoudnessError):
            errors += 1
            table.add_row(name, "", "", "", f"[red]error: {result.message}[/red]")
            continue
        gain = gain_to_target(result.lufs, args.target, peak_db=result.peak_db)
        table.add_row(
            name,
            format_clock(result.duration_s),
            _db(result.lufs),
            _db(result.peak_db),
            f"{gain:+.1f}",
        )
    console = Console(width=max(100, Console().width))
    console.print(table)
    summary = f"{len(files) - errors} measured, {errors} unreadable"
    console.print(summary if not errors else f"[red]{summary}[/red]")
    return 0
