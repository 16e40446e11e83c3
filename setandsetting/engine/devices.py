"""Building the room's real devices from room.yaml, each failing soft.

A missing sound card, MIDI system or OSC target must never stop a session: the device is
replaced by a silent stand-in and the problem is reported (and so journaled).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from setandsetting.backends.base import BackendReport, Report
from setandsetting.core.room import Room
from setandsetting.engine.conductor import Devices

if TYPE_CHECKING:
    from setandsetting.backends.cue_router import CueRouter
    from setandsetting.backends.midi_input import MidiControlInput


def real_devices(
    room: Room,
    report: Report,
    sounds_dir: Path | None,
    midi_api: str | None = None,
    aout: str | None = None,
) -> Devices:
    """libVLC music, pygame chimes, MIDI/OSC cues as room.yaml names them, and the sound
    server's watch over the outputs."""
    from setandsetting.backends.pulse import SoundServerWatch
    from setandsetting.backends.pygame_chimes import PygameChimes
    from setandsetting.backends.vlc_music import VlcMusic

    music = VlcMusic(report, output=room.audio.music_output, aout=aout, voices=3)
    staff = room.audio.staff_chimes
    chimes = PygameChimes(
        report, patient_device=room.audio.patient_chimes, staff_device=staff, sounds_dir=sounds_dir
    )
    watch = SoundServerWatch(report, room.audio.outputs())
    return Devices(music, chimes, cue_router(room, report, midi_api), watch)


def cue_router(room: Room, report: Report, midi_api: str | None = None) -> CueRouter | None:
    """MIDI and OSC outputs behind one CueRouter; None when the room names neither."""
    from setandsetting.backends.cue_router import CueRouter
    from setandsetting.backends.midi import MidiCues
    from setandsetting.backends.osc import OscCues

    midi = osc = None
    if room.midi.outputs:
        try:
            midi = MidiCues(room.midi.outputs, report, api=midi_api)
        except Exception as err:  # a broken MIDI system must not stop the session
            report(BackendReport("cues", "device_lost", message=f"MIDI unavailable: {err}"))
    if room.osc.targets:
        try:
            osc = OscCues(room.osc.targets)
        except Exception as err:
            report(BackendReport("cues", "device_lost", message=f"OSC unavailable: {err}"))
    if midi is None and osc is None:
        return None
    return CueRouter(midi, osc)


def midi_control(
    room: Room, report: Report, midi_api: str | None = None
) -> MidiControlInput | None:
    """The foot switch / knob inputs of room.yaml, or None."""
    if not room.midi.inputs:
        return None
    from setandsetting.backends.midi_input import MidiControlInput

    try:
        return MidiControlInput(room.midi.inputs, report, api=midi_api)
    except Exception as err:
        report(BackendReport("control", "device_lost", message=f"MIDI input unavailable: {err}"))
        return None
