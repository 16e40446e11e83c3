"""Pydantic field types for what users write: durations, levels, gains, slugs.

Each type parses what users write (`45s`, `70%`, `-2dB`) and says so in the JSON Schema
(`setandsetting schema`): a number, or a string with units matching the parser's pattern,
so the schema accepts exactly the files the loader does (ranges aside, which it states).
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from setandsetting.core.units import (
    DURATION_PATTERN,
    GAIN_PATTERN,
    LEVEL_PATTERN,
    MAX_DURATION_S,
    MAX_GAIN_DB,
    MIN_GAIN_DB,
    parse_duration,
    parse_gain_db,
    parse_level,
)

DurationText = Annotated[
    str,
    Field(pattern=DURATION_PATTERN, description="90s, 15m, 1h20m, 1h 20m 5s, 1:20:00 or 45"),
]


def duration_input(at_most: float = MAX_DURATION_S) -> Any:
    """What the JSON Schema takes for a duration: seconds up to `at_most`, or text."""
    return Annotated[float, Field(ge=0, le=at_most, description="seconds")] | DurationText


def bounded_duration(at_most: float, rule: str) -> Any:
    """A duration field with its own limit, and `rule`: the message that states it."""
    parse = partial(parse_duration, at_most=at_most, rule=rule)
    return Annotated[float, BeforeValidator(parse, json_schema_input_type=duration_input(at_most))]


Duration = Annotated[
    float, BeforeValidator(parse_duration, json_schema_input_type=duration_input())
]
Level = Annotated[
    float,
    BeforeValidator(
        parse_level,
        json_schema_input_type=Annotated[float, Field(ge=0, le=1, description="0..1 = 0-100%")]
        | Annotated[str, Field(pattern=LEVEL_PATTERN, description="40% or -18dB")],
    ),
]
GainDb = Annotated[
    float,
    BeforeValidator(
        parse_gain_db,
        json_schema_input_type=Annotated[
            float, Field(ge=MIN_GAIN_DB, le=MAX_GAIN_DB, description="dB")
        ]
        | Annotated[str, Field(pattern=GAIN_PATTERN, description="-2dB or +1.5dB")],
    ),
]

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


Slug = Annotated[
    str, BeforeValidator(_slug, json_schema_input_type=Annotated[str, Field(pattern=SLUG.pattern)])
]


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
