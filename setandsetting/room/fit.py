"""A playlist proposed for a phase, from the room's library: what core.fit needs, gathered.

The phase's planned length comes from the timeline compiler itself (compiled without
music: a phase's planned times never depend on its tracks), the crossfade from the
profile, the avoid list from patient.yaml, and "heard lately" from the journal: every
track a `track_started` of the patient's last N sessions names (those journaled as
passed while the program was down, `in_gap`, were never heard and do not count).
Shared by `playlist fit` and the Playlists page; saving goes through room.playlists.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from setandsetting.core.catalogue import Condition
from setandsetting.core.fit import Proposal, fit_playlist
from setandsetting.core.loader import load_profile
from setandsetting.core.timeline import compile_timeline
from setandsetting.journal.store import Journal
from setandsetting.room.errors import EditError, NotFound
from setandsetting.room.folder import RoomFolder, check_slot
from setandsetting.room.library import library_entries

MAX_SESSIONS = 1000  # "not heard in the last N sessions": N at most this


def phase_length(profile_path: Path, phase_id: str, slot: str) -> tuple[float, float]:
    """(planned seconds, crossfade) of the phase, which must play `slot`."""
    profile = load_profile(profile_path)
    timeline = compile_timeline(profile, {}, patient_id="-")
    phase = next((p for p in timeline.phases if p.id == phase_id), None)
    if phase is None:
        ids = ", ".join(p.id for p in timeline.phases)
        raise NotFound(f"profile {profile_path.stem!r} has no phase {phase_id!r} (phases: {ids})")
    if phase.slot != slot:
        plays = f"plays slot {phase.slot!r}" if phase.slot else "plays no music"
        raise EditError(f"phase {phase_id!r} {plays}, not {slot!r}")
    if phase.planned_start is not None and phase.planned_end is not None:
        return phase.planned_end - phase.planned_start, timeline.crossfade
    if phase.duration is None:
        raise EditError(f"phase {phase_id!r} is open-ended: it has no length to fit")
    return phase.duration, timeline.crossfade


def heard_lately(journal: Journal | None, patient: str, sessions: int) -> frozenset[str]:
    """The files started in the patient's last `sessions` sessions (not in a gap)."""
    if journal is None or sessions <= 0:
        return frozenset()
    if sessions > MAX_SESSIONS:
        raise EditError(f"not heard in the last {sessions} sessions: at most {MAX_SESSIONS}")
    ids = [s.id for s in journal.sessions(patient, limit=sessions)]
    if not ids:
        return frozenset()
    rows = journal.query(
        "SELECT data FROM events WHERE type = 'track_started' AND session_id IN "
        f"({', '.join('?' * len(ids))})",
        tuple(ids),
    )
    started = (json.loads(data) for (data,) in rows)
    return frozenset(str(e["path"]) for e in started if "path" in e and not e.get("in_gap"))


def propose(
    folder: RoomFolder,
    patient: str,
    slot: str,
    profile_path: Path,
    phase_id: str,
    *,
    conditions: tuple[Condition, ...] = (),
    not_heard: int = 0,
    journal: Journal | None = None,
) -> Proposal:
    """The playlist core.fit chooses from the library for the phase of the profile."""
    check_slot(slot)
    patient_dir = folder.patient_dir(patient)
    target, crossfade = phase_length(profile_path, phase_id, slot)
    found = folder.patient(patient)
    return fit_playlist(
        list(library_entries(folder)),
        target,
        crossfade,
        conditions=conditions,
        avoid=tuple(found.avoid) if found else (),
        patient_dir=patient_dir,
        heard=heard_lately(journal, patient, not_heard),
    )


def proposal_view(proposal: Proposal, slot: str, phase_id: str) -> dict[str, Any]:
    """The proposal as the API and `playlist fit --json` show it."""
    return {
        "slot": slot,
        "phase": phase_id,
        "target_s": round(proposal.target_s, 3),
        "crossfade_s": proposal.crossfade,
        "length_s": round(proposal.length_s, 3),
        "within": proposal.within,
        "verdict": proposal.verdict,
        "tracks": [e.view() for e in proposal.tracks],
        "left_out": dict(proposal.left_out),
    }
