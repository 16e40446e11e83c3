"""The facts `setandsetting doctor` judges (core/doctor.py), gathered from this machine now.

Each fact is asked the way the session would meet it: a tone through each output by the
very code of `test-sound` (backends/soundcheck.py, in a child process, measured on the
sink's monitor), the MIDI ports through rtmidi as the cue backend opens them, each OSC
target with an empty datagram (a closed port on a host that answers says so at once),
the journal by SQLite's integrity_check, never written. No tone is played while a daemon runs
the room: it could be in a session. Whatever cannot be asked is a fact too, never a crash.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import subprocess
from pathlib import Path

from setandsetting.core.doctor import (
    ClockFacts,
    DaemonFacts,
    DiskFacts,
    JournalFacts,
    OscFact,
    OutputFact,
    PortFact,
    RoomFacts,
    SoundFacts,
)
from setandsetting.core.problems import FormatError
from setandsetting.core.room import Room, parse_target
from setandsetting.room.folder import RoomFolder
from setandsetting.room.lock import running_daemon

OSC_WAIT_S = 0.3  # a refusal from a host that answers comes back at once
CLOCK_TIMEOUT_S = 3.0


def gather(root: Path, midi_api: str | None = None) -> RoomFacts:
    """Every fact of the room folder at `root`; MIDI through `midi_api` (else the first
    MIDI system that answers, as the session's cues)."""
    folder = RoomFolder(root)
    holder = running_daemon(folder.root)
    daemon = (
        DaemonFacts(None) if holder is None else DaemonFacts(holder.pid, holder.command, holder.url)
    )
    room: Room | None = None
    problem = None
    try:
        room = folder.room()
    except FormatError as err:
        problem = str(err).splitlines()[0]
    return RoomFacts(
        room_problem=problem,
        profiles=len(folder.profiles()),
        patients=len(folder.patients()),
        sound=None if room is None else sound_facts(room, daemon),
        ports=() if room is None else midi_facts(room, midi_api),
        osc=() if room is None else tuple(osc_fact(n, t) for n, t in room.osc.targets.items()),
        journal=journal_facts(folder.journal_path),
        disk=DiskFacts(shutil.disk_usage(folder.root).free),
        clock=clock_facts(),
        daemon=daemon,
    )


def sound_facts(room: Room, daemon: DaemonFacts) -> SoundFacts:
    from setandsetting.backends.pulse import pulse_expected, pulse_installed, read_server
    from setandsetting.backends.soundcheck import check, configured

    expected = pulse_expected()
    answers = expected and read_server() is not None
    if daemon.pid is not None:
        why = f"PID {daemon.pid} runs this room (its Start page's Test sound plays them)"
        return SoundFacts(expected, answers, (), why)
    if expected and not answers:
        return SoundFacts(expected, answers, (), "the sound server is not answering")
    findings = check(configured(room.audio))
    outputs = tuple(OutputFact(f.output, f.device, f.verdict, f.why) for f in findings)
    return SoundFacts(expected, answers, outputs, installed=pulse_installed())


def midi_facts(room: Room, api: str | None = None) -> tuple[PortFact, ...]:
    wanted = [("output", n, p) for n, p in room.midi.outputs.items()]
    wanted += [("input", n, spec.port) for n, spec in room.midi.inputs.items()]
    if not wanted:
        return ()
    import rtmidi

    from setandsetting.backends.base import CueError
    from setandsetting.backends.midi import list_ports, match_port

    offered: dict[str, tuple[str, ...]] = {}
    error = None
    try:
        offered["output"] = tuple(list_ports(rtmidi.MidiOut, api))
        offered["input"] = tuple(list_ports(rtmidi.MidiIn, api))
    except (CueError, rtmidi.RtMidiError) as err:
        error = str(err)
    facts = []
    for kind, name, port in wanted:
        ports = offered.get(kind, ())
        found = match_port(ports, port)
        facts.append(PortFact(kind, name, port, found, ports, error))  # type: ignore[arg-type]
    return tuple(facts)


def osc_fact(name: str, target: str) -> OscFact:
    host, port = parse_target(name, target)
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    except (OSError, UnicodeError) as err:
        return OscFact(name, target, "unresolved", f" ({err})")
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(OSC_WAIT_S)
        try:
            sock.connect(address)
            sock.send(b"")  # an empty datagram: no OSC message, nothing for a listener to do
            sock.recv(1)
        except ConnectionRefusedError:
            return OscFact(name, target, "refused")
        except TimeoutError:
            pass
        except OSError as err:  # no route, network down
            return OscFact(name, target, "unresolved", f" ({err.strerror or err})")
    loopback = ipaddress.ip_address(address[0].split("%")[0]).is_loopback
    return OscFact(name, target, "listening" if loopback else "unconfirmed")


def journal_facts(path: Path) -> JournalFacts:
    from setandsetting.journal.backup import integrity
    from setandsetting.journal.store import JournalError

    if not path.exists():
        return JournalFacts(exists=False)
    try:
        problems = integrity(path)
    except JournalError as err:
        problems = (str(err),)
    modes = []
    sizes = {}
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            st = (path.parent / (path.name + suffix)).stat()
            modes.append((path.name + suffix, st.st_mode & 0o777))
            sizes[suffix] = st.st_size
    return JournalFacts(True, problems, sizes.get("", 0), sizes.get("-wal", 0), tuple(modes))


def clock_facts() -> ClockFacts:
    """timedatectl's NTPSynchronized, else chrony's leap status, else nothing can say."""
    said = _ask(["timedatectl", "show", "--property=NTPSynchronized", "--value"])
    if said in ("yes", "no"):
        return ClockFacts(said == "yes", "timedatectl")
    said = _ask(["chronyc", "-n", "tracking"])
    if said is not None:
        for line in said.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Leap status":
                return ClockFacts(value.strip() != "Not synchronised", "chrony")
    return ClockFacts(None)


def _ask(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=CLOCK_TIMEOUT_S,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
