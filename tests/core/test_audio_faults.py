"""Many detectors, one word per outage: audio_fault once, audio_restored after the last."""

import pytest

from setandsetting.core.audio_faults import AudioFaults, fault, restore


def test_one_fault_one_restore_whatever_the_order_the_detectors_speak_in():
    faults, events = fault(AudioFaults(), "music", "server", "the server is gone", 1.0)
    assert [(e.type, e.t, e.data) for e in events] == [
        ("audio_fault", 1.0, {"output": "music", "why": "the server is gone"})
    ]
    faults, events = fault(faults, "music", "libvlc", "audio output failed", 1.2)
    assert events == []  # the same outage, seen by a second detector
    faults, events = fault(faults, "music", "server", "still gone", 2.0)
    assert events == []  # the same complaint again
    assert faults.why() == {"music": "still gone"}  # the oldest cause, in its latest words
    faults, events = restore(faults, "music", "server", "the server answers", 3.0)
    assert events == []  # libVLC has not come back yet
    assert faults.why() == {"music": "audio output failed"}
    faults, events = restore(faults, "music", "libvlc", "the output plays again", 4.5)
    assert [(e.type, e.t, e.data) for e in events] == [
        ("audio_restored", 4.5, {"output": "music", "why": "the output plays again"})
    ]
    assert faults == AudioFaults()


def test_outputs_are_apart_and_listed_in_their_order():
    faults, _ = fault(AudioFaults(), "staff_chimes", "sdl", "cannot open 'USB'", 0.0)
    faults, events = fault(faults, "music", "server", "gone", 1.0)
    assert [e.data["output"] for e in events] == ["music"]
    assert list(faults.why()) == ["music", "staff_chimes"]
    faults, events = restore(faults, "patient_chimes", "sdl", "opens", 2.0)
    assert events == []  # nothing to restore there
    assert list(faults.why()) == ["music", "staff_chimes"]


def test_an_unknown_output_is_refused():
    with pytest.raises(ValueError, match="unknown audio output 'lights': one of music, "):
        fault(AudioFaults(), "lights", "x", "y", 0.0)
