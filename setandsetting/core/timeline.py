"""The timeline compiler: profile + resolved playlists + patient -> a Timeline.

Pure: the room folder's files are read by `setandsetting.room.folder`, which hands over
`SlotSource`s with each track's real length already probed. The Timeline is what the
session state machine runs; `plan` shows it by running that machine without controls, so
the plan and the session can never disagree.
"""

from __future__ import annotations

import fnmatch
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

from setandsetting.core.alerts import DEFAULTS as DEFAULT_ALERTS
from setandsetting.core.alerts import AlertSettings, Thresholds, merge
from setandsetting.core.curves import Envelope, envelope
from setandsetting.core.playlist import AUDIO_SUFFIXES, Patient
from setandsetting.core.profile import CheckinRule, CuePayload, Profile, Ramp, continued_phase
from setandsetting.core.units import db_to_factor, format_duration

MIN_TRACK_S = 1.0  # shorter remains of a trimmed track are not worth a crossfade
FIT_TOLERANCE_S = 1e-6  # a playlist this close to its phase's length fits it

Fit = Literal["fits", "shorter", "longer", "silent"]


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """A playlist entry with its file's probed length (None when unreadable)."""

    path: PurePath
    title: str
    gain_db: float = 0.0
    start: float = 0.0
    end: float | None = None
    length: float | None = None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class SlotSource:
    """A playlist slot as found in the room: the file used and its tracks."""

    slot: str
    source: PurePath | None = None
    owner: Literal["patient", "default"] | None = None
    tracks: tuple[TrackInfo, ...] = ()
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class PlannedTrack:
    path: PurePath
    title: str
    gain_db: float
    start: float  # trim start in the file
    duration: float  # playable length after trims

    @property
    def gain_factor(self) -> float:
        return db_to_factor(self.gain_db)

    @property
    def end(self) -> float:
        """Trim end in the file's own time."""
        return self.start + self.duration


@dataclass(frozen=True, slots=True)
class CheckinPlan:
    rule_id: str  # "<phase>.<index>"
    phase: int
    anchor: int  # phase index whose actual start the offsets count from
    at: tuple[float, ...] | None
    every: float | None
    start: float
    until: float | None
    kind: str
    message: str
    audience: str
    sound: str
    level: float
    ack_required: bool
    escalate_after: float | None
    chime_s: float
    duck_factor: float
    record: tuple[str, ...] = ()  # the measures staff are asked to take when they ack

    def offset(self, n: int) -> float | None:
        """The n-th occurrence as an offset from the anchor, or None when there is none."""
        if self.at is not None:
            return self.at[n] if n < len(self.at) else None
        assert self.every is not None
        off = self.start + n * self.every
        return None if self.until is not None and off > self.until + 1e-9 else off

    def first_at_or_after(self, offset: float) -> int:
        """Index of the first occurrence at or after `offset` from the anchor."""
        if self.at is not None:
            return next((i for i, a in enumerate(self.at) if a >= offset - 1e-9), len(self.at))
        assert self.every is not None
        if offset <= self.start:
            return 0
        n = int((offset - self.start) // self.every)
        return n if self.start + n * self.every >= offset - 1e-9 else n + 1


@dataclass(frozen=True, slots=True)
class CuePlan:
    cue_id: str  # "<phase>.<index>"
    phase: int
    at: float | Literal["start", "end"]
    kind: str
    payload: dict[str, Any]
    ramp: Ramp | None = None


@dataclass(frozen=True, slots=True)
class PhasePlan:
    index: int
    id: str
    title: str
    duration: float | None  # None: open
    extendable: float
    tracks: tuple[PlannedTrack, ...]
    loop: bool
    slot: str | None
    envelope: Envelope
    fade_out: float | None
    not_before: tuple[int, float] | None  # (phase index, at least seconds after its start)
    checkins: tuple[CheckinPlan, ...]
    cues: tuple[CuePlan, ...]
    planned_start: float | None
    planned_end: float | None
    # The earlier phase whose slot this one carries on with, in its very track order
    # (None: the slot begins afresh at its first track).
    continues: int | None = None

    @property
    def is_open(self) -> bool:
        return self.duration is None


@dataclass(frozen=True, slots=True)
class Timeline:
    profile_name: str
    patient: str
    max_level: float
    crossfade: float
    phases: tuple[PhasePlan, ...]
    on_quiet: tuple[dict[str, Any], ...] = ()
    warnings: tuple[str, ...] = field(default=())
    display_name: str | None = None  # patient.yaml's, shown beside the pseudonym
    route: str = "other"
    alerts: Thresholds = DEFAULT_ALERTS
    staff_chime: tuple[str, float] = ("bell", 0.45)  # (sound, level) of an alert's chime

    def phase_index(self, phase_id: str) -> int:
        for phase in self.phases:
            if phase.id == phase_id:
                return phase.index
        raise KeyError(phase_id)


def is_avoided(track: TrackInfo, avoid: tuple[str, ...], patient_dir: PurePath | None) -> bool:
    """A patient's avoid entry is a path (has a / or an audio suffix) or a title pattern.

    A relative path is taken from the patient's folder (as playlist paths are) and from the
    room folder (as `playlist avoid` and the web UI's library write them); a bare file name
    (`drift.flac`) avoids a file of that name in any folder. Matching any of these avoids
    the track, since playing an avoided track is the harm to prevent.
    """
    track_path = _normalise(track.path)
    for entry in avoid:
        if "/" in entry or PurePath(entry).suffix.lower() in AUDIO_SUFFIXES:
            target = PurePath(entry)
            if target.is_absolute() or patient_dir is None:
                candidates = [target]
            else:
                candidates = [patient_dir / target, patient_dir.parent.parent / target]
            if any(_normalise(c) == track_path for c in candidates):
                return True
            if "/" not in entry and track.path.name.lower() == entry.lower():
                return True
            continue
        pattern = entry.lower() if any(c in entry for c in "*?[") else f"*{entry.lower()}*"
        if fnmatch.fnmatchcase(track.title.lower(), pattern) or fnmatch.fnmatchcase(
            track.path.name.lower(), pattern
        ):
            return True
    return False


def _normalise(path: PurePath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def compile_timeline(
    profile: Profile,
    slots: Mapping[str, SlotSource],
    *,
    patient_id: str,
    patient: Patient | None = None,
    patient_dir: PurePath | None = None,
    on_quiet: tuple[CuePayload, ...] = (),
    room_alerts: AlertSettings | None = None,
    seed: int = 0,
    sound_length: Callable[[str], float] = lambda _sound: 6.0,
) -> Timeline:
    """Resolve every phase's music, curve, check-ins and cues into one Timeline."""
    warnings: list[str] = []
    avoid = tuple(patient.avoid) if patient else ()
    ids = [p.id for p in profile.phases]
    phases: list[PhasePlan] = []
    clock: float | None = 0.0
    starts: list[float | None] = []
    used: dict[str, float | None] = {}  # playlist seconds a slot's earlier phases play
    for i, phase in enumerate(profile.phases):
        where = f"phase {phase.id}"
        tracks: tuple[PlannedTrack, ...] = ()
        slot = phase.music.slot if phase.music else None
        continues = continued_phase(profile, i)
        if continues is not None:
            tracks = phases[continues].tracks  # the same order, so positions carry over
        elif phase.music is not None:
            source = slots.get(phase.music.slot)
            tracks = _playable(source, phase.music.slot, where, avoid, patient_dir, warnings)
            if phase.music.order == "shuffle" and tracks:
                rng = random.Random(f"{seed}:{phase.id}")
                tracks = tuple(rng.sample(tracks, len(tracks)))
        duration = None if phase.is_open else float(phase.duration)  # type: ignore[arg-type]
        if phase.is_open:
            warnings.append(f"{where}: open-ended; it runs until the clinician moves on")
        not_before = None
        if phase.not_before is not None:
            not_before = (ids.index(phase.not_before.after), phase.not_before.at_least)
        starts.append(clock)
        planned_end = None
        if clock is not None and duration is not None:
            planned_end = clock + duration
            if not_before is not None and starts[not_before[0]] is not None:
                planned_end = max(planned_end, starts[not_before[0]] + not_before[1])  # type: ignore[operator]
        checkins = tuple(
            _checkin(rule, i, j, phase.id, ids, profile, sound_length)
            for j, rule in enumerate(phase.checkins)
        )
        cues = tuple(
            CuePlan(
                cue_id=f"{phase.id}.{j}",
                phase=i,
                at=cue.at,
                kind=cue.kind,
                payload=CuePayload.model_validate(
                    cue.model_dump(by_alias=True, exclude={"at"})
                ).payload(),
                ramp=cue.midi.ramp if cue.midi is not None else None,
            )
            for j, cue in enumerate(phase.cues)
        )
        phases.append(
            PhasePlan(
                index=i,
                id=phase.id,
                title=phase.title,
                duration=duration,
                extendable=phase.extendable,
                tracks=tracks,
                loop=bool(phase.music and phase.music.loop),
                slot=slot,
                envelope=envelope(phase.level, duration, profile.defaults.level),
                fade_out=phase.fade_out,
                not_before=not_before,
                checkins=checkins,
                cues=cues,
                planned_start=clock,
                planned_end=planned_end,
                continues=continues,
            )
        )
        if slot is not None:
            before = used.get(slot, 0.0) if continues is not None else 0.0
            carried_on = i + 1 < len(profile.phases) and continued_phase(profile, i + 1) == i
            if duration is not None and tracks and before is not None:
                _fit_warning(
                    where,
                    tracks,
                    (before, duration),
                    phases[-1].loop,
                    profile.defaults.crossfade,
                    warnings,
                    carried_on and phase.fade_out is None,
                )
            span = None if planned_end is None or clock is None else planned_end - clock
            used[slot] = None if before is None or span is None else before + span
        clock = planned_end
    return Timeline(
        profile_name=profile.name,
        patient=patient_id,
        max_level=profile.limits.max_level,
        crossfade=profile.defaults.crossfade,
        phases=tuple(phases),
        on_quiet=tuple(c.payload() for c in on_quiet),
        warnings=tuple(warnings),
        display_name=patient.display_name if patient else None,
        route=profile.route,
        alerts=merge(profile.alerts, room_alerts),
        staff_chime=("bell", min(profile.defaults.chime.level, profile.limits.max_level)),
    )


def _playable(
    source: SlotSource | None,
    slot: str,
    where: str,
    avoid: tuple[str, ...],
    patient_dir: PurePath | None,
    warnings: list[str],
) -> tuple[PlannedTrack, ...]:
    if source is None or source.source is None:
        warnings.append(f"{where}: no playlist for slot {slot!r}; the phase will be silent")
        return ()
    if source.problem:
        warnings.append(
            f"{where}: playlist {source.source} cannot be read ({source.problem}); "
            "the phase will be silent"
        )
        return ()
    out: list[PlannedTrack] = []
    for track in source.tracks:
        if is_avoided(track, avoid, patient_dir):
            warnings.append(f"{where}: {track.title} removed (on the patient's avoid list)")
            continue
        if track.length is None:
            why = track.problem or "missing or unreadable"
            warnings.append(f"{where}: {track.path} skipped ({why})")
            continue
        end = min(track.end, track.length) if track.end is not None else track.length
        playable = end - track.start
        if playable < MIN_TRACK_S:
            warnings.append(f"{where}: {track.title} skipped (nothing left after its trims)")
            continue
        out.append(PlannedTrack(track.path, track.title, track.gain_db, track.start, playable))
    if not out:
        warnings.append(f"{where}: slot {slot!r} has no playable track; the phase will be silent")
    return tuple(out)


def playlist_length(tracks: tuple[PlannedTrack, ...], crossfade: float) -> float:
    """How long a phase's tracks last end to end, each crossfading into the next."""
    if not tracks:
        return 0.0
    return sum(t.duration for t in tracks) - crossfade * (len(tracks) - 1)


def playlist_fit(tracks: tuple[PlannedTrack, ...], duration: float | None, crossfade: float) -> Fit:
    """The verdict on a phase's music: the one `plan` warns by and the preflight shows."""
    if not tracks:
        return "silent"
    if duration is None:
        return "fits"
    total = playlist_length(tracks, crossfade)
    if total < duration - FIT_TOLERANCE_S:
        return "shorter"
    return "longer" if total > duration + FIT_TOLERANCE_S else "fits"


def _fit_warning(
    where: str,
    tracks: tuple[PlannedTrack, ...],
    span: tuple[float, float],
    loop: bool,
    crossfade: float,
    warnings: list[str],
    carried_on: bool = False,
) -> None:
    """How the playlist fits the phase. `span`: (the seconds of it that earlier phases play
    when this one continues their slot, the phase's duration); a playlist the next phase
    carries on with is not cut at this phase's end."""
    before, duration = span
    total = playlist_length(tracks, crossfade)
    left = max(0.0, total - before)
    what = "playlist" if before <= 0 else "rest of the playlist it continues"
    if left < duration - FIT_TOLERANCE_S:
        rest = "the playlist loops" if loop else "silence follows"
        warnings.append(
            f"{where}: {what} lasts {format_duration(left)}, shorter than the phase "
            f"({format_duration(duration)}); {rest} for the last "
            f"{format_duration(duration - left)}"
        )
    elif left > duration + FIT_TOLERANCE_S and not carried_on:
        elapsed = 0.0
        for k, track in enumerate(tracks):
            if elapsed + track.duration >= before + duration:
                cut = before + duration - elapsed
                unplayed = len(tracks) - k - 1
                more = f"; {unplayed} track(s) after it will not play" if unplayed else ""
                warnings.append(
                    f"{where}: {what} lasts {format_duration(left)}, longer than the phase "
                    f"({format_duration(duration)}); {track.title} is cut at "
                    f"{format_duration(cut)} with a fade{more}"
                )
                return
            elapsed += track.duration - crossfade


def _checkin(
    rule: CheckinRule,
    phase: int,
    j: int,
    phase_id: str,
    ids: list[str],
    profile: Profile,
    sound_length: Callable[[str], float],
) -> CheckinPlan:
    chime = profile.defaults.chime
    sound = rule.sound or chime.sound
    return CheckinPlan(
        rule_id=f"{phase_id}.{j}",
        phase=phase,
        anchor=ids.index(rule.from_) if rule.from_ else phase,
        at=tuple(sorted(rule.at)) if rule.at is not None else None,
        every=rule.every,
        start=rule.start if rule.start is not None else (rule.every or 0.0),
        until=rule.until,
        kind=rule.kind,
        message=rule.message,
        audience=rule.audience or chime.audience,
        sound=sound,
        level=min(rule.level if rule.level is not None else chime.level, profile.limits.max_level),
        ack_required=rule.ack == "required",
        escalate_after=rule.escalate_after,
        chime_s=sound_length(sound),
        duck_factor=db_to_factor(chime.duck),
        record=tuple(rule.record),
    )
