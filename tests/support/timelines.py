"""Build timelines in memory for core tests: no files, exact track lengths."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from setandsetting.core.playlist import Patient
from setandsetting.core.profile import CuePayload, Profile
from setandsetting.core.timeline import SlotSource, Timeline, TrackInfo, compile_timeline


def slot(name: str, lengths: list[float], **track_kw: Any) -> SlotSource:
    """A slot whose tracks are /music/<name>-<i>.flac with the given lengths."""
    tracks = tuple(
        TrackInfo(PurePath(f"/music/{name}-{i}.flac"), f"{name} {i}", length=length, **track_kw)
        for i, length in enumerate(lengths)
    )
    return SlotSource(name, PurePath(f"/room/playlists/default/{name}.yaml"), "default", tracks)


def timeline(
    profile: dict[str, Any],
    slots: dict[str, list[float]] | None = None,
    *,
    patient: Patient | None = None,
    on_quiet: tuple[dict[str, Any], ...] = (),
    chime_s: float = 6.0,
    gain_db: float = 0.0,
) -> Timeline:
    """Compile a profile dict; slots map slot name -> track lengths in seconds (every track
    with playlist gain `gain_db`)."""
    prof = Profile.model_validate(profile)
    sources = {
        name: slot(name, lengths, gain_db=gain_db) for name, lengths in (slots or {}).items()
    }
    return compile_timeline(
        prof,
        sources,
        patient_id="P-test",
        patient=patient,
        on_quiet=tuple(CuePayload.model_validate(c) for c in on_quiet),
        sound_length=lambda _s: chime_s,
    )


def types(events: list[Any]) -> list[str]:
    return [e.type for e in events]


def of_type(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]
