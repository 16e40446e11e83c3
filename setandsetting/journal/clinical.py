"""A session's clinical record, read from its journal: doses, readings, alerts, the facts.

Pure, like the review: one reading of the events that `log show`, the Review page, the
REMS and FHIR exports and a patient's course all share, so none of them can disagree
about what was given and measured. Nothing here is inferred: a reading not journaled is
absent (None), never estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from setandsetting.core.units import format_clock
from setandsetting.core.vitals import MEASURES, format_value

# The REMS form's BP times: before the dose, about 40 minutes after it, at the end.
POST_DOSE_S = 40 * 60.0
POST_DOSE_WINDOW_S = 15 * 60.0  # a reading 25-55 min after the dose counts as "+40 min"


@dataclass(frozen=True, slots=True)
class DoseRecord:
    t: float
    wall: str | None
    n: int
    name: str
    amount: float
    unit: str
    route: str | None
    lot: str | None

    @property
    def text(self) -> str:
        lot = f" lot {self.lot}" if self.lot else ""
        return f"{self.name} {self.amount:g} {self.unit} {self.route or ''}{lot}".strip()


@dataclass(frozen=True, slots=True)
class ReadingRecord:
    t: float
    wall: str | None
    checkin: str | None
    kind: str | None
    values: dict[str, Any]  # measure -> value as journaled (bp: [S, D])
    note: str | None
    skipped: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AlertRecord:
    t: float
    what: str
    value: str
    threshold: str
    message: str


@dataclass(frozen=True, slots=True)
class ClinicalRecord:
    doses: tuple[DoseRecord, ...]
    readings: tuple[ReadingRecord, ...]
    alerts: tuple[AlertRecord, ...]
    facts: dict[str, Any] | None  # session_facts as journaled, None when not recorded
    ready_s: float | None
    stop_reason: str | None
    skipped: tuple[tuple[float, str, tuple[str, ...]], ...]  # (t, check-in, measures) unread
    ended_s: float | None

    @property
    def first_dose_s(self) -> float | None:
        return self.doses[0].t if self.doses else None

    def monitoring_minutes(self) -> float | None:
        """From the first dose to the session's end (the REMS total), None without both."""
        if self.first_dose_s is None or self.ended_s is None:
            return None
        return round((self.ended_s - self.first_dose_s) / 60.0, 1)

    def bp_before_dose(self) -> ReadingRecord | None:
        """The last BP before the first dose."""
        first = self.first_dose_s
        before = [r for r in self._bps() if first is None or r.t <= first]
        return before[-1] if before and first is not None else None

    def bp_after_dose(self) -> ReadingRecord | None:
        """The BP nearest 40 minutes after the first dose, within 25-55 minutes."""
        first = self.first_dose_s
        if first is None:
            return None
        near = [r for r in self._bps() if abs(r.t - first - POST_DOSE_S) <= POST_DOSE_WINDOW_S]
        return min(near, key=lambda r: abs(r.t - first - POST_DOSE_S)) if near else None

    def bp_at_end(self) -> ReadingRecord | None:
        """The last BP of the session, if it came after the +40 min one."""
        bps = self._bps()
        after = self.bp_after_dose()
        last = bps[-1] if bps else None
        if last is None or last is after or last is self.bp_before_dose():
            return None
        return last

    def _bps(self) -> list[ReadingRecord]:
        return [r for r in self.readings if "bp" in r.values]

    def any_reading(self, measure: str, test: Any) -> bool | None:
        """Whether a journaled value of `measure` passes `test`; None when none was taken."""
        values = [r.values[measure] for r in self.readings if measure in r.values]
        return None if not values else any(test(v) for v in values)


def clinical_record(events: list[dict[str, Any]]) -> ClinicalRecord:
    """The clinical record in one session's events."""
    doses, readings, alerts, skipped = [], [], [], []
    facts = None
    ready = None
    reason = None
    ended = None
    for ev in events:
        kind = ev["type"]
        if kind == "dose_given":
            doses.append(
                DoseRecord(
                    ev["t"],
                    ev.get("wall"),
                    int(ev.get("n", len(doses) + 1)),
                    str(ev["name"]),
                    float(ev["amount"]),
                    str(ev["unit"]),
                    ev.get("route"),
                    ev.get("lot"),
                )
            )
        elif kind == "vitals_recorded":
            readings.append(
                ReadingRecord(
                    ev["t"],
                    ev.get("wall"),
                    ev.get("checkin"),
                    ev.get("kind"),
                    dict(ev.get("readings") or {}),
                    ev.get("note"),
                    tuple(ev.get("skipped") or ()),
                )
            )
        elif kind == "vitals_alert":
            alerts.append(
                AlertRecord(
                    ev["t"], str(ev["what"]), str(ev["value"]), str(ev["threshold"]),
                    str(ev.get("message", "")),
                )
            )  # fmt: skip
        elif kind == "checkin_acknowledged" and ev.get("skipped"):
            skipped.append((ev["t"], str(ev["id"]), tuple(ev["skipped"])))
        elif kind == "session_facts" and facts is None:
            facts = {k: v for k, v in ev.items() if k not in ("type", "t", "wall")}
        elif kind == "ready_to_leave" and ready is None:
            ready = ev["t"]
        elif kind == "stop_reason":
            reason = str(ev.get("reason", ""))
        elif kind == "session_ended":
            ended = ev["t"]
    return ClinicalRecord(
        tuple(doses), tuple(readings), tuple(alerts), facts, ready, reason, tuple(skipped), ended
    )


def since_dose(record: ClinicalRecord, t: float) -> str:
    """`+0:40:00` from the first dose, or `-0:05:00` before it; blank without a dose."""
    first = record.first_dose_s
    if first is None:
        return ""
    sign = "-" if t < first else "+"
    return sign + format_clock(abs(t - first))


def clinical_tables(record: ClinicalRecord) -> list[tuple[str, list[str], list[list[str]]]]:
    """The record's sections as (title, headers, rows), as review_tables gives them."""
    vitals_rows = []
    for r in record.readings:
        cells = [format_value(m, r.values[m]) if m in r.values else "" for m in MEASURES]
        vitals_rows.append(
            [
                format_clock(r.t),
                since_dose(record, r.t),
                r.checkin or "(no check-in)",
                *cells,
                r.note or "",
            ]
        )
    for t, checkin, measures in record.skipped:
        if not any(r.checkin == checkin for r in record.readings):
            vitals_rows.append(
                [
                    format_clock(t),
                    since_dose(record, t),
                    checkin,
                    *[""] * len(MEASURES),
                    f"acknowledged without a reading (asked: {', '.join(measures)})",
                ]
            )
        else:
            row = next(v for v in vitals_rows if v[2] == checkin)
            row[-1] = "; ".join(x for x in (row[-1], f"not taken: {', '.join(measures)}") if x)
    vitals_rows.sort(key=lambda row: (row[0].rjust(9), row[2]))
    return [
        (
            "Doses",
            ["time", "dose", "medication", "amount", "route", "lot"],
            [
                [
                    format_clock(d.t),
                    str(d.n),
                    d.name,
                    f"{d.amount:g} {d.unit}",
                    d.route or "",
                    d.lot or "",
                ]
                for d in record.doses
            ],
        ),
        (
            "Vitals",
            [
                "time",
                "from dose",
                "check-in",
                "BP",
                "HR",
                "SpO2",
                "RR",
                "MOAA/S",
                "dissoc.",
                "note",
            ],
            vitals_rows,
        ),
        (
            "Alerts",
            ["time", "alert", "value", "threshold"],
            [[format_clock(a.t), a.message, a.value, a.threshold] for a in record.alerts],
        ),
    ]


def clinical_header(record: ClinicalRecord) -> list[tuple[str, str]]:
    """The facts, ready and the early stop's reason, as header lines (when recorded)."""
    out = []
    facts = record.facts
    if facts:
        meds = facts.get("medications") or {}
        taken = [k for k, v in meds.items() if v]
        if meds:
            out.append(("Meds", ", ".join(taken) if taken else "none of the REMS classes"))
        first = facts.get("first_treatment")
        if first is not None:
            out.append(("First tx", "yes" if first else "no"))
        if facts.get("intention"):
            out.append(("Intention", str(facts["intention"])))
    minutes = record.monitoring_minutes()
    if minutes is not None:
        out.append(("Monitored", f"{minutes:g} min from the first dose"))
    if record.ready_s is not None:
        ready = record.ready_s
        out.append(("Ready", f"{format_clock(ready)} ({since_dose(record, ready)} from the dose)"))
    if record.stop_reason:
        out.append(("Stopped", f"before the discharge floor: {record.stop_reason}"))
    return out
