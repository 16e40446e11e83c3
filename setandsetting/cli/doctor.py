"""`setandsetting doctor`: one report of what the room needs, a line each, with the fix.

The sound server and a tone through each output, the MIDI ports and OSC targets room.yaml
names, the journal (integrity, WAL, mode), the free disk, the clock, the daemon. Exit 0
when all is well, 1 when anything failed; what nothing here can tell (`??`) is no failure.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_UNWELL = 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check everything the room needs, and say how to fix it")
    p.add_argument(
        "--midi-api", help="MIDI system: LINUX_ALSA, UNIX_JACK, ... (default: first found)"
    )
    p.set_defaults(func=doctor, error_prefix="setandsetting doctor: ")


def doctor(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from setandsetting.backends.midi import api_ids
    from setandsetting.cli.common import CommandError
    from setandsetting.cli.formats import folder_problems
    from setandsetting.core.doctor import all_well, judge
    from setandsetting.room.checkup import gather

    root = Path(args.room).resolve()
    print(f"the room in {root}", flush=True)
    try:
        api_ids(args.midi_api)
    except ValueError as err:
        raise CommandError(str(err)) from None
    checks = judge(replace(gather(root, args.midi_api), problems=len(folder_problems(root))))
    for check in checks:
        print(check.line())
    failed = sum(check.status == "fail" for check in checks)
    if all_well(checks):
        print("all well")
        return 0
    print(f"{failed} problem{'' if failed == 1 else 's'}")
    return EXIT_UNWELL
