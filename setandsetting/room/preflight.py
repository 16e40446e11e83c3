"""The preflight: what the Start page shows before a session begins.

The plan and its warnings, how each slot's playlist fits its phase (the compiler's own
verdict, crossfades counted, so the page never says "fits" where `plan` warns), and each
output and MIDI port room.yaml names, probed on this machine now.

That a device name exists proves no sound; `sound_check` plays a tone through each output
and says what was heard. It is asked for apart (the Start page's Test sound): it takes a
few seconds and sounds in the room, while the preflight runs at every choice of patient
or profile and must stay quick and silent.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from setandsetting.core.plan import build_plan
from setandsetting.core.timeline import playlist_fit, playlist_length
from setandsetting.room.folder import RoomFolder


def _devices(folder: RoomFolder) -> dict[str, Any]:
    """The outputs and ports room.yaml names, each with whether this machine has it now."""
    from setandsetting.backends.probe import audio_findings, probe
    from setandsetting.backends.pulse import sink_descriptions, sink_verdicts

    room = folder.room()
    audio = audio_findings(room.audio, probe())
    # Found is not heard: the sink each output would play into, judged by the server.
    verdicts = sink_verdicts(room.audio.outputs()) or {}
    for output in room.audio.outputs():
        key = "music_output" if output == "music" else output
        audio["outputs"][key]["silent"] = verdicts.get(output)  # None: nothing against it
    # Where PulseAudio is the sound server the music plays into its sinks; libVLC's own
    # device list then names ALSA plugins ("Rate Converter Plugin"), nothing a nurse reads.
    sinks = sink_descriptions()
    if sinks is not None:
        audio["music_devices"] = sinks
    midi: dict[str, Any] = {"outputs": [], "inputs": []}
    try:
        import rtmidi

        from setandsetting.backends.midi import list_ports

        midi["outputs"] = list_ports(rtmidi.MidiOut, None)
        midi["inputs"] = list_ports(rtmidi.MidiIn, None)
    except Exception as err:  # no MIDI system: say so, the session runs without cues
        midi["error"] = str(err)
    midi["wanted"] = {"outputs": dict(room.midi.outputs), "inputs": sorted(room.midi.inputs)}
    from setandsetting.backends.midi import match_port

    midi["found"] = {
        "outputs": {n: match_port(midi["outputs"], p) for n, p in room.midi.outputs.items()},
        "inputs": {
            n: match_port(midi["inputs"], spec.port) for n, spec in room.midi.inputs.items()
        },
    }
    return {"audio": audio, "midi": midi}


def preflight(folder: RoomFolder, patient: str, profile: str) -> dict[str, Any]:
    """The Start page's check before a session: the plan, each slot's fit, the devices."""
    compiled = folder.compile(folder.profile_path(profile), patient)
    timeline = compiled.timeline
    plan = build_plan(timeline)
    slots = []
    for phase in timeline.phases:
        if phase.slot is None:
            continue
        source = folder.slot_source(patient, phase.slot)
        slots.append(
            {
                "phase": phase.id,
                "slot": phase.slot,
                "source": None if source.source is None else str(source.source),
                "owner": source.owner,
                "tracks": len(phase.tracks),
                "playable_s": round(playlist_length(phase.tracks, timeline.crossfade), 3),
                "phase_s": phase.duration,
                "fit": playlist_fit(phase.tracks, phase.duration, timeline.crossfade),
            }
        )
    return {
        "plan": plan,
        "warnings": plan.get("warnings", []),
        "slots": slots,
        "devices": _devices(folder),
    }


def sound_check(folder: RoomFolder, output: str | None = None) -> list[dict[str, Any]]:
    """A short tone through each output room.yaml configures (or only `output`), each with
    what was heard: heard / silent / missing / played, not measured, the level, why.
    Runs in a child process (SDL's audio is one per process). Raises ValueError for an
    output that is not configured."""
    from setandsetting.backends.soundcheck import check, configured

    return [asdict(f) for f in check(configured(folder.room().audio, output))]
