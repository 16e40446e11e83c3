"""Durations and levels as users write them, and the level <-> dB mapping.

Level is perceptual, 0..1 (shown as 0-100 %); amplitude = level**3, so
dB = 60*log10(level). That is libVLC's own volume scale: level 0.4 -> volume 40.
"""

from __future__ import annotations

import math
import re

# The forms a duration may be written in; the JSON Schema's pattern is built from the same
# pieces (units are spelt out in both cases, as JSON Schema patterns have no flags).
_NUMBER = r"\d+(?:\.\d+)?"
_CLOCK = r"(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)"
_UNIT = r"(?:[mM][sS]|[hHmMsS])"
_PARTS_OF = rf"(?:\s*{_NUMBER}\s*{_UNIT}\s*)+"
_HMS = re.compile(rf"^{_CLOCK}$")
_PARTS = re.compile(rf"({_NUMBER})\s*({_UNIT})")
_PARTS_ONLY = re.compile(rf"^{_PARTS_OF}$")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}

DURATION_PATTERN = rf"^\s*(?:{_NUMBER}|{_CLOCK}|{_PARTS_OF})\s*$"
LEVEL_PATTERN = rf"^\s*(?:{_NUMBER}\s*%|[+-]?{_NUMBER}\s*[dD][bB])\s*$"
GAIN_PATTERN = rf"^\s*[+-]?{_NUMBER}\s*[dD][bB]\s*$"

# No session lasts longer than this (two days), so no duration anyone writes does: the
# plan, a rehearsal and the preflight walk a session moment by moment, and an absurd
# length (`99999999999999999999h`) would keep them walking for ever.
MAX_DURATION_S = 48 * 3600.0
MAX_GAIN_DB = 24.0
MIN_GAIN_DB = -60.0

_DURATION_FORMS = "a duration is expected, e.g. 90s, 15m, 1h20m or 1:20:00"


def as_float(value: int | float) -> float:
    """A number as a float; an integer too large for one is no number anyone meant."""
    try:
        return float(value)
    except OverflowError:
        raise ValueError("this number is far too large") from None


def parse_duration(
    value: object, *, at_most: float = MAX_DURATION_S, rule: str | None = None
) -> float:
    """`90s`, `15m`, `1h20m`, `1h 20m 5s`, `1:20:00`, or a number of seconds -> seconds.

    `at_most` bounds it (by default the longest session) and `rule` is the message when
    it is longer: each field says its own limit.
    """
    if isinstance(value, bool):
        raise ValueError(_DURATION_FORMS)
    if isinstance(value, int | float):
        seconds = as_float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError(_DURATION_FORMS)
        if re.fullmatch(_NUMBER, text):
            seconds = float(text)
        elif m := _HMS.match(text):
            h, mnt, s = m.groups()
            if (int(mnt) >= 60 and h is not None) or float(s) >= 60:
                raise ValueError(f"{text!r} is not a valid h:mm:ss time")
            seconds = int(h or 0) * 3600 + int(mnt) * 60 + float(s)
        elif _PARTS_ONLY.match(text):
            seconds = sum(float(n) * _UNIT_S[u.lower()] for n, u in _PARTS.findall(text))
        else:
            raise ValueError(
                f"{text!r} is not a duration; write e.g. 90s, 15m, 1h20m, 1h 20m 5s or 1:20:00"
            )
    else:
        raise ValueError(_DURATION_FORMS)
    if math.isnan(seconds) or seconds < 0:
        raise ValueError("a duration must be a finite number of seconds, not negative")
    if seconds > at_most:  # infinity too: `1e400` in YAML, or 400 digits of hours
        limit = rule or f"a duration is at most {at_most / 3600:g}h, the longest session"
        raise ValueError(f"{_written(value)} is too long: {limit}")
    return seconds


def _written(value: object) -> str:
    """The value as the user wrote it, shortened if it is absurdly long."""
    text = str(value).strip() if isinstance(value, str) else f"{value:.6g}"
    return text if len(text) <= 24 else f"{text[:20]}…"


def format_duration(seconds: float) -> str:
    """Seconds -> `1h05m`, `12m30s`, `45s` (the way clinicians read a clock)."""
    total = round(seconds)
    sign = "-" if total < 0 else ""
    total = abs(total)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{sign}{h}h{m:02d}m" + (f"{s:02d}s" if s else "")
    if m:
        return f"{sign}{m}m" + (f"{s:02d}s" if s else "")
    return f"{sign}{s}s"


def format_clock(seconds: float) -> str:
    """Seconds -> `h:mm:ss`."""
    total = max(0, round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}"


def db_to_level(db: float) -> float:
    """dB relative to full scale -> perceptual level (0..1, may exceed 1 for positive dB)."""
    return 10.0 ** (db / 60.0)


def level_to_db(level: float) -> float:
    """Perceptual level -> dB; silence is -inf."""
    return -math.inf if level <= 0 else 60.0 * math.log10(level)


def level_to_amplitude(level: float) -> float:
    return max(0.0, level) ** 3


def amplitude_to_level(amplitude: float) -> float:
    return max(0.0, amplitude) ** (1.0 / 3.0)


def db_to_factor(db: float) -> float:
    """A gain in dB as a factor on the perceptual level (so it composes by multiplication)."""
    return db_to_level(db)


def parse_level(value: object) -> float:
    """`40%`, `-18dB` (or a number 0..1) -> perceptual level 0..1."""
    if isinstance(value, bool):
        raise ValueError("a level is expected, e.g. 40% or -18dB")
    if isinstance(value, int | float):
        level = as_float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if m := re.fullmatch(r"(\d+(?:\.\d+)?)%", text):
            level = float(m.group(1)) / 100.0
        elif m := re.fullmatch(r"([+-]?\d+(?:\.\d+)?)db", text, re.IGNORECASE):
            db = float(m.group(1))
            if db > 0:
                raise ValueError(f"{value!r}: a level cannot be above 0dB (100%)")
            level = db_to_level(db)
        else:
            raise ValueError(f"{value!r} is not a level; write e.g. 40% or -18dB")
    else:
        raise ValueError("a level is expected, e.g. 40% or -18dB")
    if not math.isfinite(level) or not 0.0 <= level <= 1.0:
        raise ValueError(f"{value!r}: a level must be between 0% and 100%")
    return level


def parse_gain_db(value: object) -> float:
    """`-2dB`, `+1.5dB` or a number -> dB (a gain may be positive; the cap still applies)."""
    if isinstance(value, bool):
        raise ValueError("a gain is expected, e.g. -2dB")
    if isinstance(value, int | float):
        db = as_float(value)
    elif isinstance(value, str) and (
        m := re.fullmatch(r"([+-]?\d+(?:\.\d+)?)\s*db", value.strip(), re.IGNORECASE)
    ):
        db = float(m.group(1))
    else:
        raise ValueError(f"{value!r} is not a gain; write e.g. -2dB or +1.5dB")
    if not MIN_GAIN_DB <= db <= MAX_GAIN_DB:
        raise ValueError(f"{value!r}: a gain must be between -60dB and +24dB")
    return db


def format_level(level: float) -> str:
    return f"{level * 100:.0f}%"
