"""`setandsetting playlist show|add|remove|move|copy-default|avoid`: a patient's playlists.

Edits the room folder directly (no daemon needed), through the same room.playlists and
room.avoid modules as the web UI: atomic writes, comments kept. Track numbers here count
from 1, as shown. An edit for a patient the room has no folder for is refused unless
`--new-patient` says so: a mistyped ID must not quietly become a new patient.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from setandsetting.cli.common import CommandError, room_of
from setandsetting.core.types import check_patient_id
from setandsetting.core.units import format_duration
from setandsetting.room import avoid, playlists


def register(sub: argparse._SubParsersAction) -> None:
    top = sub.add_parser("playlist", help="show and edit a patient's playlists")
    cmds = top.add_subparsers(dest="playlist_command", metavar="SUBCOMMAND", required=True)

    def new_patient(p: argparse.ArgumentParser) -> None:
        help_text = "create the patient's folder if the room has none (else refused)"
        p.add_argument("--new-patient", action="store_true", help=help_text)

    p = cmds.add_parser("show", help="every slot (or one) as it plays for the patient")
    p.add_argument("patient")
    p.add_argument("slot", nargs="?")
    p.set_defaults(func=_show)

    p = cmds.add_parser("add", help="append a track from the room's library")
    p.add_argument("patient")
    p.add_argument("slot")
    p.add_argument("path", help="a file under a library folder of room.yaml")
    p.add_argument("--title")
    new_patient(p)
    p.set_defaults(func=_add)

    p = cmds.add_parser("remove", help="remove track N (as numbered by `show`)")
    p.add_argument("patient")
    p.add_argument("slot")
    p.add_argument("number", type=int)
    new_patient(p)
    p.set_defaults(func=_remove)

    p = cmds.add_parser("move", help="move track FROM to position TO (numbers from `show`)")
    p.add_argument("patient")
    p.add_argument("slot")
    p.add_argument("source", metavar="FROM", type=int)
    p.add_argument("target", metavar="TO", type=int)
    new_patient(p)
    p.set_defaults(func=_move)

    p = cmds.add_parser("copy-default", help="give the patient an own copy of the default")
    p.add_argument("patient")
    p.add_argument("slot")
    new_patient(p)
    p.set_defaults(func=_copy_default)

    p = cmds.add_parser("avoid", help="show or change what never plays for the patient")
    p.add_argument("patient")
    p.add_argument("--add", action="append", default=[], metavar="ENTRY")
    p.add_argument("--remove", action="append", default=[], metavar="ENTRY")
    new_patient(p)
    p.set_defaults(func=_avoid)


def _edit(
    args: argparse.Namespace, action: Callable[..., Any], *params: Any, writes: bool = True
) -> Any:
    """Run one look at (`writes=False`) or edit of the room folder; an edit only for a
    patient the room knows, or with --new-patient. Refusals (RoomError, FormatError) take
    the CLI's error road as they are; a patient ID or slot name refused with ValueError (as
    the room folder still does) and a file that cannot be written become a CommandError."""
    try:
        check_patient_id(args.patient)
        folder = room_of(args)
        if writes and not args.new_patient and not folder.patient_dir(args.patient).is_dir():
            raise CommandError(
                f"no patient {args.patient} in this room; add --new-patient to create one"
            )
        return action(folder, args.patient, *params)
    except (ValueError, OSError) as err:
        raise CommandError(str(err)) from None


def _print_slot(view: dict[str, Any]) -> None:
    owner = view["owner"] or "none"
    print(f"{view['slot']}  ({owner}: {view['file'] or 'no playlist'})")
    for number, track in enumerate(view["tracks"], 1):
        length = "?" if track["duration_s"] is None else format_duration(track["duration_s"])
        problem = f"  [{track['problem']}]" if track.get("problem") else ""
        print(f"  {number:>2}. {track['title']}  {length}  {track['path']}{problem}")
    if view.get("note"):
        print(f"  ({view['note']})")


def _show(args: argparse.Namespace) -> int:
    if args.slot:
        _print_slot(_edit(args, playlists.slot_view, args.slot, writes=False))
        return 0
    for view in _edit(args, playlists.all_slots, writes=False):
        _print_slot(view)
    return 0


def _add(args: argparse.Namespace) -> int:
    _print_slot(_edit(args, playlists.add_track, args.slot, args.path, args.title))
    return 0


def _remove(args: argparse.Namespace) -> int:
    _print_slot(_edit(args, playlists.remove_track, args.slot, args.number - 1))
    return 0


def _move(args: argparse.Namespace) -> int:
    _print_slot(_edit(args, playlists.move_track, args.slot, args.source - 1, args.target - 1))
    return 0


def _copy_default(args: argparse.Namespace) -> int:
    _print_slot(_edit(args, playlists.copy_default, args.slot))
    return 0


def _avoid(args: argparse.Namespace) -> int:
    current: list[str] = _edit(args, avoid.get_avoid, writes=bool(args.add or args.remove))
    if args.add or args.remove:
        missing = [entry for entry in args.remove if entry not in current]
        if missing:
            raise CommandError(f"not in the avoid list: {', '.join(missing)}")
        wanted = [e for e in current if e not in args.remove]
        wanted += [e for e in args.add if e not in wanted]
        current = _edit(args, avoid.set_avoid, wanted)
    print("\n".join(current) if current else "(nothing avoided)")
    return 0
