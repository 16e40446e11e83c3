"""`log export SESSION --format rems`: the esketamine REMS Patient Monitoring Form, filled.

Every field of the form, in its order, filled from the journal's clinical record
(journal/clinical.py) where the journal holds the answer, and left BLANK — marked so, for
the clinician to complete — where it does not. Nothing is inferred beyond arithmetic on
what was journaled: a yes/no the journal cannot answer (respiratory depression, say) is
blank, with the readings that bear on it shown beside it. The total monitoring time runs
from the first dose to the session's end.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from setandsetting.core.dose import MED_CLASSES
from setandsetting.core.units import format_clock
from setandsetting.core.vitals import format_value
from setandsetting.journal.clinical import ClinicalRecord, ReadingRecord
from setandsetting.journal.review import SessionReview

BLANK = "BLANK (not recorded; complete by hand)"
MINIMUM_MONITORING_MIN = 120.0
MED_LABELS = {
    "benzodiazepines": "Benzodiazepines",
    "non-benzodiazepine sedative-hypnotics": "Non-benzodiazepine sedative-hypnotics",
    "psychostimulants": "Psychostimulants (e.g. amphetamines, methylphenidate, modafinil)",
    "maois": "Monoamine oxidase inhibitors (MAOIs)",
    "opioids": "Opioids",
}


@dataclass(frozen=True, slots=True)
class Field:
    section: str
    label: str
    value: str | None  # None: blank on the form

    @property
    def shown(self) -> str:
        return BLANK if self.value is None else self.value


def _yes_no(value: bool | None) -> str | None:
    return None if value is None else ("Yes" if value else "No")


def _bp(record: ClinicalRecord, reading: ReadingRecord | None) -> str | None:
    if reading is None:
        return None
    first = record.first_dose_s
    rel = ""
    if first is not None:
        minutes = (reading.t - first) / 60.0
        side = "after" if minutes >= 0 else "before"
        rel = f", {round(abs(minutes), 1):g} min {side} the first dose"
    return f"{format_value('bp', reading.values['bp'])} mm[Hg] at {_time(reading)}{rel}"


def _time(reading: ReadingRecord) -> str:
    return f"{reading.wall[11:16]} UTC" if reading.wall else format_clock(reading.t)


def _range(record: ClinicalRecord, measure: str, unit: str) -> str:
    values = [r.values[measure] for r in record.readings if measure in r.values]
    if not values:
        return f"no {measure} journaled"
    return f"{measure} {min(values)}-{max(values)}{unit} ({len(values)} readings)"


def rems_fields(review: SessionReview) -> list[Field]:
    """The form's fields in order, each with its value from the journal or None."""
    c = review.clinical
    facts = c.facts or {}
    meds = facts.get("medications") or {}
    date = f"{review.started_wall:%Y-%m-%d}"
    fields = [
        Field("Patient", "Patient name", None),
        Field("Patient", "Date of birth", None),
        Field("Patient", "Patient ID (pseudonymous)", review.patient),
        Field("Healthcare setting", "Healthcare setting name", None),
        Field("Healthcare setting", "Healthcare setting REMS ID", None),
        Field("Healthcare setting", "Prescriber name", None),
        Field("Treatment session", "Date of treatment session", date),
        Field("Treatment session", "Is this the patient's first treatment session?",
              _yes_no(facts.get("first_treatment"))),
    ]  # fmt: skip
    for name in MED_CLASSES:
        fields.append(
            Field(
                "Concomitant medications",
                MED_LABELS[name],
                _yes_no(meds[name]) if name in meds else None,
            )
        )
    esk = [d for d in c.doses if d.name == "esketamine"]
    total = sum(d.amount for d in esk if d.unit == "mg")
    fields += [
        Field("Dose", "Dose administered", f"{total:g} mg" if esk else None),
        Field("Dose", "Device lot number(s)",
              ", ".join(dict.fromkeys(d.lot for d in esk if d.lot)) or None),
        Field("Dose", "Time of first device",
              (f"{esk[0].wall[11:16]} UTC" if esk[0].wall else format_clock(esk[0].t))
              if esk else None),
        Field("Blood pressure", "Before the dose", _bp(c, c.bp_before_dose())),
        Field("Blood pressure", "About 40 minutes after the dose", _bp(c, c.bp_after_dose())),
        Field("Blood pressure", "Before the patient left", _bp(c, c.bp_at_end())),
        Field("Monitoring", "Pulse oximetry during the session", _range(c, "spo2", "%")
              if any("spo2" in r.values for r in c.readings) else None),
    ]  # fmt: skip
    minutes = c.monitoring_minutes()
    fields.append(
        Field(
            "Monitoring",
            "Total monitoring time from the first device (minutes; at least 120)",
            None
            if minutes is None
            else f"{minutes:g}"
            + ("" if minutes >= MINIMUM_MONITORING_MIN else " (LESS THAN THE 2-HOUR MINIMUM)"),
        )
    )
    sedated = c.any_reading("sedation", lambda v: v < 5)
    dissociated = c.any_reading("dissociation", bool)
    fields += [
        Field("During the session, did the patient experience", "Sedation (MOAA/S below 5)",
              _yes_no(sedated)),
        Field("During the session, did the patient experience", "Dissociation",
              _yes_no(dissociated)),
        Field("During the session, did the patient experience",
              f"Respiratory depression (judge by hand: {_range(c, 'spo2', '%')}; "
              f"{_range(c, 'rr', '/min')})", None),
        Field("During the session, did the patient experience",
              "Blood pressure increase that required attention",
              "; ".join(f"{a.message} at {format_clock(a.t)}" for a in c.alerts
                        if a.what.startswith("bp")) or None),
    ]  # fmt: skip
    ready = None
    if c.ready_s is not None and c.first_dose_s is not None:
        ready = f"{round((c.ready_s - c.first_dose_s) / 60.0, 1):g} minutes after the first device"
    fields += [
        Field(
            "Evaluation",
            "If there were no 2-hour minimum, when would this patient have been ready to leave?",
            ready,
        ),
        Field("Evaluation", "Stopped before the discharge floor, because", c.stop_reason),
        Field("Signature", "Healthcare provider name and signature", None),
        Field("Signature", "Date", None),
    ]
    return fields


PRINT_CSS = """\
body { font: 11pt/1.4 system-ui, sans-serif; color: #111; background: #fff; margin: 1.5cm; }
h1 { font-size: 15pt; margin: 0 0 .2em; } h2 { font-size: 11pt; margin: 1em 0 .2em; }
table { border-collapse: collapse; width: 100%; }
td { border: 1px solid #999; padding: .25em .5em; vertical-align: top; }
td.label { width: 55%; } td.blank { color: #8a1c1c; font-style: italic; }
p.note { font-size: 9pt; color: #444; }
"""


def to_rems(review: SessionReview) -> str:
    """The filled form as a printable HTML page."""
    rows: list[str] = []
    section = None
    for f in rems_fields(review):
        if f.section != section:
            if section is not None:
                rows.append("</table>")
            section = f.section
            rows.append(f"<h2>{html.escape(section)}</h2><table>")
        cls = "blank" if f.value is None else "value"
        rows.append(
            f'<tr><td class="label">{html.escape(f.label)}</td>'
            f'<td class="{cls}">{html.escape(f.shown)}</td></tr>'
        )
    rows.append("</table>")
    title = f"REMS Patient Monitoring Form — session {review.session_id}"
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{PRINT_CSS}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        '<p class="note">Filled from the session journal of setandsetting. Fields marked BLANK '
        "were not recorded in the journal and must be completed by hand; nothing on this page "
        "is estimated.</p>\n" + "\n".join(rows) + "\n</body></html>\n"
    )
