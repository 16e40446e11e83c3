"""`setandsetting doctor`'s judgement: what the room needs, each with what is wrong and the fix.

Pure: the shell (room/checkup.py) gathers the facts — the sound server and a tone through
each output, the MIDI ports and OSC targets room.yaml names, the journal, the disk, the
clock, the daemon — and this turns them into one line each. A check is *ok*, *FAIL* (with
the fix), *unknown* (nothing here can say: not a failure) or *skipped* (not asked, and why).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "fail", "unknown", "skipped"]
MARKS: dict[Status, str] = {"ok": "ok  ", "fail": "FAIL", "unknown": "??  ", "skipped": "--  "}
JOURNAL_FILE = "sessions.db"
WAL_LARGE = 64 * 1024 * 1024  # a WAL this big is not being checkpointed
DISK_LOW = 500 * 1024 * 1024  # below this the journal, the loudness cache and the logs run short
# Journal written per session-hour: a 7 3/4-hour rehearsal of psilocybin-long journals 280 KB;
# a real session's controls, notes and device reports can take a few times that.
JOURNAL_BYTES_PER_HOUR = 256 * 1024
OUTPUT_KEYS = {"music": "music_output", "patient_chimes": "patient_chimes"}


@dataclass(frozen=True, slots=True)
class Check:
    subject: str
    status: Status
    says: str
    fix: str | None = None

    def line(self) -> str:
        fix = f" — fix: {self.fix}" if self.fix else ""
        return f"{MARKS[self.status]}  {self.subject}: {self.says}{fix}"


@dataclass(frozen=True, slots=True)
class OutputFact:
    """What a tone through one output did (backends/soundcheck.py's Finding)."""

    output: str
    device: str
    verdict: str  # heard | silent | missing | played, not measured
    why: str


@dataclass(frozen=True, slots=True)
class SoundFacts:
    pulse_expected: bool  # PulseAudio is (meant to be) this machine's sound server
    answers: bool  # and it answers
    outputs: tuple[OutputFact, ...]  # the tones played; empty when not played
    not_played: str | None = None  # why the tones were not played
    installed: bool = False  # the `pulseaudio` program is here, answering or not


@dataclass(frozen=True, slots=True)
class PortFact:
    """A MIDI port room.yaml names, and what this machine offers."""

    kind: Literal["output", "input"]
    name: str  # room.yaml's name for it (`lights`)
    wanted: str  # the port name it starts with
    found: str | None
    ports: tuple[str, ...]  # every port of that kind here
    error: str | None = None  # no MIDI system at all


@dataclass(frozen=True, slots=True)
class OscFact:
    name: str
    target: str
    answer: Literal["listening", "refused", "unresolved", "unconfirmed"]
    detail: str = ""


@dataclass(frozen=True, slots=True)
class JournalFacts:
    exists: bool
    problems: tuple[str, ...] = ()  # integrity_check's findings
    size: int = 0
    wal_size: int = 0
    modes: tuple[tuple[str, int], ...] = ()  # (file name, permission bits) of db, -wal, -shm


@dataclass(frozen=True, slots=True)
class DiskFacts:
    free: int  # bytes free where the room folder is


@dataclass(frozen=True, slots=True)
class ClockFacts:
    synchronised: bool | None  # None: nothing here could say
    source: str | None = None  # timedatectl | chrony


@dataclass(frozen=True, slots=True)
class DaemonFacts:
    pid: int | None
    command: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class RoomFacts:
    room_problem: str | None  # room.yaml cannot be read: the devices were not checked
    profiles: int  # session profiles in profiles/
    patients: int  # patient folders in playlists/
    sound: SoundFacts | None
    ports: tuple[PortFact, ...]
    osc: tuple[OscFact, ...]
    journal: JournalFacts
    disk: DiskFacts
    clock: ClockFacts
    daemon: DaemonFacts
    problems: int = 0  # what `setandsetting validate` finds in the folder's files


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


START_PULSE = (
    "start it (`pulseaudio --start`, or `systemctl --user start pulseaudio`); for the "
    "service, `loginctl enable-linger` the room's user"
)


def judge_sound(sound: SoundFacts) -> list[Check]:
    checks = []
    down = not sound.pulse_expected and sound.installed  # installed, never started
    if down:
        says = "PulseAudio is installed but not running: nothing reaches a loudspeaker"
        checks.append(Check("sound server", "fail", says, START_PULSE))
    elif not sound.pulse_expected:
        checks.append(
            Check(
                "sound server",
                "unknown",
                "no PulseAudio here: the tones can be played, not measured",
            )
        )
    elif not sound.answers:
        checks.append(Check("sound server", "fail", "PulseAudio is not answering", START_PULSE))
    else:
        checks.append(Check("sound server", "ok", "PulseAudio answers"))
    if sound.not_played is not None:
        checks.append(Check("outputs", "skipped", f"no tone played: {sound.not_played}"))
    for found in sound.outputs:
        key = f"audio.{OUTPUT_KEYS.get(found.output, found.output)}"
        says = f"{found.verdict} — {found.why}"
        if found.verdict == "heard":
            checks.append(Check(found.output, "ok", says))
        elif found.verdict == "missing" and found.device == "default":
            fix = (
                "start the sound server first (the line above)"
                if down
                else "connect a sound card or loudspeaker (`aplay -l` lists those this "
                "machine sees) and start the sound server"
            )
            checks.append(Check(found.output, "fail", says, fix))
        elif found.verdict == "missing":
            fix = (
                f"room.yaml's {key} ({found.device!r}) must name a device this machine has "
                "(`setandsetting test-sound` shows what plays), or `default`"
            )
            checks.append(Check(found.output, "fail", says, fix))
        elif found.verdict == "silent":
            fix = (
                "switch on and connect the loudspeaker, unmute it and raise its volume "
                f"(`pavucontrol`, `pactl set-sink-mute @DEFAULT_SINK@ 0`), or point {key} at it"
            )
            checks.append(Check(found.output, "fail", says, fix))
        else:
            checks.append(Check(found.output, "unknown", says))
    return checks


def judge_port(port: PortFact) -> Check:
    subject = f"MIDI {port.kind} {port.name}"
    if port.found is not None:
        return Check(subject, "ok", f"{port.wanted!r} is {port.found!r}")
    if port.error is not None:
        fix = "start JACK (`jackd -d alsa`) or load the ALSA sequencer (`modprobe snd-seq`)"
        return Check(subject, "fail", port.error, fix)
    offered = ", ".join(repr(p) for p in port.ports) or "none"
    key = f"midi.{port.kind}s.{port.name}" + (".port" if port.kind == "input" else "")
    fix = (
        f"connect the device or start the program that offers {port.wanted!r}, or correct "
        f"room.yaml's {key} (`setandsetting midi ports` lists the ports)"
    )
    return Check(subject, "fail", f"no port named {port.wanted!r} (ports here: {offered})", fix)


def judge_osc(osc: OscFact) -> Check:
    subject = f"OSC target {osc.name}"
    key = f"osc.targets.{osc.name}"
    if osc.answer == "listening":
        return Check(subject, "ok", f"{osc.target}: a program listens there")
    if osc.answer == "unconfirmed":
        why = "resolves, but UDP cannot confirm a listener from here"
        return Check(subject, "unknown", f"{osc.target}: {why}{osc.detail}")
    if osc.answer == "unresolved":
        fix = f"correct the host in room.yaml's {key}"
        return Check(subject, "fail", f"{osc.target}: the host does not resolve{osc.detail}", fix)
    fix = (
        f"start the lighting program and enable its OSC input on that port, or correct "
        f"room.yaml's {key}"
    )
    return Check(subject, "fail", f"{osc.target}: nothing listens there", fix)


def judge_journal(journal: JournalFacts) -> list[Check]:
    if not journal.exists:
        return [Check("journal", "ok", f"no {JOURNAL_FILE} yet (the first session makes it)")]
    if journal.problems:
        fix = (
            f"stop the daemon, move {JOURNAL_FILE} (and its -wal, -shm) aside, and copy "
            "the last good backup in its place (`setandsetting log verify BACKUP` first)"
        )
        return [Check("journal", "fail", f"corrupt: {journal.problems[0]}", fix)]
    checks = []
    says = f"sound (integrity_check ok), {_size(journal.size)}, WAL {_size(journal.wal_size)}"
    if journal.wal_size > WAL_LARGE:
        fix = (
            "a reader holds the journal open for ever (a review tool, a copy program): "
            "close it, and the next write checkpoints the WAL"
        )
        checks.append(Check("journal", "fail", says + ": the WAL is not being checkpointed", fix))
    else:
        checks.append(Check("journal", "ok", says))
    open_to_others = [(name, mode) for name, mode in journal.modes if mode & 0o077]
    if open_to_others:
        shown = ", ".join(f"{name} {mode:04o}" for name, mode in open_to_others)
        names = " ".join(name for name, _ in open_to_others)
        fix = f"`chmod 600 {names}` (patient data: the room's user alone)"
        checks.append(Check("journal access", "fail", f"readable by others: {shown}", fix))
    else:
        checks.append(Check("journal access", "ok", "mode 0600: the room's user alone"))
    return checks


def judge_disk(disk: DiskFacts) -> Check:
    hours = disk.free / JOURNAL_BYTES_PER_HOUR
    says = f"{_size(disk.free)} free, about {hours:,.0f} session-hours of journal"
    if disk.free < DISK_LOW:
        fix = f"free at least {_size(DISK_LOW)}: a full disk stops the journal"
        return Check("disk", "fail", says, fix)
    return Check("disk", "ok", says)


def judge_clock(clock: ClockFacts) -> Check:
    if clock.synchronised is None:
        return Check(
            "clock", "unknown", "neither timedatectl nor chrony can say if it is synchronised"
        )
    if clock.synchronised:
        return Check("clock", "ok", f"synchronised ({clock.source})")
    fix = "turn on time synchronisation (`timedatectl set-ntp true`, or chrony's `makestep`)"
    return Check(
        "clock", "fail", f"not synchronised ({clock.source}): the journal's wall times drift", fix
    )


def judge_daemon(daemon: DaemonFacts) -> Check:
    if daemon.pid is None:
        return Check("daemon", "ok", "none runs this room now (`setandsetting serve` starts one)")
    where = f"at {daemon.url}" if daemon.url else f"(`setandsetting {daemon.command}`)"
    return Check("daemon", "ok", f"PID {daemon.pid} runs this room {where}")


def judge_folder(profiles: int, patients: int, problems: int = 0) -> Check:
    if profiles == 0:
        fix = "`setandsetting init --force` adds the example profiles, playlists and patient"
        return Check("room folder", "fail", "no session profiles in profiles/", fix)
    said = f"{profiles} session profile{'' if profiles == 1 else 's'}, "
    said += f"{patients} patient{'' if patients == 1 else 's'}"
    if problems:  # a fresh room's tracks are missing until the demo music is made
        fix = (
            "`setandsetting validate .` lists them (missing demo tracks: `setandsetting demo` "
            "makes the demo music)"
        )
        return Check(
            "room folder", "fail", f"{said}, {problems} problem{'' if problems == 1 else 's'}", fix
        )
    return Check("room folder", "ok", said)


def judge(facts: RoomFacts) -> list[Check]:
    """Every check of the room, in the report's order."""
    checks: list[Check] = []
    if facts.room_problem is not None:
        fix = "correct room.yaml (`setandsetting validate room.yaml`)"
        checks.append(Check("room.yaml", "fail", facts.room_problem, fix))
    checks.append(judge_folder(facts.profiles, facts.patients, facts.problems))
    if facts.sound is not None:
        checks += judge_sound(facts.sound)
    checks += [judge_port(port) for port in facts.ports]
    checks += [judge_osc(osc) for osc in facts.osc]
    checks += judge_journal(facts.journal)
    checks += [judge_disk(facts.disk), judge_clock(facts.clock), judge_daemon(facts.daemon)]
    return checks


def all_well(checks: Iterable[Check]) -> bool:
    return not any(check.status == "fail" for check in checks)
