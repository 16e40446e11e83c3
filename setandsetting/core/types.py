"""Pydantic field types for what users write: durations, levels, gains, slugs."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

from setandsetting.core.units import parse_duration, parse_gain_db, parse_level

Duration = Annotated[float, BeforeValidator(parse_duration)]
Level = Annotated[float, BeforeValidator(parse_level)]
GainDb = Annotated[float, BeforeValidator(parse_gain_db)]

Shape = Literal["linear", "s-curve", "exponential", "logarithmic", "hold"]
Audience = Literal["patient", "staff", "both"]

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PATIENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def _slug(value: object) -> str:
    if not isinstance(value, str) or not SLUG.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a valid id: use lower-case letters, digits, - and _ "
            "(e.g. peak, return-1)"
        )
    return value


Slug = Annotated[str, BeforeValidator(_slug)]


def is_patient_id(value: str) -> bool:
    """The one pattern a pseudonymous patient ID must match, everywhere."""
    return bool(PATIENT_ID.fullmatch(value))


def check_patient_id(value: str) -> str:
    if not is_patient_id(value):
        raise ValueError(
            f"{value!r} is not a patient ID: 1-64 characters, letters, digits, - and _, "
            "starting with a letter or digit"
        )
    return value


class Frozen(BaseModel):
    """Immutable, and unknown keys are errors (the loader adds "did you mean")."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)
