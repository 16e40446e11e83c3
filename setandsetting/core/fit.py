"""A playlist fitted to a phase: which of the library's tracks fill its planned length.

Pure: the room folder (room.fit) gathers the library's entries, the patient's avoid list
and what the journal says they heard; here is the choice, which is deterministic:

1. Candidates: the entries every tag condition keeps, not on the patient's avoid list (as
   the compiler judges it, core.timeline.is_avoided, by the file and by the path the room
   shows), not heard in the sessions given, and
   longer than two crossfades (a track must have room to fade in and out). They are taken
   in the catalogue's stable order: by path, case-folded.
2. Greedy: walking the candidates in that order, take each one that keeps the playlist no
   longer than the phase plus one crossfade; stop as soon as it is no shorter than the
   phase minus one crossfade.
3. Best fit: while it is still short, make the one swap (a chosen track out, a candidate
   not chosen in) that brings its length closest to the phase's without passing the phase
   plus one crossfade; ties go to the earlier track out, then the earlier one in. Stop when
   no swap comes closer.

The playlist keeps the candidates' order. Its length is the compiler's own arithmetic
(core.timeline.playlist_length: each track crossfading into the next), so what `plan`
and the preflight say of the saved playlist is what the proposal said.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from setandsetting.core.catalogue import Condition, Entry, matches
from setandsetting.core.timeline import (
    FIT_TOLERANCE_S,
    Fit,
    PlannedTrack,
    TrackInfo,
    is_avoided,
    playlist_fit,
    playlist_length,
)


@dataclass(frozen=True, slots=True)
class Proposal:
    """The tracks chosen for a phase, and why the others were left out (reason, count)."""

    target_s: float
    crossfade: float
    tracks: tuple[Entry, ...]
    left_out: tuple[tuple[str, int], ...]

    @property
    def planned(self) -> tuple[PlannedTrack, ...]:
        return tuple(planned(e) for e in self.tracks)

    @property
    def length_s(self) -> float:
        return playlist_length(self.planned, self.crossfade)

    @property
    def within(self) -> bool:
        """The playlist fills the phase to within one crossfade."""
        return abs(self.length_s - self.target_s) <= self.crossfade + FIT_TOLERANCE_S

    @property
    def verdict(self) -> Fit:
        return playlist_fit(self.planned, self.target_s, self.crossfade)


def planned(entry: Entry) -> PlannedTrack:
    """An entry as the compiler would plan it: untrimmed, no gain of its own."""
    return PlannedTrack(PurePath(entry.file), entry.title, 0.0, 0.0, entry.duration_s)


def _avoided(entry: Entry, avoid: tuple[str, ...], patient_dir: PurePath | None) -> bool:
    """On the avoid list as the file itself or as the room names it: a library folder
    that is a symlink must not hide a track from an entry written with the room's path."""
    shown = PurePath(entry.path)
    if patient_dir is not None and not shown.is_absolute():
        shown = patient_dir.parent.parent / shown  # the room folder, as is_avoided takes it
    return any(
        is_avoided(TrackInfo(path, entry.title), avoid, patient_dir)
        for path in (PurePath(entry.file), shown)
    )


def fit_playlist(
    entries: Sequence[Entry],
    target_s: float,
    crossfade: float,
    *,
    conditions: Sequence[Condition] = (),
    avoid: tuple[str, ...] = (),
    patient_dir: PurePath | None = None,
    heard: frozenset[str] = frozenset(),
) -> Proposal:
    """The playlist the rule above chooses for a phase of `target_s` seconds."""
    left_out = {"filtered by tag": 0, "on the avoid list": 0, "heard lately": 0, "too short": 0}
    pool: list[Entry] = []
    for entry in sorted(entries, key=lambda e: (e.path.casefold(), e.path)):
        if not matches(entry, conditions):
            left_out["filtered by tag"] += 1
        elif _avoided(entry, avoid, patient_dir):
            left_out["on the avoid list"] += 1
        elif str(entry.file) in heard:
            left_out["heard lately"] += 1
        elif entry.duration_s <= 2 * crossfade:
            left_out["too short"] += 1
        else:
            pool.append(entry)
    low, high = target_s - crossfade, target_s + crossfade + FIT_TOLERANCE_S

    def length(chosen: list[int]) -> float:
        return playlist_length(tuple(planned(pool[i]) for i in chosen), crossfade)

    chosen: list[int] = []
    total = 0.0
    for i in range(len(pool)):
        if length([*chosen, i]) <= high:
            chosen.append(i)
            total = length(chosen)
        if total >= low:
            break
    while chosen and total < low:
        # A swap keeps the number of crossfades, so the length changes by the difference.
        best: tuple[float, int, int] | None = None
        taken = set(chosen)
        for k, out in enumerate(chosen):
            for i in (i for i in range(len(pool)) if i not in taken):
                new = total - pool[out].duration_s + pool[i].duration_s
                if new <= high and (best is None or abs(target_s - new) < best[0]):
                    best = (abs(target_s - new), k, i)
        if best is None or best[0] >= abs(target_s - total):
            break
        chosen[best[1]] = best[2]
        chosen.sort()
        total = length(chosen)
    return Proposal(
        target_s=target_s,
        crossfade=crossfade,
        tracks=tuple(pool[i] for i in sorted(chosen)),
        left_out=tuple((why, n) for why, n in left_out.items() if n),
    )
