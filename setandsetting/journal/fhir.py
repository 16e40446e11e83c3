"""`log export SESSION --format fhir`: the session as an HL7 FHIR R4 Bundle (collection).

Built with the `fhir.resources` R4B models, so what a clinic's EHR receives has been
validated by the well-kept library: an Encounter, a Procedure for the session, a
MedicationAdministration per dose (amount, route; the lot on a contained Medication's
batch, where R4 keeps it) and an Observation per measured value, category vital-signs,
LOINC coded with UCUM units: the BP panel 85354-9 with systolic 8480-6 and diastolic
8462-4 in mm[Hg], heart rate 8867-4, SpO2 2708-6 + 59408-5, respiratory rate 9279-1.
Sedation (MOAA/S) and dissociation have no LOINC code; they go as `exam` Observations with
their names as text. Times are the wall times journaled. The patient is referenced by the
pseudonymous ID only (an identifier, no Patient resource): nothing else about them leaves.
"""

from __future__ import annotations

import uuid
from typing import Any

from setandsetting.journal.clinical import ReadingRecord
from setandsetting.journal.review import SessionReview

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PATIENT_SYSTEM = "urn:setandsetting:patient"  # the room's pseudonymous IDs
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# (LOINC codes with display, UCUM unit) per measure that is a vital sign.
VITALS: dict[str, tuple[list[tuple[str, str]], str]] = {
    "hr": ([("8867-4", "Heart rate")], "/min"),
    "spo2": (
        [
            ("2708-6", "Oxygen saturation in Arterial blood"),
            ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        ],
        "%",
    ),
    "rr": ([("9279-1", "Respiratory rate")], "/min"),
}
BP_PANEL = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
UNIT_TEXT = {"/min": "/min", "%": "%", "mm[Hg]": "mmHg", "mg": "mg", "mcg": "ug", "g": "g",
             "ml": "mL", "mg/kg": "mg/kg"}  # fmt: skip
UCUM_CODE = {"mcg": "ug", "ml": "mL"}


def _uuid(session_id: str, name: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'setandsetting:{session_id}:{name}')}"


def _codes(codes: list[tuple[str, str]], text: str) -> dict[str, Any]:
    return {
        "coding": [{"system": LOINC, "code": c, "display": d} for c, d in codes],
        "text": text,
    }


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {
        "value": value,
        "unit": UNIT_TEXT.get(unit, unit),
        "system": UCUM,
        "code": UCUM_CODE.get(unit, unit),
    }


def _category(code: str) -> list[dict[str, Any]]:
    display = {"vital-signs": "Vital Signs", "exam": "Exam"}[code]
    return [{"coding": [{"system": CATEGORY, "code": code, "display": display}]}]


def _observations(reading: ReadingRecord, base: dict[str, Any]) -> list[dict[str, Any]]:
    """One Observation per measured value of a reading."""
    out: list[dict[str, Any]] = []
    values = reading.values
    if "bp" in values:
        s, d = values["bp"]
        out.append(
            {
                **base,
                "category": _category("vital-signs"),
                "code": _codes([BP_PANEL], "Blood pressure"),
                "component": [
                    {"code": _codes([SYSTOLIC], "Systolic"),
                     "valueQuantity": _quantity(s, "mm[Hg]")},
                    {"code": _codes([DIASTOLIC], "Diastolic"),
                     "valueQuantity": _quantity(d, "mm[Hg]")},
                ],
            }
        )  # fmt: skip
    for measure, (codes, unit) in VITALS.items():
        if measure in values:
            out.append(
                {
                    **base,
                    "category": _category("vital-signs"),
                    "code": _codes(codes, codes[-1][1]),
                    "valueQuantity": _quantity(values[measure], unit),
                }
            )
    if "sedation" in values:
        out.append(
            {**base, "category": _category("exam"),
             "code": {"text": "Sedation, Modified Observer's Assessment of Alertness/Sedation "
                              "(MOAA/S, 0-5)"},
             "valueInteger": values["sedation"]}
        )  # fmt: skip
    if "dissociation" in values:
        out.append(
            {**base, "category": _category("exam"), "code": {"text": "Dissociation"},
             "valueBoolean": bool(values["dissociation"])}
        )  # fmt: skip
    if reading.note:
        for item in out:
            item["note"] = [{"text": reading.note}]
    return out


def bundle_dict(review: SessionReview) -> dict[str, Any]:
    """The Bundle as a plain dict (validated by `to_fhir`)."""
    sid = review.session_id
    c = review.clinical
    subject = {"identifier": {"system": PATIENT_SYSTEM, "value": review.patient}}
    encounter_url = _uuid(sid, "encounter")
    start = review.started_wall.isoformat(timespec="milliseconds")
    end = review.ended_wall.isoformat(timespec="milliseconds") if review.ended_wall else None
    period = {"start": start, **({"end": end} if end else {})}
    finished = end is not None
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": encounter_url,
            "resource": {
                "resourceType": "Encounter",
                "identifier": [{"system": "urn:setandsetting:session", "value": sid}],
                "status": "finished" if finished else "in-progress",
                "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
                "subject": subject,
                "period": period,
            },
        },
        {
            "fullUrl": _uuid(sid, "procedure"),
            "resource": {
                "resourceType": "Procedure",
                "status": "completed" if finished else "in-progress",
                "code": {"text": f"Treatment session: {review.profile_name}"},
                "subject": subject,
                "encounter": {"reference": encounter_url},
                "performedPeriod": period,
                **({"note": [{"text": f"Stopped early: {c.stop_reason}"}]}
                   if c.stop_reason else {}),
            },
        },
    ]  # fmt: skip
    for d in c.doses:
        resource: dict[str, Any] = {
            "resourceType": "MedicationAdministration",
            "status": "completed",
            "subject": subject,
            "context": {"reference": encounter_url},
            "effectiveDateTime": d.wall or start,
            "dosage": {
                **({"route": {"text": d.route}} if d.route else {}),
                "dose": _quantity(d.amount, d.unit),
            },
        }
        if d.lot:
            resource["contained"] = [
                {"resourceType": "Medication", "id": "med", "code": {"text": d.name},
                 "batch": {"lotNumber": d.lot}}
            ]  # fmt: skip
            resource["medicationReference"] = {"reference": "#med", "display": d.name}
        else:
            resource["medicationCodeableConcept"] = {"text": d.name}
        entries.append({"fullUrl": _uuid(sid, f"dose-{d.n}"), "resource": resource})
    for i, reading in enumerate(c.readings):
        base = {
            "resourceType": "Observation",
            "status": "final",
            "subject": subject,
            "encounter": {"reference": encounter_url},
            "effectiveDateTime": reading.wall or start,
        }
        for j, obs in enumerate(_observations(reading, base)):
            entries.append({"fullUrl": _uuid(sid, f"reading-{i}-{j}"), "resource": obs})
    return {
        "resourceType": "Bundle",
        "identifier": {"system": "urn:setandsetting:session", "value": sid},
        "type": "collection",
        "timestamp": end or start,
        "entry": entries,
    }


def to_fhir(review: SessionReview) -> str:
    """The Bundle as FHIR JSON, validated by the R4B models on the way out."""
    from fhir.resources.R4B.bundle import Bundle  # loads the models only for this export

    bundle = Bundle.model_validate(bundle_dict(review))
    return bundle.model_dump_json(indent=2) + "\n"
