"""Alert thresholds for readings, and the alerts a reading raises.

Thresholds come from the profile's `alerts:`, else room.yaml's, else DEFAULTS, key by key:
a profile that names only `spo2_below` keeps the room's (or the default) BP alerts, since
losing a safety alert by naming another would surprise anyone. A key set to null turns
that alert off. The defaults are DESIGN.md's: BP above 140/90 before the first dose (the
esketamine label's "consider delaying"), BP at or above 180/110 at any time, SpO2 below
92 %, heart rate above 120 or below 45.

`above` is strict, `at_or_above` is not; a BP is outside a threshold when either its
systolic or its diastolic is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from setandsetting.core.types import Duration, Frozen
from setandsetting.core.vitals import Readings, format_value, parse_bp

BP_PATTERN = r"^\d{1,3}\s*/\s*\d{1,3}$"


def _bp(value: object) -> object:
    if value is None or isinstance(value, tuple):
        return value
    return parse_bp(str(value))


BpThreshold = Annotated[
    tuple[int, int] | None,
    BeforeValidator(
        _bp,
        json_schema_input_type=Annotated[str, Field(pattern=BP_PATTERN, description="S/D mm[Hg]")]
        | None,
    ),
]
Count = Annotated[int | None, Field(ge=0, le=300)]


class AlertSettings(Frozen):
    """`alerts:` as written in a profile or room.yaml: every key optional."""

    bp_pre_dose_above: BpThreshold = None
    bp_above: BpThreshold = None
    bp_at_or_above: BpThreshold = None
    hr_above: Count = None
    hr_below: Count = None
    spo2_below: Count = None
    rr_above: Count = None
    rr_below: Count = None
    sedation_below: Annotated[int | None, Field(ge=0, le=5)] = None
    recheck_after: Duration | None = None


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The thresholds in force for a session (None: that alert is off)."""

    bp_pre_dose_above: tuple[int, int] | None = (140, 90)
    bp_above: tuple[int, int] | None = None
    bp_at_or_above: tuple[int, int] | None = (180, 110)
    hr_above: int | None = 120
    hr_below: int | None = 45
    spo2_below: int | None = 92
    rr_above: int | None = None
    rr_below: int | None = None
    sedation_below: int | None = None
    recheck_after: float | None = None


DEFAULTS = Thresholds()
KEYS = tuple(AlertSettings.model_fields)


def merge(*layers: AlertSettings | None) -> Thresholds:
    """Thresholds from the layers, first named wins (profile, then room), else DEFAULTS."""
    values: dict[str, Any] = {}
    for key in KEYS:
        values[key] = getattr(DEFAULTS, key)
        for layer in layers:
            if layer is not None and key in layer.model_fields_set:
                values[key] = getattr(layer, key)
                break
    return Thresholds(**values)


@dataclass(frozen=True, slots=True)
class Alert:
    """A reading outside a threshold: `what` is the threshold's key."""

    what: str
    measure: str
    value: str
    threshold: str
    message: str


def _bp_text(bp: tuple[int, int]) -> str:
    return f"{bp[0]}/{bp[1]}"


def check(readings: Readings, thresholds: Thresholds, dosed: bool) -> list[Alert]:
    """The alerts these readings raise; `dosed`: the first dose has been given."""
    out: list[Alert] = []
    th = thresholds
    bp = readings.bp
    if bp is not None:
        value = _bp_text(bp)
        if not dosed and th.bp_pre_dose_above and _above(bp, th.bp_pre_dose_above):
            limit = _bp_text(th.bp_pre_dose_above)
            out.append(
                Alert(
                    "bp_pre_dose_above",
                    "bp",
                    value,
                    limit,
                    f"BP {value} above {limit} before the dose: consider delaying",
                )
            )
        if th.bp_at_or_above and _at_or_above(bp, th.bp_at_or_above):
            limit = _bp_text(th.bp_at_or_above)
            out.append(
                Alert("bp_at_or_above", "bp", value, limit, f"BP {value} at or above {limit}")
            )
        elif dosed and th.bp_above and _above(bp, th.bp_above):
            limit = _bp_text(th.bp_above)
            out.append(Alert("bp_above", "bp", value, limit, f"BP {value} above {limit}"))
    for measure, key, outside, word in (
        ("hr", "hr_above", int.__gt__, "above"),
        ("hr", "hr_below", int.__lt__, "below"),
        ("spo2", "spo2_below", int.__lt__, "below"),
        ("rr", "rr_above", int.__gt__, "above"),
        ("rr", "rr_below", int.__lt__, "below"),
        ("sedation", "sedation_below", int.__lt__, "below"),
    ):
        value = getattr(readings, measure)
        limit = getattr(th, key)
        if value is not None and limit is not None and outside(value, limit):
            name = {"hr": "HR", "spo2": "SpO2", "rr": "RR", "sedation": "MOAA/S"}[measure]
            unit = "%" if measure == "spo2" else ""
            text = format_value(measure, value)
            out.append(
                Alert(key, measure, text, str(limit), f"{name} {text}{unit} {word} {limit}{unit}")
            )
    return out


def _above(bp: tuple[int, int], limit: tuple[int, int]) -> bool:
    return bp[0] > limit[0] or bp[1] > limit[1]


def _at_or_above(bp: tuple[int, int], limit: tuple[int, int]) -> bool:
    return bp[0] >= limit[0] or bp[1] >= limit[1]


def describe(thresholds: Thresholds) -> list[str]:
    """The thresholds in force, one phrase each, for the Live page and `plan`."""
    th = thresholds
    out = []
    if th.bp_pre_dose_above:
        out.append(f"BP > {_bp_text(th.bp_pre_dose_above)} before the dose")
    if th.bp_above:
        out.append(f"BP > {_bp_text(th.bp_above)} after the dose")
    if th.bp_at_or_above:
        out.append(f"BP ≥ {_bp_text(th.bp_at_or_above)}")
    for key, text in (
        ("hr_above", "HR > {}"),
        ("hr_below", "HR < {}"),
        ("spo2_below", "SpO2 < {}%"),
        ("rr_above", "RR > {}"),
        ("rr_below", "RR < {}"),
        ("sedation_below", "MOAA/S < {}"),
    ):
        if getattr(th, key) is not None:
            out.append(text.format(getattr(th, key)))
    return out
