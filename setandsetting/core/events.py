"""The one event vocabulary shared by the journal, `rehearse --json` and the API.

Every event has `type` and `t` (session seconds). `wall` (UTC ISO 8601) is added by the
shell that knows the wall clock at t=0, so the core stays free of clocks. The types, with
the fields each carries beside `type`, `t` and `wall`:

- `session_started` (`profile`, `patient`), `session_ended` (`reason`: completed |
  stopped | interrupted), `session_resumed` (`gap_s`: how long the program was down),
  `daemon_stopped` (SIGTERM or SIGINT stopped the program, not the session: it resumes)
- `phase_started` (`phase`, `planned_t`), `phase_extended` (`phase`, `by_s`,
  `new_end_t`, and `asked_s` when more was asked than the phase could still take),
  `phase_advanced` (`phase`, `planned_end_t`: moved on before it; `pending`: the ids of
  the check-ins still waiting, when any)
- `track_started` (`path`, `title`, `offset`, `end`, `phase`, `voice`, `level`),
  `track_ended` (`path`, `title`, `phase`, `voice`, `reason`: one of TrackEndReason)
- `level_changed` (`nudge_pct`, `level`, `shown`: a manual change)
- `checkin_due` (`id`, `kind`, `message`, `audience`, `sound`, `level`, `ack`, `phase`),
  `checkin_acknowledged` (`id`, `kind`, `latency_s`), `checkin_escalated` (`id`, `kind`,
  `count`, `audience`, `sound`, `level`, `phase`), `checkin_dismissed` (`id`, `kind`,
  `phase`, `reason`, `overdue_s`: taken off the screens undone, with why),
  `checkin_missed` (`id`, `kind`, `phase`, `due_t`: still waiting when the session ended). A
  required check-in waits, through later phases and `next`, until one of these.
- `cue_sent` (`id`, `phase`, `kind`, `target`, `payload`)
- `music_held`, `music_resumed` (`after`: held | quiet), `quiet`
- `note` (`text`)
- `control` (`action`, and `value`, `absolute`, `voice`, `message` when set: a control as
  the engine received it, so a resumed session replays it), `control_refused`
  (`action`, `reason`; `pressed_at` for a control refused as pressed too long ago)
- `error` (`source`, `message`, sometimes `path`), `device_back` (`source`, `message`: a
  lost device is an `error`, its return this)
- `audio_fault` (`output`: music | patient_chimes | staff_chimes, `why`: one sentence): no
  sound reaches that output's loudspeaker; `audio_restored` (`output`, `why`): it does
  again. Each said once per outage, however many detectors noticed it.
- the clinical record: `dose_given` (`name`, `amount`, `unit`, `route`, `lot`, `n`: the
  dose's number in the session), `vitals_recorded` (`checkin`: the check-in id or None,
  `kind`, `readings` {bp: [S, D], hr, spo2, rr, sedation, dissociation}, `units`, `note`,
  `skipped`: what the check-in asked for and was not given), `vitals_alert` (`what`: the
  threshold's key, `measure`, `value`, `threshold`, `message`, `checkin`, and the staff
  chime's `sound`, `level`), `session_facts` (`medications` {class: yes/no},
  `first_treatment`, `intention`), `ready_to_leave` (`since_dose_s`), `stop_reason`
  (`reason`, `floor_t`: the discharge floor the session ended before, `why`)
- `checkin_due` carries `record` (the measures asked for) when its rule names them;
  `checkin_acknowledged` carries `record` and `skipped` then too.

An Event refuses a type outside EventType, and a `track_ended` whose reason is outside
TrackEndReason, when it is made: a misspelt type fails where it is emitted, not in a
review months later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

EventType = Literal[
    "session_started",
    "phase_started",
    "phase_extended",
    "phase_advanced",
    "track_started",
    "track_ended",
    "level_changed",
    "checkin_due",
    "checkin_acknowledged",
    "checkin_escalated",
    "checkin_dismissed",
    "checkin_missed",
    "cue_sent",
    "music_held",
    "music_resumed",
    "quiet",
    "note",
    "error",
    "session_resumed",
    "session_ended",
    "daemon_stopped",
    "control_refused",
    "control",
    "device_back",
    "audio_fault",
    "audio_restored",
    "dose_given",
    "vitals_recorded",
    "vitals_alert",
    "session_facts",
    "ready_to_leave",
    "stop_reason",
]
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))

# Why a track stopped sounding: it played out, was skipped, its phase ended, it failed,
# quiet or hold faded it, the session was stopped, or the program died under it.
TrackEndReason = Literal[
    "finished", "skipped", "phase_end", "error", "quiet", "held", "stopped", "interrupted"
]
TRACK_END_REASONS: frozenset[str] = frozenset(get_args(TrackEndReason))


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened at session time `t`; `data` holds the type's own fields."""

    type: EventType
    t: float
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(
                f"unknown event type {self.type!r}: not in the vocabulary (core/events.py)"
            )
        if self.type == "track_ended" and self.data.get("reason") not in TRACK_END_REASONS:
            raise ValueError(
                f"unknown track_ended reason {self.data.get('reason')!r}: "
                f"one of {', '.join(sorted(TRACK_END_REASONS))}"
            )

    def to_dict(self, started_wall: datetime | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "t": round(self.t, 3)}
        if started_wall is not None:
            out["wall"] = wall_at(started_wall, self.t)
        out.update(self.data)
        return out


def wall_at(started_wall: datetime, t: float) -> str:
    """UTC ISO 8601 wall time of session time t."""
    return (started_wall + timedelta(seconds=t)).astimezone(UTC).isoformat(timespec="milliseconds")


def describe(event: dict[str, Any]) -> str:
    """A short human sentence for an event dict (rehearse, status feeds, the UI)."""
    d = event
    kind = d["type"]
    if kind == "session_started":
        return f"session started: {d.get('profile')} for {d.get('patient')}"
    if kind == "phase_started":
        planned = d.get("planned_t")
        late = "" if planned is None else f" (planned {_clock(planned)})"
        return f"phase {d['phase']} started{late}"
    if kind == "phase_extended":
        asked = d.get("asked_s")
        most = f" (asked {_dur(asked)}: the most it may still take)" if asked else ""
        return f"phase {d['phase']} extended by {_dur(d['by_s'])}{most}"
    if kind == "phase_advanced":
        waiting = d.get("pending")
        still = f"; still waiting: {', '.join(waiting)}" if waiting else ""
        return f"moved on from {d['phase']} early{still}"
    if kind == "track_started":
        at = f" from {_dur(d['offset'])}" if d.get("offset") else ""
        return f"track {d.get('title') or d['path']}{at}"
    if kind == "track_ended":
        return f"track {d.get('title') or d['path']} ended ({d['reason']})"
    if kind == "level_changed":
        return f"level set to {d['level'] * 100:.0f}% (nudge {d['nudge_pct']:+.0f}%)"
    if kind == "checkin_due":
        message = f": {d['message']}" if d.get("message") else ""
        return f"check-in {d['kind']} for {d['audience']}{message}"
    if kind == "checkin_acknowledged":
        return f"check-in {d.get('kind', d['id'])} acknowledged after {_dur(d['latency_s'])}"
    if kind == "checkin_escalated":
        return f"check-in {d.get('kind', d['id'])} not acknowledged: reminder {d['count']}"
    if kind == "checkin_missed":
        # Six of one kind end a session together: each says which one it was.
        due = f" (due {_clock(d['due_t'])})" if d.get("due_t") is not None else ""
        which = " ".join(str(x) for x in (d.get("kind"), d["id"]) if x)
        return f"check-in {which}{due} missed"
    if kind == "checkin_dismissed":
        late = f" ({_dur(d['overdue_s'])} overdue)" if d.get("overdue_s") else ""
        return f"check-in {d.get('kind', d['id'])} dismissed{late}: {d.get('reason')}"
    if kind == "cue_sent":
        return f"cue {d.get('kind')} to {d.get('target') or 'default'}"
    if kind == "note":
        return f"note: {d['text']}"
    if kind == "error":
        return f"error ({d.get('source')}): {d.get('message')}"
    if kind == "control_refused":
        return f"{d['action']} refused: {d['reason']}"
    if kind == "session_resumed":
        return f"session resumed after a gap of {_dur(d['gap_s'])}"
    if kind == "audio_fault":
        return f"NO SOUND on {str(d['output']).replace('_', ' ')}: {d['why']}"
    if kind == "audio_restored":
        return f"sound back on {str(d['output']).replace('_', ' ')}: {d['why']}"
    if kind == "session_ended":
        return f"session ended ({d['reason']})"
    if kind == "dose_given":
        extra = "".join(f" {k} {d[k]}" for k in ("route", "lot") if d.get(k))
        return f"dose {d['n']}: {d['name']} {d['amount']:g} {d['unit']}{extra}"
    if kind == "vitals_recorded":
        from setandsetting.core.vitals import format_value

        words = [f"{k} {format_value(k, v)}" for k, v in d["readings"].items()]
        if d.get("note"):
            words.append(f"note: {d['note']}")
        skipped = f" (not taken: {', '.join(d['skipped'])})" if d.get("skipped") else ""
        return f"readings: {', '.join(words) or 'none'}{skipped}"
    if kind == "vitals_alert":
        return f"ALERT {d['message']}"
    if kind == "session_facts":
        taken = [k for k, v in (d.get("medications") or {}).items() if v]
        meds = ", ".join(taken) if taken else ("none" if d.get("medications") else "not asked")
        first = {True: "yes", False: "no", None: "not asked"}[d.get("first_treatment")]
        return f"session facts: concomitant medications {meds}; first treatment {first}"
    if kind == "ready_to_leave":
        return "judged ready to leave"
    if kind == "stop_reason":
        return f"stopped before the discharge floor: {d['reason']}"
    if kind == "daemon_stopped":
        return "the room daemon stopped; the session resumes when it starts again"
    return kind.replace("_", " ")


def _dur(seconds: float) -> str:
    from setandsetting.core.units import format_duration

    return format_duration(seconds)


def _clock(seconds: float) -> str:
    from setandsetting.core.units import format_clock

    return format_clock(seconds)
