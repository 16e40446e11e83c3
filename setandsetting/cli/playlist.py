"""`setandsetting playlist show|add|remove|move|copy-default|avoid|fit`: a patient's playlists.

Edits the room folder directly (no daemon needed), through the same room.playlists and
room.avoid modules as the web UI: atomic writes, comments kept. `fit` proposes a playlist
from the library for a phase's planned length (room.fit, the rule in core.fit) and, with
`--save`, makes it the patient's playlist for the slot. Track numbers here count
from 1, as shown. An edit for a patient the room has no folder for is refused unless
`--new-patient` says so: a mistyped ID must not quietly become a new patient.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from setandsetting.cli.common import CommandError, profile_of, room_of
from setandsetting.core.types import check_patient_id
from setandsetting.core.units import format_duration
from setandsetting.room import avoid, playlists

if TYPE_CHECKING:
    from setandsetting.core.fit import Proposal
    from setandsetting.journal.store import Journal


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

    p = cmds.add_parser("fit", help="propose a playlist from the library that fills a phase")
    p.add_argument("patient")
    p.add_argument("slot")
    p.add_argument("--profile", required=True, help="a profile's name or file")
    p.add_argument("--phase", required=True, metavar="ID", help="the phase whose length to fill")
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="TAG",
        help="only tracks with it: instrumental, vocals or FIELD=VALUE (as `library list`)",
    )
    p.add_argument(
        "--not-heard",
        type=int,
        default=0,
        metavar="N",
        help="leave out what the patient heard in their last N sessions",
    )
    p.add_argument("--save", action="store_true", help="make it the patient's playlist")
    new_patient(p)
    p.set_defaults(func=_fit, error_prefix="setandsetting playlist fit: ")


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


def _fit(args: argparse.Namespace) -> int:
    from setandsetting.core.catalogue import parse_conditions
    from setandsetting.room.fit import propose

    if args.not_heard < 0:
        raise CommandError("--not-heard: a number of sessions, 0 or more")
    try:
        conditions = parse_conditions(args.tag)
    except ValueError as err:
        raise CommandError(f"--tag: {err}") from None
    profile = profile_of(args, args.profile, "--profile: ")
    journal = _journal(args) if args.not_heard else None
    try:
        proposal: Proposal = _edit(
            args,
            lambda folder, patient: propose(
                folder,
                patient,
                args.slot,
                profile,
                args.phase,
                conditions=conditions,
                not_heard=args.not_heard,
                journal=journal,
            ),
            writes=False,
        )
    finally:
        if journal is not None:
            journal.close()
    print(
        f"{args.slot} for {args.patient}: phase {args.phase} lasts "
        f"{format_duration(proposal.target_s)} (crossfade {format_duration(proposal.crossfade)})"
    )
    for number, entry in enumerate(proposal.tracks, 1):
        length = format_duration(entry.duration_s)
        voice = f"  [{entry.vocals}]" if entry.vocals else ""
        print(f"  {number:>2}. {entry.title}  {length}  {entry.path}{voice}")
    print(f"  {_verdict(proposal)}")
    if proposal.left_out:
        print("  left out: " + ", ".join(f"{n} {why}" for why, n in proposal.left_out))
    if not proposal.tracks:
        raise CommandError("no track in the library can be proposed")
    if not args.save:
        print(f"(review it, then add --save to make it {args.patient}'s {args.slot} playlist)")
        return 0
    tracks = [{"path": e.path, "title": e.title} for e in proposal.tracks]
    _print_slot(_edit(args, playlists.set_tracks, args.slot, tracks))
    return 0


def _verdict(proposal: Proposal) -> str:
    gap = proposal.length_s - proposal.target_s
    how = f"{format_duration(abs(gap))} {'long' if gap > 0 else 'short'}" if abs(gap) >= 0.5 else ""
    length = f"lasts {format_duration(proposal.length_s)}"
    if proposal.within:
        return f"{length}: fills the phase to within one crossfade" + (f" ({how})" if how else "")
    return f"{length}: the closest the rule found, {how} (not within one crossfade)"


def _journal(args: argparse.Namespace) -> Journal | None:
    """The room's journal for what the patient heard, or None when there is none yet."""
    from setandsetting.journal.store import Journal

    path = room_of(args).journal_path
    return Journal.open(path, create=False) if path.exists() else None
