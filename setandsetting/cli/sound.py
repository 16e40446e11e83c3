"""`setandsetting test-sound [--output NAME]`: a short tone through each configured output,
and what was heard there (measured on the sound server's monitor where it can be).

One line per output; exit 0 when every output was heard, 2 when any was silent or
missing, 1 when some could only be played, not measured (nothing proves them either way).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from setandsetting.cli.common import CommandError
from setandsetting.core.audio_faults import OUTPUTS

EXIT_NOT_MEASURED = 1
EXIT_SILENT = 2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "test-sound",
        help="play a short tone through each output and say what was heard (not during a session)",
    )
    p.add_argument("--output", choices=OUTPUTS, help="only this output")
    p.set_defaults(func=test_sound)


def test_sound(args: argparse.Namespace) -> int:
    from setandsetting.backends.soundcheck import check_here, configured
    from setandsetting.core.loader import load_room

    room = load_room(Path(args.room).resolve())
    try:
        outputs = configured(room.audio, args.output)
    except ValueError as err:
        raise CommandError(str(err)) from None
    findings = check_here(outputs)
    for finding in findings:
        print(finding.line(), flush=True)
    verdicts = {f.verdict for f in findings}
    if verdicts & {"silent", "missing"}:
        return EXIT_SILENT
    return 0 if verdicts == {"heard"} else EXIT_NOT_MEASURED
