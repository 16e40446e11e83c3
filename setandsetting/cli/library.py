"""`setandsetting library scan|list|tag`: the room's catalogue of music.

`scan [DIR]` (DIR, else room.yaml's library folders) reads every track's tags, length and
loudness into the catalogue (room.catalogue), reading again only files that changed; the
loudness also goes to the cache the engine reads, so no track change waits for a
measurement. Unreadable files are listed as errors and counted, but the exit status stays
0: the scan is an analysis, and `validate` is the command that fails on bad input. Exit 2
only when DIR itself is not a folder. `list` shows what the catalogue holds, filtered by
tags; `tag PATH instrumental|vocals|auto` sets a track's voice by hand (auto: its tags').
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from setandsetting.audio.loudness import DEFAULT_TARGET_LUFS, gain_to_target
from setandsetting.cli.common import CommandError, room_of
from setandsetting.core.catalogue import VOCALS, matches, parse_conditions
from setandsetting.core.units import format_clock
from setandsetting.room import catalogue
from setandsetting.room.library import library_roots


def register(subparsers: argparse._SubParsersAction) -> None:
    library = subparsers.add_parser("library", help="the room's catalogue of music")
    sub = library.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    p = sub.add_parser("scan", help="read tags, length and loudness of every track into it")
    p.add_argument("dir", type=Path, metavar="DIR", nargs="?", help="default: room.yaml library")
    p.add_argument(
        "--target",
        type=float,
        default=DEFAULT_TARGET_LUFS,
        metavar="LUFS",
        help=f"loudness target for the gain column (default {DEFAULT_TARGET_LUFS:g})",
    )
    p.set_defaults(func=_scan, error_prefix="setandsetting library scan: ")

    p = sub.add_parser("list", help="the catalogue's tracks, filtered by tags")
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="instrumental, vocals or FIELD=VALUE (genre, language, artist, album, title)",
    )
    p.add_argument("--search", default="", metavar="WORDS", help="in title, artist, album, path")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_list, error_prefix="setandsetting library list: ")

    p = sub.add_parser("tag", help="say by hand whether a track has vocals")
    p.add_argument("path", type=Path, metavar="PATH")
    p.add_argument("vocals", choices=[*VOCALS, "auto"], help="auto: what its tags say")
    p.set_defaults(func=_tag, error_prefix="setandsetting library tag: ")


def _db(value: float | None) -> str:
    return f"{value:.1f}" if value is not None and math.isfinite(value) else "-"


def _scan(args: argparse.Namespace) -> int:
    folder = room_of(args)
    if args.dir is not None:
        if not args.dir.is_dir():
            raise CommandError(f"{args.dir} is not a folder")
        roots = [args.dir]
    else:
        roots = [shown for shown, _ in library_roots(folder)]
        if not roots:
            raise CommandError("give DIR, or name the library folders in room.yaml (library:)")
    console = Console(width=max(100, Console().width))
    for root in roots:
        files = catalogue.audio_files(root)
        with Progress(
            TextColumn("scanning"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            task = progress.add_task("", total=len(files))

            def step(file: Path, task: object = task) -> None:
                progress.update(task, description=file.name, advance=1)  # type: ignore[arg-type]

            result = catalogue.scan(folder, files, under=root, progress=step)
        _print_scan(console, root, args.target, result)
    return 0


def _print_scan(console: Console, root: Path, target: float, result: catalogue.Scanned) -> None:
    table = Table(title=f"{root}  (target {target:g} LUFS)")
    for name, justify in [("track", "left"), ("duration", "right"), ("LUFS", "right")]:
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for name in ("peak dB", "gain dB", "voice"):
        table.add_column(name, justify="right")
    for file, row in result.rows:
        gain = (
            ""
            if row.lufs is None
            else f"{gain_to_target(row.lufs, target, peak_db=row.peak_db):+.1f}"
        )
        table.add_row(
            str(file.relative_to(root)),
            format_clock(row.duration_s),
            _db(row.lufs),
            _db(row.peak_db),
            gain,
            row.hand_vocals or row.tag_vocals or "",
        )
    for file, why in result.errors:
        table.add_row(str(file.relative_to(root)), "", "", "", f"[red]error: {why}[/red]", "")
    console.print(table)
    read = result.read - len(result.errors)
    summary = f"{read} read, {result.unchanged} unchanged, {len(result.errors)} unreadable"
    if result.removed:
        summary += f", {result.removed} gone from the catalogue"
    console.print(summary if not result.errors else f"[red]{summary}[/red]")


def _list(args: argparse.Namespace) -> int:
    try:
        conditions = parse_conditions(args.tag)
    except ValueError as err:
        raise CommandError(str(err)) from None
    folder = room_of(args)
    entries = [catalogue.entry(folder, row) for row in catalogue.stored_rows(folder).values()]
    shown = [e for e in entries if matches(e, conditions, args.search)]
    if args.json:
        print(json.dumps([e.view() for e in shown], indent=1, ensure_ascii=False))
        return 0
    if not entries:
        print("the catalogue is empty: run `setandsetting library scan` first")
        return 0
    table = Table()
    for name in ("track", "title", "length", "voice", "genre", "language", "LUFS"):
        table.add_column(name, overflow="fold")
    for e in shown:
        voice = (e.vocals or "") + (" (by hand)" if e.vocals_by == "hand" else "")
        table.add_row(
            e.path,
            e.title,
            format_clock(e.duration_s),
            voice,
            e.genre or "",
            e.language or "",
            _db(e.lufs),
        )
    Console(width=max(100, Console().width)).print(table)
    print(f"{len(shown)} of {len(entries)} tracks")
    return 0


def _tag(args: argparse.Namespace) -> int:
    vocals = None if args.vocals == "auto" else args.vocals
    row = catalogue.set_vocals(room_of(args), args.path, vocals)
    shown = row.hand_vocals or row.tag_vocals or "unknown"
    how = "by hand" if row.hand_vocals else "from its tags"
    print(f"{row.path}: {shown} ({how})")
    return 0
