"""How long a session and its parts may last, so no input keeps a plan walking for ever.

The plan, a rehearsal and the preflight walk a session moment by moment; these limits
bound that walk. The rules (each field's error message states its own):

- a phase lasts at most 24 h, or is `open`; `extendable` adds at most 24 h to it;
- a session lasts at most 48 h: every phase's duration, every extension and every floor
  (`not_before`) counted, open phases counting nothing;
- what a phase can reach: its duration with every extension, or as far as its floor holds
  it; an open phase, at most 24 h (MAX_PHASE_S);
- an offset inside a phase (a cue's `at`, `fade_out`, a level's `over` or point, a
  ramp's `over`, `escalate_after`) lies within what its phase can reach;
- a check-in's `at`, `start`, `until` and `every` count from its anchor phase (`from`)
  and lie within what the phases from the anchor to its own can reach;
- a floor holds its phase at most 24 h past the phase's earliest planned start;
- a crossfade is no longer than the longest phase with music can reach.

Pure arithmetic over plain numbers: `profile.semantic_problems` applies it field by field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from setandsetting.core.units import MAX_DURATION_S

MAX_PHASE_S = 24 * 3600.0
MAX_EXTENDABLE_S = 24 * 3600.0
MAX_SESSION_S = MAX_DURATION_S

PHASE_RULE = "a phase lasts at most 24h (or write `open`)"
EXTENDABLE_RULE = "`extendable` adds at most 24h to a phase"


@dataclass(frozen=True, slots=True)
class Span:
    """What the limits need to know of a phase."""

    duration: float | None  # None: open
    extendable: float = 0.0
    floor: tuple[int, float] | None = None  # (anchor phase index <= this one, at least)


def earliest_starts(spans: Sequence[Span]) -> list[float]:
    """Each phase's planned start with no extension, open phases counting nothing."""
    starts, clock = [], 0.0
    for span in spans:
        starts.append(clock)
        clock += span.duration or 0.0
    return starts


def floor_holds(spans: Sequence[Span]) -> list[float]:
    """How far past its earliest start each phase's floor can hold it (0 without one)."""
    starts = earliest_starts(spans)
    holds = []
    for i, span in enumerate(spans):
        hold = 0.0
        if span.floor is not None and span.floor[0] <= i:
            anchor, at_least = span.floor
            hold = max(0.0, starts[anchor] + at_least - starts[i])
        holds.append(hold)
    return holds


def reaches(spans: Sequence[Span]) -> list[float]:
    """How long each phase can last at most."""
    return [
        MAX_PHASE_S if span.duration is None else max(span.duration + span.extendable, hold)
        for span, hold in zip(spans, floor_holds(spans), strict=True)
    ]


def latest_ends(spans: Sequence[Span]) -> list[float]:
    """The latest each phase can end: every extension used, every floor honoured."""
    starts: list[float] = []
    ends: list[float] = []
    clock = 0.0
    for i, span in enumerate(spans):
        starts.append(clock)
        end = clock + (span.duration or 0.0) + span.extendable
        if span.floor is not None and span.floor[0] <= i:
            end = max(end, starts[span.floor[0]] + span.floor[1])
        ends.append(end)
        clock = end
    return ends


def anchored_reach(reach: Sequence[float], anchor: int, phase: int) -> float:
    """How far from the start of phase `anchor` phase `phase` can still be running."""
    return min(sum(reach[anchor : phase + 1]), MAX_SESSION_S)
