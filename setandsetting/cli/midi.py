"""`setandsetting midi ports`: what MIDI devices this machine sees, named as room.yaml wants."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator

import rtmidi

from setandsetting.backends.base import CueError
from setandsetting.backends.midi import api_ids, open_client
from setandsetting.cli.common import CommandError


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """ALSA and JACK print their own connection failures to fd 2; we say it once, clearly."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _ports(api: str | None) -> tuple[str, list[str], list[str]]:
    """(system name, input ports, output ports) of the first MIDI system that answers."""
    with _quiet_stderr():
        out = open_client(rtmidi.MidiOut, api, "setandsetting-list")
        try:
            system = rtmidi.get_api_display_name(out.get_current_api())
            outputs = list(out.get_ports())
            inp = rtmidi.MidiIn(out.get_current_api(), name="setandsetting-list")
            try:
                inputs = list(inp.get_ports())
            finally:
                inp.delete()
        finally:
            out.delete()
    return system, inputs, outputs


def _run_ports(args: argparse.Namespace) -> int:
    try:
        api_ids(args.api)  # ValueError: not a MIDI system's name
        system, inputs, outputs = _ports(args.api)  # CueError: no MIDI system answers
    except (ValueError, CueError) as err:
        raise CommandError(str(err)) from None
    print(f"MIDI system: {system}")
    for title, names in (
        ("inputs (for midi.inputs: foot switches, knobs)", inputs),
        ("outputs (for midi.outputs: lights, diffusers)", outputs),
    ):
        print(f"{title}:")
        print("\n".join(f"  {name}" for name in names) if names else "  (none)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    midi = subparsers.add_parser("midi", help="MIDI devices for cues and hands-free control")
    sub = midi.add_subparsers(dest="midi_command", metavar="SUBCOMMAND", required=True)
    ports = sub.add_parser("ports", help="list MIDI input and output ports found")
    ports.add_argument(
        "--api", default=None, help="MIDI system: LINUX_ALSA, UNIX_JACK, ... (default: first found)"
    )
    ports.set_defaults(func=_run_ports, error_prefix="setandsetting midi ports: ")
