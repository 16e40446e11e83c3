"""core/doctor.py: each fact judged into one line, a failure always with its fix."""

from __future__ import annotations

from dataclasses import replace

from setandsetting.core.doctor import (
    Check,
    ClockFacts,
    DaemonFacts,
    DiskFacts,
    JournalFacts,
    OscFact,
    OutputFact,
    PortFact,
    RoomFacts,
    SoundFacts,
    all_well,
    judge,
    judge_clock,
    judge_daemon,
    judge_disk,
    judge_journal,
    judge_osc,
    judge_port,
    judge_sound,
)

GB = 1024**3
HEARD = OutputFact("music", "default", "heard", "-27.1 dBFS on 'Speakers'")
GOOD = RoomFacts(
    room_problem=None,
    profiles=6,
    patients=1,
    sound=SoundFacts(True, True, (HEARD,)),
    ports=(PortFact("output", "lights", "QLC+", "QLC+:in", ("QLC+:in",)),),
    osc=(OscFact("lights", "127.0.0.1:7700", "listening"),),
    journal=JournalFacts(True, (), 48 * 1024, 0, (("sessions.db", 0o600),)),
    disk=DiskFacts(10 * GB),
    clock=ClockFacts(None),
    daemon=DaemonFacts(None),
)


def lines(checks: list[Check]) -> list[str]:
    return [check.line() for check in checks]


def test_a_good_room_is_all_well_and_what_cannot_be_known_is_no_failure() -> None:
    checks = judge(GOOD)
    assert lines(checks) == [
        "ok    room folder: 6 session profiles, 1 patient",
        "ok    sound server: PulseAudio answers",
        "ok    music: heard — -27.1 dBFS on 'Speakers'",
        "ok    MIDI output lights: 'QLC+' is 'QLC+:in'",
        "ok    OSC target lights: 127.0.0.1:7700: a program listens there",
        "ok    journal: sound (integrity_check ok), 48.0 KB, WAL 0 B",
        "ok    journal access: mode 0600: the room's user alone",
        "ok    disk: 10.0 GB free, about 40,960 session-hours of journal",
        "??    clock: neither timedatectl nor chrony can say if it is synchronised",
        "ok    daemon: none runs this room now (`setandsetting serve` starts one)",
    ]
    assert all_well(checks)


def test_the_sound_server_and_its_outputs() -> None:
    gone = judge_sound(SoundFacts(True, False, (), "the sound server is not answering"))
    assert [c.status for c in gone] == ["fail", "skipped"]
    assert gone[0].fix is not None and "pulseaudio --start" in gone[0].fix
    assert gone[1].line() == "--    outputs: no tone played: the sound server is not answering"
    silent = OutputFact("patient_chimes", "Null Output", "silent", "a null sink: no loudspeaker")
    missing = OutputFact("music", "USB Speaker", "missing", "no such device")
    unmeasured = OutputFact("music", "default", "played, not measured", "no PulseAudio")
    checks = judge_sound(SoundFacts(False, False, (silent, missing, unmeasured)))
    assert lines(checks) == [
        "??    sound server: no PulseAudio here: the tones can be played, not measured",
        "FAIL  patient_chimes: silent — a null sink: no loudspeaker — fix: switch on and "
        "connect the loudspeaker, unmute it and raise its volume (`pavucontrol`, `pactl "
        "set-sink-mute @DEFAULT_SINK@ 0`), or point audio.patient_chimes at it",
        "FAIL  music: missing — no such device — fix: room.yaml's audio.music_output "
        "('USB Speaker') must name a device this machine has (`setandsetting test-sound` "
        "shows what plays), or `default`",
        "??    music: played, not measured — no PulseAudio",
    ]
    assert not all_well(checks)
    default_missing = OutputFact("music", "default", "missing", "no device")
    (check,) = [c for c in judge_sound(SoundFacts(True, True, (default_missing,))) if c.fix]
    assert check.fix == (
        "connect a sound card or loudspeaker (`aplay -l` lists those this machine sees) and "
        "start the sound server"
    )


def test_pulseaudio_installed_but_never_started_is_a_failure_with_the_fix() -> None:
    missing = OutputFact("music", "default", "missing", "PulseAudio server connection failure")
    checks = judge_sound(SoundFacts(False, False, (missing,), installed=True))
    assert lines(checks) == [
        "FAIL  sound server: PulseAudio is installed but not running: nothing reaches a "
        "loudspeaker — fix: start it (`pulseaudio --start`, or `systemctl --user start "
        "pulseaudio`); for the service, `loginctl enable-linger` the room's user",
        "FAIL  music: missing — PulseAudio server connection failure — fix: start the sound "
        "server first (the line above)",
    ]


def test_midi_ports() -> None:
    missing = judge_port(PortFact("output", "lights", "QLC+", None, ("Midi Through:0",)))
    assert missing.line() == (
        "FAIL  MIDI output lights: no port named 'QLC+' (ports here: 'Midi Through:0') — fix: "
        "connect the device or start the program that offers 'QLC+', or correct room.yaml's "
        "midi.outputs.lights (`setandsetting midi ports` lists the ports)"
    )
    no_system = judge_port(PortFact("input", "pedal", "FS-1", None, (), "no MIDI system available"))
    assert no_system.line() == (
        "FAIL  MIDI input pedal: no MIDI system available — fix: start JACK (`jackd -d alsa`) "
        "or load the ALSA sequencer (`modprobe snd-seq`)"
    )


def test_osc_targets() -> None:
    assert judge_osc(OscFact("lights", "127.0.0.1:7700", "refused")).line() == (
        "FAIL  OSC target lights: 127.0.0.1:7700: nothing listens there — fix: start the "
        "lighting program and enable its OSC input on that port, or correct room.yaml's "
        "osc.targets.lights"
    )
    far = judge_osc(OscFact("hall", "10.0.0.9:7700", "unconfirmed"))
    assert (far.status, far.fix) == ("unknown", None)
    bad = judge_osc(OscFact("hall", "nowhere.invalid:1", "unresolved", " (Name unknown)"))
    assert bad.line() == (
        "FAIL  OSC target hall: nowhere.invalid:1: the host does not resolve (Name unknown) — "
        "fix: correct the host in room.yaml's osc.targets.hall"
    )


def test_the_journal() -> None:
    assert lines(judge_journal(JournalFacts(False))) == [
        "ok    journal: no sessions.db yet (the first session makes it)"
    ]
    (corrupt,) = judge_journal(JournalFacts(True, ("database disk image is malformed",)))
    assert corrupt.status == "fail" and corrupt.says == "corrupt: database disk image is malformed"
    assert corrupt.fix is not None and "log verify BACKUP" in corrupt.fix
    modes = (("sessions.db", 0o644), ("sessions.db-wal", 0o600))
    big_wal, access = judge_journal(JournalFacts(True, (), 2 * 1024**2, 100 * 1024**2, modes))
    assert big_wal.line().startswith(
        "FAIL  journal: sound (integrity_check ok), 2.0 MB, WAL 100.0 MB: the WAL is not being "
        "checkpointed — fix: a reader holds the journal open"
    )
    assert access.line() == (
        "FAIL  journal access: readable by others: sessions.db 0644 — fix: `chmod 600 "
        "sessions.db` (patient data: the room's user alone)"
    )


def test_disk_clock_and_daemon() -> None:
    low = judge_disk(DiskFacts(100 * 1024**2))
    assert low.line() == (
        "FAIL  disk: 100.0 MB free, about 400 session-hours of journal — fix: free at least "
        "500.0 MB: a full disk stops the journal"
    )
    assert judge_clock(ClockFacts(True, "chrony")).line() == "ok    clock: synchronised (chrony)"
    off = judge_clock(ClockFacts(False, "timedatectl"))
    assert off.line() == (
        "FAIL  clock: not synchronised (timedatectl): the journal's wall times drift — fix: "
        "turn on time synchronisation (`timedatectl set-ntp true`, or chrony's `makestep`)"
    )
    assert judge_daemon(DaemonFacts(4242, "serve", "http://127.0.0.1:8700")).line() == (
        "ok    daemon: PID 4242 runs this room at http://127.0.0.1:8700"
    )
    assert judge_daemon(DaemonFacts(4243, "run")).line() == (
        "ok    daemon: PID 4243 runs this room (`setandsetting run`)"
    )


def test_a_broken_room_yaml_is_named_and_the_devices_left_unasked() -> None:
    broken = replace(
        GOOD,
        room_problem="room.yaml:3:1: server.port: must be at most 65535",
        sound=None,
        ports=(),
        osc=(),
    )
    checks = judge(broken)
    assert lines(checks)[0] == (
        "FAIL  room.yaml: room.yaml:3:1: server.port: must be at most 65535 — fix: correct "
        "room.yaml (`setandsetting validate room.yaml`)"
    )
    assert [c.subject for c in checks][1:] == [
        "room folder",
        "journal",
        "journal access",
        "disk",
        "clock",
        "daemon",
    ]


def test_a_folder_without_profiles_is_no_room_yet() -> None:
    check = judge(replace(GOOD, profiles=0, patients=0))[0]
    assert check.line() == (
        "FAIL  room folder: no session profiles in profiles/ — fix: `setandsetting init "
        "--force` adds the example profiles, playlists and patient"
    )
    assert judge(replace(GOOD, profiles=1, patients=2))[0].says == "1 session profile, 2 patients"


def test_a_folder_whose_files_validate_finds_fault_with_fails_with_their_count() -> None:
    assert judge(replace(GOOD, problems=23))[0].line() == (
        "FAIL  room folder: 6 session profiles, 1 patient, 23 problems — fix: `setandsetting "
        "validate .` lists them (missing demo tracks: `setandsetting demo` makes the demo music)"
    )
