"""The session profile format (profiles/*.yaml): phases, levels, check-ins and cues.

Field-level rules live in the models; rules that span fields (unique ids, `from:` naming a
real phase, levels under the cap) are in `semantic_problems`, which names the exact field
path so the loader can point at FILE:LINE:COL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from setandsetting.core import bounds
from setandsetting.core.alerts import AlertSettings
from setandsetting.core.bounds import EXTENDABLE_RULE, MAX_EXTENDABLE_S, MAX_PHASE_S, PHASE_RULE
from setandsetting.core.types import (
    Audience,
    Duration,
    Frozen,
    GainDb,
    Level,
    Shape,
    Slug,
    bounded_duration,
    duration_input,
)
from setandsetting.core.units import format_duration, format_level, parse_duration
from setandsetting.core.vitals import Measure

Path_ = tuple[str | int, ...]


def _point_time(value: object) -> float | str:
    if value == "end":
        return "end"
    return parse_duration(value)


PointTime = Annotated[
    float | Literal["end"],
    BeforeValidator(_point_time, json_schema_input_type=duration_input() | Literal["end"]),
]


class FromTo(Frozen):
    """A ramp from one level to another over the phase (or over `over`, then held)."""

    from_: Level = Field(alias="from")
    to: Level
    shape: Shape = "linear"
    over: Duration | None = None


class Points(Frozen):
    """Breakpoints [time, level]; time may be `end` (the phase's actual end)."""

    points: list[tuple[PointTime, Level]] = Field(min_length=1)
    shape: Shape = "linear"


LevelSpec = Level | FromTo | Points


class MusicRef(Frozen):
    """A phase's music. `continue`: carry on with the slot where it was (the track keeps
    playing, its order goes on) rather than begin it again; unset, a phase continues the
    slot the phase before it plays, and begins any other afresh."""

    slot: Slug
    order: Literal["sequential", "shuffle"] = "sequential"
    loop: bool = False
    continue_: bool | None = Field(default=None, alias="continue")


def _music(value: object) -> object:
    if value == "silence" or value is None:
        return None
    if isinstance(value, str):
        return {"slot": value}
    return value


Music = Annotated[
    MusicRef | None,
    BeforeValidator(_music, json_schema_input_type=MusicRef | Slug | Literal["silence"] | None),
]


class ChimeDefaults(Frozen):
    sound: str = "bowl"
    level: Level = 0.45
    audience: Audience = "patient"
    duck: GainDb = -9.0


class Defaults(Frozen):
    crossfade: Duration = 6.0
    level: Level = 0.4
    chime: ChimeDefaults = ChimeDefaults()


class Limits(Frozen):
    max_level: Level = 0.8


def _one_or_many(value: object) -> object:
    return value if isinstance(value, list) or value is None else [value]


class CheckinRule(Frozen):
    """A check-in: fixed offsets (`at`) or a period (`every`), anchored at phase `from`."""

    at: Annotated[
        list[Duration] | None,
        BeforeValidator(_one_or_many, json_schema_input_type=list[Duration] | Duration | None),
    ] = None
    every: Duration | None = None
    start: Duration | None = None
    until: Duration | None = None
    from_: Slug | None = Field(default=None, alias="from")
    kind: str = "checkin"
    message: str = ""
    audience: Audience | None = None
    sound: str | None = None
    level: Level | None = None
    ack: Literal["required", "none"] = "none"
    escalate_after: Duration | None = None
    record: list[Measure] = []  # what staff measure when they acknowledge it

    @field_validator("every")
    @classmethod
    def _at_least_10s(cls, value: float | None) -> float | None:
        if value is not None and value < 10:
            raise ValueError("`every` must be at least 10s")
        return value

    @field_validator("escalate_after")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value < 5:
            raise ValueError("`escalate_after` must be at least 5s")
        return value

    @model_validator(mode="after")
    def _at_or_every(self) -> CheckinRule:
        if (self.at is None) == (self.every is None):
            raise ValueError("a check-in needs exactly one of `at` (offsets) or `every`")
        if self.at is not None and (self.start is not None or self.until is not None):
            raise ValueError("`start` and `until` go with `every`, not with `at`")
        if self.escalate_after is not None and self.ack != "required":
            raise ValueError("`escalate_after` needs `ack: required`")
        if self.record and self.ack != "required":
            raise ValueError("`record` needs `ack: required` (readings go with the ack)")
        if len(set(self.record)) != len(self.record):
            raise ValueError("`record` names a measure twice")
        return self


class Ramp(Frozen):
    from_: int = Field(alias="from", ge=0, le=127)
    to: int = Field(ge=0, le=127)
    over: Duration
    shape: Shape = "linear"


# The MIDI message rules, for profiles, room.yaml's on_quiet and the MIDI backend alike
# (backends.midi builds what it sends from a MidiMessage): which fields each type needs
# and takes, and (in MidiMessage) every field's range and default.
MidiType = Literal["note_on", "note_off", "control_change", "program_change", "sysex"]

_MIDI_NEEDS: dict[str, tuple[str, ...]] = {
    "note_on": ("note",),
    "note_off": ("note",),
    "control_change": ("control",),
    "program_change": ("program",),
    "sysex": ("data",),
}


_MIDI_FIELDS: dict[str, frozenset[str]] = {
    "note_on": frozenset({"type", "port", "channel", "note", "velocity"}),
    "note_off": frozenset({"type", "port", "channel", "note", "velocity"}),
    "control_change": frozenset({"type", "port", "channel", "control", "value", "ramp"}),
    "program_change": frozenset({"type", "port", "channel", "program"}),
    "sysex": frozenset({"type", "port", "data"}),
}


class MidiMessage(Frozen):
    type: MidiType
    channel: int = Field(default=1, ge=1, le=16)
    note: int | None = Field(default=None, ge=0, le=127)
    velocity: int = Field(default=64, ge=0, le=127)
    control: int | None = Field(default=None, ge=0, le=127)
    value: int | None = Field(default=None, ge=0, le=127)
    program: int | None = Field(default=None, ge=0, le=127)
    data: list[Annotated[int, Field(ge=0, le=127)]] | None = None
    port: str | None = None
    ramp: Ramp | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> MidiMessage:
        missing = [f for f in _MIDI_NEEDS[self.type] if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.type} message needs `{missing[0]}`")
        if self.type == "control_change" and self.value is None and self.ramp is None:
            raise ValueError("a control_change needs `value` or `ramp`")
        if self.ramp is not None and self.type != "control_change":
            raise ValueError("`ramp` goes only with control_change")
        return self

    def used(self) -> dict[str, Any]:
        """The fields its type takes, as written or defaulted: what is journaled and sent."""
        out = self.model_dump(by_alias=True, exclude_none=True)
        return {k: v for k, v in out.items() if k in _MIDI_FIELDS[self.type]}


class OscMessage(Frozen):
    address: str = Field(pattern=r"^/[^\s#*,?\[\]{}]*$")
    args: list[int | float | str | bool] = []
    target: str | None = None


class CuePayload(Frozen):
    """A cue's message: exactly one of `midi` or `osc`."""

    midi: MidiMessage | None = None
    osc: OscMessage | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> CuePayload:
        if (self.midi is None) == (self.osc is None):
            raise ValueError("a cue needs exactly one of `midi` or `osc`")
        return self

    @property
    def kind(self) -> str:
        return "midi" if self.midi is not None else "osc"

    def payload(self) -> dict[str, Any]:
        """The plain dict a cue backend sends (`{"midi": {...}}` or `{"osc": {...}}`).

        A MIDI message keeps only the fields its type uses, so defaults such as
        `velocity` do not clutter a program change in the journal and the plan.
        """
        if self.midi is not None:
            return {"midi": self.midi.used()}
        return self.model_dump(by_alias=True, exclude_none=True, include={"osc"})


def _cue_at(value: object) -> object:
    return value if value in ("start", "end") else parse_duration(value)


class Cue(CuePayload):
    at: Annotated[
        float | Literal["start", "end"],
        BeforeValidator(_cue_at, json_schema_input_type=duration_input() | Literal["start", "end"]),
    ] = "start"


class NotBefore(Frozen):
    after: Slug
    at_least: Duration


def _duration_or_open(value: object) -> object:
    if value == "open":
        return "open"
    return parse_duration(value, at_most=MAX_PHASE_S, rule=PHASE_RULE)


Extendable = bounded_duration(MAX_EXTENDABLE_S, EXTENDABLE_RULE)


class Phase(Frozen):
    id: Slug
    name: str | None = None
    duration: Annotated[
        float | Literal["open"],
        BeforeValidator(
            _duration_or_open, json_schema_input_type=duration_input(MAX_PHASE_S) | Literal["open"]
        ),
    ]
    extendable: Extendable = 0.0
    music: Music = None
    level: LevelSpec | None = None
    fade_out: Duration | None = None
    not_before: NotBefore | None = None
    checkins: list[CheckinRule] = []
    cues: list[Cue] = []

    @field_validator("duration")
    @classmethod
    def _positive(cls, value: float | str) -> float | str:
        if value != "open" and value <= 0:  # type: ignore[operator]
            raise ValueError("a phase needs a duration above 0, or `open`")
        return value

    @property
    def is_open(self) -> bool:
        return self.duration == "open"

    @property
    def title(self) -> str:
        return self.name or self.id


class Profile(Frozen):
    name: str = Field(min_length=1)
    route: Literal["im", "sublingual", "iv", "intranasal", "oral", "other"] = "other"
    description: str = ""
    limits: Limits = Limits()
    defaults: Defaults = Defaults()
    alerts: AlertSettings | None = None  # thresholds for readings (else room.yaml's, defaults)
    phases: list[Phase] = Field(min_length=1)

    def phase_index(self, phase_id: str) -> int:
        for i, phase in enumerate(self.phases):
            if phase.id == phase_id:
                return i
        raise KeyError(phase_id)


def _levels_of(spec: LevelSpec | None) -> list[tuple[Path_, float]]:
    if spec is None:
        return []
    if isinstance(spec, float):
        return [((), spec)]
    if isinstance(spec, FromTo):
        return [(("from",), spec.from_), (("to",), spec.to)]
    return [(("points", i, 1), level) for i, (_, level) in enumerate(spec.points)]


def semantic_problems(profile: Profile) -> list[tuple[Path_, str]]:
    """Rules that span fields, each with the path of the field to point at."""
    problems: list[tuple[Path_, str]] = []
    ids = [p.id for p in profile.phases]
    cap = profile.limits.max_level

    def unknown(phase_id: str, path: Path_) -> None:
        from difflib import get_close_matches

        hint = get_close_matches(phase_id, ids, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else f" (phases: {', '.join(ids)})"
        problems.append((path, f"no phase is called {phase_id!r}{extra}"))

    def over_cap(level: float, path: Path_) -> None:
        if level > cap + 1e-9:
            problems.append(
                (path, f"level {format_level(level)} is above limits.max_level {format_level(cap)}")
            )

    over_cap(profile.defaults.level, ("defaults", "level"))
    over_cap(profile.defaults.chime.level, ("defaults", "chime", "level"))
    seen: set[str] = set()
    for i, phase in enumerate(profile.phases):
        base: Path_ = ("phases", i)
        if phase.id in seen:
            problems.append(((*base, "id"), f"phase id {phase.id!r} is used twice"))
        seen.add(phase.id)
        for sub, level in _levels_of(phase.level):
            over_cap(level, (*base, "level", *sub))
        if phase.is_open:
            if isinstance(phase.level, FromTo) and phase.level.over is None:
                problems.append(
                    (
                        (*base, "level"),
                        "an open phase has no end to ramp to: add `over: <duration>`",
                    )
                )
            if isinstance(phase.level, Points) and any(t == "end" for t, _ in phase.level.points):
                problems.append(((*base, "level", "points"), "an open phase has no `end`"))
            if phase.extendable:
                problems.append(((*base, "extendable"), "an open phase cannot be extended"))
        if isinstance(phase.level, Points):
            times = [t for t, _ in phase.level.points]
            numeric = [t for t in times if t != "end"]
            if numeric != sorted(numeric) or ("end" in times and times[-1] != "end"):
                problems.append(((*base, "level", "points"), "points must be in time order"))
            if not phase.is_open and any(t > phase.duration for t in numeric):  # type: ignore[operator]
                problems.append(((*base, "level", "points"), "a point lies after the phase ends"))
        problems += _continuity_problems(profile, i)
        if phase.not_before is not None and phase.not_before.after not in ids:
            unknown(phase.not_before.after, (*base, "not_before", "after"))
        elif phase.not_before is not None and ids.index(phase.not_before.after) > i:
            problems.append(
                (
                    (*base, "not_before", "after"),
                    f"{phase.not_before.after!r} comes after {phase.id!r}; "
                    "a floor counts from this or an earlier phase",
                )
            )
        for j, rule in enumerate(phase.checkins):
            if rule.from_ is not None and rule.from_ not in ids:
                unknown(rule.from_, (*base, "checkins", j, "from"))
            elif rule.from_ is not None and ids.index(rule.from_) > i:
                problems.append(
                    (
                        (*base, "checkins", j, "from"),
                        f"{rule.from_!r} comes after {phase.id!r}; "
                        "anchor at this or an earlier phase",
                    )
                )
            if rule.level is not None:
                over_cap(rule.level, (*base, "checkins", j, "level"))
        for j, cue in enumerate(phase.cues):
            if isinstance(cue.at, float) and not phase.is_open and cue.at > phase.duration:  # type: ignore[operator]
                problems.append(((*base, "cues", j, "at"), "this cue lies after the phase ends"))
    return problems + _bound_problems(profile)


def continued_phase(profile: Profile, index: int) -> int | None:
    """The earlier phase whose slot this phase carries on with (None: it begins afresh):
    with `continue: true` the last earlier phase of its slot, unset the phase just before
    when it plays the same slot. The timeline compiler and the checks agree through this."""
    music = profile.phases[index].music
    if music is None or music.continue_ is False:
        return None
    earlier = [j for j in range(index) if _slot(profile.phases[j]) == music.slot]
    if music.continue_ is None:
        return index - 1 if earlier and earlier[-1] == index - 1 else None
    return earlier[-1] if earlier else None


def _slot(phase: Phase) -> str | None:
    return phase.music.slot if phase.music is not None else None


def _continuity_problems(profile: Profile, i: int) -> list[tuple[Path_, str]]:
    """`continue: true` needs an earlier phase of the slot; a continued slot keeps the
    order it began in, so a different `order` is a contradiction to point at."""
    music = profile.phases[i].music
    if music is None:
        return []
    base: Path_ = ("phases", i, "music")
    source = continued_phase(profile, i)
    if source is None:
        if music.continue_:
            return [
                (
                    (*base, "continue"),
                    f"no earlier phase plays slot {music.slot!r}; there is nothing to continue",
                )
            ]
        return []
    begun = profile.phases[source].music
    assert begun is not None
    if "order" in music.model_fields_set and music.order != begun.order:
        return [
            (
                (*base, "order"),
                f"this phase continues slot {music.slot!r} of phase "
                f"{profile.phases[source].id!r}, in its order ({begun.order}); "
                "add `continue: false` to begin the slot again",
            )
        ]
    return []


def _anchor(phase_id: str | None, ids: list[str], own: int) -> int | None:
    """The index a `from:`/`after:` names, if it is this or an earlier phase."""
    if phase_id is None:
        return own
    index = ids.index(phase_id) if phase_id in ids else None
    return index if index is not None and index <= own else None


def _spans(profile: Profile) -> list[bounds.Span]:
    ids = [p.id for p in profile.phases]
    spans = []
    for i, phase in enumerate(profile.phases):
        floor = None
        if phase.not_before is not None:
            anchor = _anchor(phase.not_before.after, ids, i)
            floor = None if anchor is None else (anchor, phase.not_before.at_least)
        duration = None if phase.is_open else float(phase.duration)  # type: ignore[arg-type]
        spans.append(bounds.Span(duration, 0.0 if phase.is_open else phase.extendable, floor))
    return spans


def _local_offsets(phase: Phase) -> Iterator[tuple[Path_, float, str]]:
    """A phase's offsets counted from its own start: (path in the phase, value, what)."""
    if phase.fade_out is not None:
        yield ("fade_out",), phase.fade_out, "a fade-out"
    if isinstance(phase.level, FromTo) and phase.level.over is not None:
        yield ("level", "over"), phase.level.over, "a level's ramp"
    if isinstance(phase.level, Points) and phase.is_open:  # a timed phase's: checked above
        for k, (at, _) in enumerate(phase.level.points):
            if isinstance(at, float):
                yield ("level", "points", k, 0), at, "a point"
    for j, cue in enumerate(phase.cues):
        if phase.is_open and isinstance(cue.at, float):  # a timed phase's: checked above
            yield ("cues", j, "at"), cue.at, "a cue"
        if cue.midi is not None and cue.midi.ramp is not None:
            yield ("cues", j, "midi", "ramp", "over"), cue.midi.ramp.over, "a ramp"
    for j, rule in enumerate(phase.checkins):
        if rule.escalate_after is not None:
            yield ("checkins", j, "escalate_after"), rule.escalate_after, "an escalation"


def _anchored_offsets(rule: CheckinRule) -> Iterator[tuple[Path_, float]]:
    """A check-in's offsets counted from its anchor's start: (path in the rule, value)."""
    for k, at in enumerate(rule.at or []):
        yield ("at", k), at
    for name in ("start", "until", "every"):
        value = getattr(rule, name)
        if value is not None:
            yield (name,), value


def _bound_problems(profile: Profile) -> list[tuple[Path_, str]]:
    """Every duration within its limit (the rules are `bounds`' docstring), so a plan of
    this profile takes a bounded walk."""
    problems: list[tuple[Path_, str]] = []
    ids = [p.id for p in profile.phases]
    spans = _spans(profile)
    reach = bounds.reaches(spans)
    for i, end in enumerate(bounds.latest_ends(spans)):
        if end > bounds.MAX_SESSION_S:
            problems.append(
                (
                    ("phases", i),
                    f"by the end of this phase the session can last {format_duration(end)} "
                    "(durations, every extension and floor counted, open phases not); "
                    f"a session lasts at most {bounds.MAX_SESSION_S / 3600:g}h",
                )
            )
            break
    with_music = [r for r, p in zip(reach, profile.phases, strict=True) if p.music is not None]
    if with_music and profile.defaults.crossfade > max(with_music):
        problems.append(
            (
                ("defaults", "crossfade"),
                f"a crossfade of {format_duration(profile.defaults.crossfade)} is longer than "
                f"any phase with music can last ({format_duration(max(with_music))}); "
                "a crossfade is at most that long",
            )
        )
    for i, (phase, hold) in enumerate(zip(profile.phases, bounds.floor_holds(spans), strict=True)):
        base: Path_ = ("phases", i)
        basis = (
            "an open phase counts as 24h"
            if phase.is_open
            else "its duration with every extension, or its floor"
        )
        for path, value, what in _local_offsets(phase):
            if value > reach[i]:
                problems.append(
                    (
                        (*base, *path),
                        f"{format_duration(value)} is more than phase {phase.id!r} can last "
                        f"({format_duration(reach[i])}: {basis}); {what} lies within its phase",
                    )
                )
        if hold > bounds.MAX_PHASE_S:
            problems.append(
                (
                    (*base, "not_before", "at_least"),
                    f"this floor can hold phase {phase.id!r} {format_duration(hold)} past its "
                    f"earliest start; a floor holds a phase at most "
                    f"{bounds.MAX_PHASE_S / 3600:g}h",
                )
            )
        for j, rule in enumerate(phase.checkins):
            anchor = _anchor(rule.from_, ids, i)
            if anchor is None:
                continue  # an unknown or later `from` is reported above
            span = bounds.anchored_reach(reach, anchor, i)
            for path, value in _anchored_offsets(rule):
                if value > span:
                    problems.append(
                        (
                            (*base, "checkins", j, *path),
                            f"{format_duration(value)} from the start of {ids[anchor]!r} is "
                            f"past the latest end of phase {phase.id!r} "
                            f"({format_duration(span)} from there, every extension and floor "
                            "counted); a check-in counts within its phase's reach",
                        )
                    )
    return problems
