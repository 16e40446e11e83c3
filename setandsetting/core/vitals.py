"""Vital-sign readings taken at a check-in: what staff write, checked, in fixed units.

Staff write readings as words after `ack`: `bp=132/84 hr=72 spo2=97 rr=14 sedation=5
dissociation=no note=calm, talking`. Each is checked against the range a living, measured
patient can show (DESIGN.md, "Clinical record"); anything else is a typo or a faulty
device, refused with the reason before anything is journaled. `note=` takes the rest of
the line, so a note may hold spaces.

The units are fixed, so a reading never needs one written: BP mm[Hg], HR and RR /min,
SpO2 %, sedation on the MOAA/S scale (0 unresponsive .. 5 alert), dissociation yes/no.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, Literal

Measure = Literal["bp", "hr", "spo2", "rr", "sedation", "dissociation"]
MEASURES: tuple[Measure, ...] = ("bp", "hr", "spo2", "rr", "sedation", "dissociation")
# UCUM units, as journaled and exported (FHIR Observation.valueQuantity.code).
UNITS: dict[str, str] = {
    "bp": "mm[Hg]",
    "hr": "/min",
    "spo2": "%",
    "rr": "/min",
    "sedation": "MOAA/S",
    "dissociation": "yes/no",
}
NAMES: dict[str, str] = {
    "bp": "blood pressure",
    "hr": "heart rate",
    "spo2": "SpO2",
    "rr": "respiratory rate",
    "sedation": "sedation (MOAA/S)",
    "dissociation": "dissociation",
}
SYSTOLIC = (60, 260)
DIASTOLIC = (30, 160)
RANGES: dict[str, tuple[int, int]] = {
    "hr": (25, 250),
    "spo2": (50, 100),
    "rr": (4, 60),
    "sedation": (0, 5),
}
NOTE_MAX = 1000  # characters: a reading's note is a line or two
GRAMMAR = "write readings as bp=S/D hr=N spo2=N rr=N sedation=0-5 dissociation=yes|no note=TEXT"
_BP = re.compile(r"(\d{1,3})\s*/\s*(\d{1,3})")
_INT = re.compile(r"\d{1,3}")
_YES = {"yes": True, "y": True, "true": True, "no": False, "n": False, "false": False}


@dataclass(frozen=True, slots=True)
class Readings:
    """What staff measured at one moment; None where nothing was measured."""

    bp: tuple[int, int] | None = None
    hr: int | None = None
    spo2: int | None = None
    rr: int | None = None
    sedation: int | None = None
    dissociation: bool | None = None
    note: str | None = None

    def measured(self) -> tuple[str, ...]:
        """The measures given (note aside), in MEASURES order."""
        return tuple(m for m in MEASURES if getattr(self, m) is not None)

    def __bool__(self) -> bool:
        return bool(self.measured()) or bool(self.note)

    def to_fields(self) -> dict[str, Any]:
        """The plain values, for the journal and the `control` event (JSON)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = list(value) if f.name == "bp" else value
        return out


def format_value(measure: str, value: Any) -> str:
    """`132/84`, `72`, `yes`: a reading as staff would write it."""
    if measure == "bp":
        return f"{value[0]}/{value[1]}"
    if measure == "dissociation":
        return "yes" if value else "no"
    return str(value)


def parse_bp(text: str) -> tuple[int, int]:
    """`132/84` -> (132, 84), within the plausible ranges, systolic above diastolic."""
    m = _BP.fullmatch(text.strip())
    if not m:
        raise ValueError(f"bp={text}: write systolic/diastolic in mm[Hg], e.g. bp=132/84")
    s, d = int(m.group(1)), int(m.group(2))
    if not SYSTOLIC[0] <= s <= SYSTOLIC[1]:
        raise ValueError(
            f"bp={text}: systolic {s} is not plausible ({SYSTOLIC[0]}-{SYSTOLIC[1]} mm[Hg])"
        )
    if not DIASTOLIC[0] <= d <= DIASTOLIC[1]:
        raise ValueError(
            f"bp={text}: diastolic {d} is not plausible ({DIASTOLIC[0]}-{DIASTOLIC[1]} mm[Hg])"
        )
    if s <= d:
        raise ValueError(f"bp={text}: the systolic must be above the diastolic")
    return s, d


def _parse_int(measure: str, text: str) -> int:
    low, high = RANGES[measure]
    unit = UNITS[measure]
    if not _INT.fullmatch(text.strip()):
        raise ValueError(f"{measure}={text}: write a whole number ({low}-{high} {unit})")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{measure}={text}: {value} is not plausible ({low}-{high} {unit})")
    return value


def parse_value(measure: str, text: str) -> Any:
    """One measure's value from its text, checked (ValueError with the reason)."""
    if measure == "bp":
        return parse_bp(text)
    if measure == "dissociation":
        answer = _YES.get(text.strip().lower())
        if answer is None:
            raise ValueError(f"dissociation={text}: write yes or no")
        return answer
    return _parse_int(measure, text)


def parse_readings(text: str) -> Readings:
    """`bp=132/84 hr=72 note=calm` -> Readings. Raises ValueError naming the bad word."""
    values: dict[str, Any] = {}
    rest = text.strip()
    while rest:
        word, _, after = rest.partition(" ")
        key, eq, value = word.partition("=")
        key = key.lower()
        if not eq:
            raise ValueError(f"{word!r} is not a reading; {GRAMMAR}")
        if key == "note":
            note = f"{value} {after}".strip()
            if not note:
                raise ValueError("note= needs some text")
            if len(note) > NOTE_MAX:
                raise ValueError(f"a reading's note is at most {NOTE_MAX} characters")
            values["note"] = note
            break
        if key not in MEASURES:
            from difflib import get_close_matches

            hint = get_close_matches(key, [*MEASURES, "note"], n=1)
            extra = f" (did you mean {hint[0]}=?)" if hint else f"; {GRAMMAR}"
            raise ValueError(f"unknown reading {key!r}{extra}")
        if key in values:
            raise ValueError(f"{key} is given twice")
        if not value:
            raise ValueError(f"{key}= needs a value; {GRAMMAR}")
        values[key] = parse_value(key, value)
        rest = after.strip()
    return Readings(**values)


def from_fields(data: dict[str, Any]) -> Readings:
    """The inverse of Readings.to_fields, checked again (the journal is read back)."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "note":
            values["note"] = str(value)
        elif key == "bp":
            values["bp"] = parse_bp(f"{value[0]}/{value[1]}")
        elif key == "dissociation":
            values["dissociation"] = bool(value)
        elif key in RANGES:
            values[key] = _parse_int(key, str(value))
        else:
            raise ValueError(f"unknown reading {key!r}")
    return Readings(**values)
