"""Which sound outputs reach no loudspeaker now, and why: the fold of every detector's word.

Several detectors speak about one output — libVLC's own audio output errors, SDL's device,
the sound server's sinks and streams — each in its own time. An output is faulted while
any of them says so and restored when the last one takes it back, so `audio_fault` is
journaled once when an output falls silent and `audio_restored` once when it comes back,
in whatever order the detectors speak.
"""

from __future__ import annotations

from dataclasses import dataclass

from setandsetting.core.events import Event

OUTPUTS = ("music", "patient_chimes", "staff_chimes")


@dataclass(frozen=True, slots=True)
class AudioFaults:
    """The detectors' standing complaints: (output, cause, why), the oldest first."""

    causes: tuple[tuple[str, str, str], ...] = ()

    def why(self) -> dict[str, str]:
        """Each faulted output (in OUTPUTS order) with the sentence of its oldest cause."""
        first: dict[str, str] = {}
        for output, _, why in self.causes:
            first.setdefault(output, why)
        return {o: first[o] for o in OUTPUTS if o in first}


def fault(
    faults: AudioFaults, output: str, cause: str, why: str, t: float
) -> tuple[AudioFaults, list[Event]]:
    """Detector `cause` says at session time t that `why` silences `output`. Returns the
    new faults and the event it makes: `audio_fault` only if the output had none."""
    _known(output)
    key = (output, cause)
    if any(c[:2] == key for c in faults.causes):  # the same complaint, maybe reworded
        return AudioFaults(tuple((*key, why) if c[:2] == key else c for c in faults.causes)), []
    events = (
        [] if output in faults.why() else [Event("audio_fault", t, {"output": output, "why": why})]
    )
    return AudioFaults((*faults.causes, (*key, why))), events


def restore(
    faults: AudioFaults, output: str, cause: str, why: str, t: float
) -> tuple[AudioFaults, list[Event]]:
    """Detector `cause` takes its complaint about `output` back (`why`: what it sees now).
    `audio_restored` only when that was the output's last complaint."""
    _known(output)
    after = AudioFaults(tuple(c for c in faults.causes if c[:2] != (output, cause)))
    if output in faults.why() and output not in after.why():
        return after, [Event("audio_restored", t, {"output": output, "why": why})]
    return after, []


def _known(output: str) -> None:
    if output not in OUTPUTS:
        raise ValueError(f"unknown audio output {output!r}: one of {', '.join(OUTPUTS)}")
