"""The preflight's fit is the compiler's: the Start page never says "fits" where `plan` warns."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from setandsetting.backends.pulse import GONE
from setandsetting.core.problems import FormatError
from setandsetting.room.folder import RoomFolder
from setandsetting.room.preflight import preflight
from tests.support.pulse import PulseCapture, pulse, pulse_never_started

REPO = Path(__file__).resolve().parents[2]
__all__ = ["pulse", "pulse_never_started"]  # the fixture is used by name


def test_each_slot_fit_is_what_plan_warns(folder: RoomFolder) -> None:
    found = preflight(folder, "P-0042", "short")
    assert [(s["phase"], s["playable_s"], s["fit"]) for s in found["slots"]] == [
        ("settle", 14.0, "shorter"),  # two 8 s tracks crossfading for 2 s
        ("deep", 14.0, "shorter"),
    ]
    warned = {w.split(":")[0].removeprefix("phase ") for w in found["warnings"] if "lasts" in w}
    assert warned == {"settle", "deep"}


@pytest.mark.parametrize("profile", sorted(p.stem for p in (REPO / "profiles").glob("*.yaml")))
def test_the_repository_room_agrees_with_its_plan(profile: str) -> None:
    found = preflight(RoomFolder(REPO), "P-0042", profile)
    for slot in found["slots"]:
        about = f"phase {slot['phase']}: playlist lasts"
        warns = [w for w in found["warnings"] if w.startswith(about)]
        if slot["fit"] in ("fits", "silent"):
            assert warns == [], (slot, warns)
        else:
            assert len(warns) == 1 and slot["fit"] in warns[0], (slot, warns)


def test_a_billion_hour_phase_is_refused_within_a_second(folder: RoomFolder) -> None:
    huge = folder.profiles_dir / "huge.yaml"
    shutil.copy(REPO / "tests" / "fixtures" / "broken" / "huge-phase.yaml", huge)
    started = time.perf_counter()
    with pytest.raises(FormatError) as refused:
        preflight(folder, "P-0042", "huge")
    elapsed = time.perf_counter() - started
    assert [str(p) for p in refused.value.problems] == [
        f"{huge}:6:15: phases[1].duration: 1000000000h is too long: a phase lasts at most 24h "
        "(or write `open`)"
    ]
    assert elapsed < 1.0


@pytest.mark.audio
def test_a_found_output_into_a_null_sink_or_a_stopped_server_is_said_no_sound(
    folder: RoomFolder, pulse: PulseCapture
) -> None:
    with (folder.root / "room.yaml").open("a") as handle:
        handle.write("audio:\n  staff_chimes: Null Output\n")
    audio = preflight(folder, "P-0042", "short")["devices"]["audio"]
    # The music's outputs are the server's sinks as a person reads them.
    assert sorted(audio["music_devices"]) == ["Null Output", f"Unix FIFO sink {pulse.fifo}"]
    outputs = audio["outputs"]
    said = {key: (o["found"], o["silent"]) for key, o in outputs.items()}
    assert said == {
        "music_output": (True, None),  # the pipe sink: heard
        "patient_chimes": (True, None),
        "staff_chimes": (
            True,
            "PulseAudio plays it into 'Null Output', a null sink: no loudspeaker",
        ),
    }
    pulse.stop()
    outputs = preflight(folder, "P-0042", "short")["devices"]["audio"]["outputs"]
    assert {o["silent"] for o in outputs.values()} == {GONE}


@pytest.mark.usefixtures("pulse_never_started")
def test_pulseaudio_installed_but_never_started_is_said_no_sound_for_every_output(
    folder: RoomFolder,
) -> None:
    audio = preflight(folder, "P-0042", "short")["devices"]["audio"]
    assert {k: o["silent"] for k, o in audio["outputs"].items()} == {
        "music_output": GONE,
        "patient_chimes": GONE,
    }
    assert audio["music_devices"] == []  # not libVLC's ALSA plugin names
