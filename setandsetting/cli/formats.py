"""`setandsetting validate PATH...` and `setandsetting schema`.

`validate` tells each file's kind from its name, folder and content, loads it as the session
would, and prints every problem as `FILE:LINE:COL: field.path: message` (exit 2). It never
shows a traceback: whatever goes wrong with one file is a line naming that file.

It also checks what will play (room.playable): every track a playlist names must be
readable audio, and every slot a profile names must have a playlist for `--patient` or the
room default. Both are errors, not warnings: a missing track or slot is a silent phase.
The room is the room folder a file was found in (`validate ROOM`), else `--room`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from setandsetting.cli.common import CommandError, warn_unknown_patient
from setandsetting.core.loader import (
    M3U_SUFFIXES,
    load_patient,
    load_playlist,
    load_profile,
    load_room,
)
from setandsetting.core.playlist import Patient, Playlist
from setandsetting.core.problems import FormatError, Problem, sort_problems
from setandsetting.core.profile import Profile
from setandsetting.core.room import Room
from setandsetting.core.types import check_patient_id
from setandsetting.core.yamlsource import load_yaml
from setandsetting.room.errors import RoomError
from setandsetting.room.folder import RoomFolder
from setandsetting.room.playable import slot_problems, track_problems

YAML_SUFFIXES = (".yaml", ".yml")
KNOWN_SUFFIXES = YAML_SUFFIXES + M3U_SUFFIXES

LOADERS: dict[str, Callable[[Path], Any]] = {
    "profile": load_profile,
    "playlist": load_playlist,
    "patient": load_patient,
    "room": load_room,
}
MODELS: dict[str, type[BaseModel]] = {
    "profile": Profile,
    "playlist": Playlist,
    "patient": Patient,
    "room": Room,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate", help="check profiles, playlists, patient.yaml and room.yaml"
    )
    p.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH", help="files or folders, or profile names"
    )
    p.add_argument(
        "--patient",
        help="check the slots each profile plays for this patient (default: the room default)",
    )
    p.set_defaults(func=_validate)

    p = subparsers.add_parser("schema", help="the JSON Schema of a file format")
    p.add_argument("--kind", choices=sorted(MODELS), default="profile")
    p.set_defaults(func=_schema)


def kind_of(path: Path) -> str | None:
    """profile, playlist, patient or room; by name and folder first, else by content."""
    name, parts = path.name.lower(), [p.lower() for p in path.parts[:-1]]
    if name == "patient.yaml":
        return "patient"
    if name == "room.yaml":
        return "room"
    if path.suffix.lower() in M3U_SUFFIXES:
        return "playlist"
    if "profiles" in parts:
        return "profile"
    if "playlists" in parts:
        return "playlist"
    doc = load_yaml(path, expect="write a profile (`name:`, `phases:`) or a playlist (`tracks:`)")
    if isinstance(doc.data, dict) and "phases" in doc.data:
        return "profile"
    if isinstance(doc.data, dict) and "tracks" in doc.data:
        return "playlist"
    return None


def is_room(folder: Path) -> bool:
    return any((folder / n).exists() for n in ("room.yaml", "profiles", "playlists"))


def files_in(folder: Path) -> Iterator[Path]:
    """A room folder's format files, or every format file under any other folder."""
    if is_room(folder):
        candidates = [folder / "room.yaml", *sorted((folder / "profiles").glob("*"))]
        candidates += sorted((folder / "playlists").glob("*/*"))
    else:
        candidates = sorted(folder.rglob("*"))
    for path in candidates:
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if path.is_file() and path.suffix.lower() in KNOWN_SUFFIXES and not hidden:
            yield path


def check(path: Path, room: Path | None = None, patient: str | None = None) -> list[Problem]:
    """Every problem with one file, and with what it would play in the room folder `room`;
    an unexpected failure is a problem too, not a crash."""
    try:
        kind = kind_of(path)
        if kind is None:
            message = "not a profile (no `phases:`) or a playlist (no `tracks:`)"
            return [Problem(str(path), 1, 1, (), message)]
        if kind == "playlist":  # loads it, then checks what it names
            return track_problems(path)
        if kind != "profile" or room is None:
            LOADERS[kind](path)
        else:  # slot_problems loads the profile once, for its own problems and its slots
            folder = RoomFolder(room)
            missing, playing = slot_problems(folder, path, patient)
            # each playlist named as the room was given, so it reads (and de-duplicates)
            # as the same file when the room's folder is checked too
            shown = [room / found.relative_to(folder.root) for found in playing]
            return missing + [p for found in shown for p in track_problems(found)]
    except FormatError as exc:
        return exc.problems
    except Exception as exc:  # a bug must not hide the other files' results
        return [Problem(str(path), None, None, (), f"could not be checked: {exc!r}")]
    return []


def folder_problems(room: Path) -> list[Problem]:
    """What `setandsetting validate ROOM` says of a room folder (for `doctor` too)."""
    found = [p for path in files_in(room) for p in check(path, room)]
    return list(dict.fromkeys(found))


def _validate(args: argparse.Namespace) -> int:
    if args.patient is not None:
        try:
            check_patient_id(args.patient)
        except ValueError as err:
            raise CommandError(f"--patient: {err}") from None
        warn_unknown_patient(args, args.patient)
    default_room = Path(args.room)
    files: list[tuple[Path, Path]] = []
    problems: list[Problem] = []
    for path in args.paths:
        if path.is_dir():
            found = list(files_in(path))
            if not found:
                problems.append(Problem(str(path), None, None, (), "no files to check here"))
            room = path if is_room(path) else default_room
            files += [(file, room) for file in found]
        elif path.exists():
            files.append((path, default_room))
        else:
            try:
                files.append((RoomFolder(default_room).profile_file(str(path)), default_room))
            except RoomError as err:  # a name (`demo`) is told what the room has
                named = len(path.parts) == 1 and not path.suffix
                message = str(err) if named else "no such file or folder"
                problems.append(Problem(str(path), None, None, (), message))
    for path, room in files:
        problems += check(path, room, args.patient)
    problems = list(dict.fromkeys(problems))  # a playlist checked as a file and as a slot
    for problem in sort_problems(problems):
        print(problem, file=sys.stderr)
    if problems:
        return 2
    print(f"{len(files)} file{'' if len(files) == 1 else 's'} OK")
    return 0


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(MODELS[args.kind].model_json_schema(by_alias=True), indent=2))
    return 0
