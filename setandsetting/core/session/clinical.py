"""The clinical record's controls: readings at an ack, the dose, the facts, ready, the floor.

Each is a handler like those in `handlers` (None when done, else the reason it refused).
Readings and doses were checked when the control was parsed (core/vitals.py,
core/dose.py); they are checked again here, since a resumed session replays them from the
journal. A reading outside a threshold raises `vitals_alert` for the staff (chimed on the
staff output only) and, when the thresholds say `recheck_after`, schedules a recheck.
"""

from __future__ import annotations

from dataclasses import replace

from setandsetting.core import alerts
from setandsetting.core.controls import Control
from setandsetting.core.dose import dose_from_fields, facts_from_fields
from setandsetting.core.session.moments import discharge_floor, dose_time
from setandsetting.core.session.state import Pending, Recheck
from setandsetting.core.session.transitions import Run
from setandsetting.core.units import format_clock, format_duration
from setandsetting.core.vitals import NAMES, UNITS, Readings, from_fields


def ack(run: Run, c: Control, t: float) -> str | None:
    """Acknowledge a check-in (the one named; else, with readings, the oldest waiting one
    that asks for any of them, or the oldest at all; without readings, every one waiting)
    and journal the readings that go with it. Check-ins wait until answered, so the oldest
    may be another kind (a device prompt): a BP typed without an id belongs with the BP
    check. Readings with no check-in waiting are journaled on their own: a measurement is
    never thrown away."""
    s = run.state
    readings = from_fields(c.readings) if c.readings else Readings()
    if c.value not in (None, ""):
        chosen = [p for p in s.pending if p.id == c.value]
        if not chosen:
            if not s.pending:
                return "no check-in is waiting"
            return f"no waiting check-in is called {c.value!r}"
    elif readings:
        given = set(readings.measured())
        asking = [p for p in s.pending if given & set(p.rule.record)]
        chosen = (asking or list(s.pending))[:1]
    else:
        chosen = list(s.pending)
        if not chosen:
            return "no check-in is waiting"
    given = set(readings.measured())
    for p in chosen:
        extra = {}
        if p.rule.record:
            extra = {
                "record": list(p.rule.record),
                "skipped": [m for m in p.rule.record if m not in given or p is not chosen[0]],
            }
        run.emit(
            "checkin_acknowledged",
            t,
            id=p.id,
            kind=p.rule.kind,
            latency_s=round(t - p.due_t, 3),
            **extra,
        )
    run.set(pending=tuple(p for p in s.pending if p not in chosen))
    if readings:
        _record(run, readings, chosen[0] if chosen else None, t)
    return None


def _record(run: Run, readings: Readings, checkin: Pending | None, t: float) -> None:
    s = run.state
    fields = readings.to_fields()
    note = fields.pop("note", None)
    asked = checkin.rule.record if checkin is not None else ()
    run.emit(
        "vitals_recorded",
        t,
        checkin=checkin.id if checkin else None,
        kind=checkin.rule.kind if checkin else None,
        readings=fields,
        units={m: UNITS[m] for m in fields},
        note=note,
        skipped=[m for m in asked if m not in fields],
        phase=s.plan.id,
    )
    dosed_at = dose_time(s)
    raised = alerts.check(readings, s.timeline.alerts, dosed_at is not None and dosed_at <= t)
    sound, level = s.timeline.staff_chime
    for alert in raised:
        run.emit(
            "vitals_alert",
            t,
            what=alert.what,
            measure=alert.measure,
            value=alert.value,
            threshold=alert.threshold,
            message=alert.message,
            checkin=checkin.id if checkin else None,
            audience="staff",
            sound=sound,
            level=round(level, 4),
        )
    if raised:
        shown = tuple((t, a.what, a.message) for a in raised)
        run.set(clinical=replace(run.state.clinical, alerts=run.state.clinical.alerts + shown))
    after = s.timeline.alerts.recheck_after
    if raised and after:
        measures = tuple(dict.fromkeys(a.measure for a in raised))
        n = s.clinical.rechecks_made
        names = " and ".join(NAMES[m] for m in measures)
        why = f"{names} ({'; '.join(a.message for a in raised)} at {format_clock(t)})"
        recheck = Recheck(f"recheck.{n}", t + after, measures, why)
        c = run.state.clinical
        run.set(clinical=replace(c, rechecks=(*c.rechecks, recheck), rechecks_made=n + 1))


def dose(run: Run, c: Control, t: float) -> str | None:
    """A dose given now; the first one starts the dose clock (pre-dose alerts end)."""
    if not c.data:
        return "dose needs a medication and an amount"
    given = dose_from_fields(c.data)
    s = run.state
    n = s.clinical.doses + 1
    first = s.clinical.first_dose_t if s.clinical.first_dose_t is not None else t
    run.set(clinical=replace(s.clinical, doses=n, first_dose_t=first))
    fields = given.to_fields()
    fields["route"] = fields["route"] or s.timeline.route
    run.emit("dose_given", t, n=n, **fields)
    return None


def facts(run: Run, c: Control, t: float) -> str | None:
    """The session facts given at the start (once)."""
    s = run.state
    if s.clinical.facts:
        return "the session facts are already recorded"
    given = facts_from_fields(c.data or {})
    run.set(clinical=replace(s.clinical, facts=True, intention=given.intention))
    run.emit("session_facts", t, **given.to_fields())
    return None


def ready(run: Run, c: Control, t: float) -> str | None:
    """The clinician judges the patient ready to leave (the REMS evaluation question)."""
    s = run.state
    if s.clinical.ready_t is not None:
        return f"ready to leave was recorded at {format_clock(s.clinical.ready_t)}"
    run.set(clinical=replace(s.clinical, ready_t=t))
    since = dose_time(s)
    run.emit("ready_to_leave", t, since_dose_s=None if since is None else round(t - since, 3))
    return None


def stop_floor(run: Run, c: Control, t: float) -> str | None:
    """A person's stop before the discharge floor needs a reason, which is journaled;
    None when the stop may go ahead."""
    if c.data is None:  # the program's own stop
        return None
    floor = discharge_floor(run.state)
    if floor is None:
        return None
    at, why = floor
    reason = str(c.data.get("reason") or "").strip()
    if not reason:
        when = (
            "its floor" if at is None else f"{format_clock(at)}, {format_duration(at - t)} from now"
        )
        return (
            f"the session may not end before {when} ({why}); to stop now, give the "
            "reason: stop REASON"
        )
    run.emit("stop_reason", t, reason=reason, floor_t=at, why=why)
    return None
