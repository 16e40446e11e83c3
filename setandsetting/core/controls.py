"""Controls a clinician (or a device) applies to a running session, and their text form.

The text form is shared by `rehearse --control T:ACTION`, the CLI, the API and the MIDI
map: `extend 10m`, `next`, `pause`, `resume`, `skip`, `level -2dB`, `level +5%`,
`level 40%`, `level up`, `level down`, `quiet`, `ack [ID] [READINGS]`, `dismiss [ID]
REASON`, `note TEXT`, `stop [REASON]`, and for the clinical record `dose NAME AMOUNT
[route=R] [lot=L]` and `ready`.

`ack` takes readings after the optional check-in id (`ack arrival.0.0 bp=150/95 hr=88`,
core/vitals.py), checked here: an implausible value is refused before anything reaches
the engine, so nothing is journaled. `stop` may carry the reason for ending before the
discharge floor (`stop patient asked to leave`); a stop typed by a person always carries
`data` (its reason, possibly empty), so the handler holds it to the floor, while the
program's own stops (a rehearsal's end, `run`'s confirmed Ctrl-C) carry none.

A level with a sign is a change (`-6dB`, `+3dB`, `-5%`), one without a sign is where to
set it (`40%`); a number without a unit is refused, since `level 5` could mean either.
`level up` and `level down` are the one fixed step (LEVEL_STEP_DB) every surface offers:
the Live page's buttons, the CLI and the foot switch's default map.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from setandsetting.core.dose import parse_dose
from setandsetting.core.units import parse_duration, parse_level
from setandsetting.core.vitals import parse_readings

USER_ACTIONS = (
    "extend",
    "next",
    "pause",
    "resume",
    "skip",
    "level",
    "quiet",
    "ack",
    "dismiss",
    "note",
    "stop",
    "dose",
    "ready",
)
NEEDS_VALUE = frozenset({"extend", "level", "note", "dismiss", "dose"})  # refused without one
ALIASES = {"hold": "pause", "advance": "next", "acknowledge": "ack"}
LEVEL_STEP_DB = 2.0  # `level up` / `level down`: a step heard alike at any level
LEVEL_WORDS = {"up": LEVEL_STEP_DB, "down": -LEVEL_STEP_DB}
LEVEL_GRAMMAR = (
    f"write level up or level down (a {LEVEL_STEP_DB:g}dB step), a change (level -2dB, "
    "level +3dB, level -5%) or a level (level 40%)"
)
MAX_LEVEL_STEP_DB = 40.0  # a relative change in dB, either way
MAX_CONTROL_AGE_S = 5.0  # a control pressed longer ago than this is refused, never applied late
DISMISS_GRAMMAR = "write dismiss [ID] REASON, e.g. dismiss peak.0.1 vitals taken by hand"
CHECKIN_ID = re.compile(r"[a-z0-9][a-z0-9_-]*\.\d+\.\d+")  # <phase>.<rule>.<occurrence>
LevelUnit = Literal["%", "dB"]
_RELATIVE = re.compile(r"([+-])\s*(\d+(?:\.\d+)?)\s*(%|db)", re.IGNORECASE)
_ABSOLUTE = re.compile(r"(\d+(?:\.\d+)?)\s*%")


@dataclass(frozen=True, slots=True)
class Control:
    """One control. `value` is seconds (extend), a level change in `unit` or an absolute
    level 0..1 (level), text (note), a check-in id (ack, dismiss; None: every waiting one);
    `message` is dismiss's reason (and a device's words for track_failed)."""

    action: str
    value: float | str | None = None
    absolute: bool = False  # level: set to `value` (0..1) instead of nudging by it
    unit: LevelUnit = "%"  # level change: percent of the level, or dB
    voice: int | None = None  # track_failed / track_finished: which voice
    message: str | None = None
    data: dict[str, Any] | None = None  # ack: readings; dose: the dose; stop: reason; facts

    @property
    def readings(self) -> dict[str, Any]:
        """An ack's readings as plain fields (empty when none were given)."""
        return dict((self.data or {}).get("readings") or {})

    def describe(self) -> str:
        if self.action == "extend" and isinstance(self.value, float):
            from setandsetting.core.units import format_duration

            return f"extend {format_duration(self.value)}"
        if self.action == "level" and self.value is not None:
            if self.absolute:
                return f"level {float(self.value) * 100:.0f}%"
            return f"level {float(self.value):+g}{self.unit}"
        if self.action == "ack" and self.readings:
            from setandsetting.core.vitals import format_value

            words = [str(self.value)] if self.value else []
            words += [f"{k}={format_value(k, v)}" for k, v in self.readings.items() if k != "note"]
            if "note" in self.readings:
                words.append(f"note={self.readings['note']}")
            return "ack " + " ".join(words)
        if self.action == "dose" and self.data:
            d = self.data
            words = [d["name"], f"{d['amount']:g}{d['unit']}"]
            words += [f"{k}={d[k]}" for k in ("route", "lot") if d.get(k)]
            return "dose " + " ".join(words)
        if self.action == "stop" and self.data and self.data.get("reason"):
            return f"stop {self.data['reason']}"
        if self.action == "dismiss":
            return " ".join(str(x) for x in ("dismiss", self.value, self.message) if x)
        return self.action if self.value in (None, "") else f"{self.action} {self.value}"


def parse_control(text: str) -> Control:
    """`extend 10m` -> Control("extend", 600.0). Raises ValueError with a clear message."""
    words = text.strip().split(None, 1)
    if not words:
        raise ValueError("an action is expected, e.g. extend 10m, next, ack, quiet")
    action = ALIASES.get(words[0].lower(), words[0].lower())
    arg = words[1].strip() if len(words) > 1 else ""
    if action not in USER_ACTIONS:
        from difflib import get_close_matches

        hint = get_close_matches(action, USER_ACTIONS, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else f" (one of {', '.join(USER_ACTIONS)})"
        raise ValueError(f"unknown action {words[0]!r}{extra}")
    if action == "extend":
        if not arg:
            raise ValueError("extend needs a duration, e.g. extend 10m")
        return Control("extend", parse_duration(arg))
    if action == "level":
        return _parse_level(arg)
    if action == "note":
        if not arg:
            raise ValueError("a note needs some text")
        return Control("note", arg)
    if action == "ack":
        return _parse_ack(arg)
    if action == "dismiss":
        return _parse_dismiss(arg)
    if action == "dose":
        return Control("dose", data=parse_dose(arg).to_fields())
    if action == "stop":
        return Control("stop", data={"reason": arg})
    if arg:
        raise ValueError(f"{action} takes no argument")
    return Control(action)


def _parse_ack(arg: str) -> Control:
    """`ack [ID] [bp=S/D ...]`: the first word is an id unless it is a reading."""
    first, _, rest = arg.partition(" ")
    cid = None
    if first and "=" not in first:
        cid, arg = first, rest
    readings = parse_readings(arg)
    return Control("ack", cid, data={"readings": readings.to_fields()} if readings else None)


def _parse_dismiss(arg: str) -> Control:
    """`dismiss peak.0.1 taken by hand` (that one) or `dismiss taken by hand` (all waiting)."""
    first, _, rest = arg.partition(" ")
    cid = first if CHECKIN_ID.fullmatch(first) else None
    reason = (rest if cid else arg).strip()
    if not reason:
        raise ValueError(f"dismissing a check-in needs a reason; {DISMISS_GRAMMAR}")
    return Control("dismiss", cid, message=reason)


def _parse_level(arg: str) -> Control:
    if arg.lower() in LEVEL_WORDS:
        return Control("level", LEVEL_WORDS[arg.lower()], unit="dB")
    if m := _RELATIVE.fullmatch(arg):
        value = float(m.group(2)) * (1.0 if m.group(1) == "+" else -1.0)
        unit: LevelUnit = "%" if m.group(3) == "%" else "dB"
        if unit == "%" and abs(value) > 100.0:
            raise ValueError(f"level {arg}: a change is at most 100% either way")
        if unit == "dB" and abs(value) > MAX_LEVEL_STEP_DB:
            raise ValueError(f"level {arg}: a change is at most {MAX_LEVEL_STEP_DB:g}dB either way")
        return Control("level", value, unit=unit)
    if _ABSOLUTE.fullmatch(arg):
        try:
            return Control("level", parse_level(arg.replace(" ", "")), absolute=True)
        except ValueError as err:
            raise ValueError(f"level {arg}: {err}; {LEVEL_GRAMMAR}") from None
    if not arg:
        raise ValueError(f"level needs a change or a level; {LEVEL_GRAMMAR}")
    raise ValueError(f"'level {arg}' is not a level change; {LEVEL_GRAMMAR}")


def stale_reason(pressed_at: float, now: float, limit: float = MAX_CONTROL_AGE_S) -> str | None:
    """Why a control pressed at wall time `pressed_at` (epoch seconds) is not applied at
    `now`, or None: one pressed on a screen that had frozen must not act seconds later."""
    age = now - pressed_at
    if age <= limit:
        return None
    return (
        f"not applied: pressed {age:.0f}s ago, while the screen was not live "
        f"(a control older than {limit:g}s is never applied late); press it again if still wanted"
    )


def parse_timed_control(text: str) -> tuple[float, Control]:
    """`20m:extend 10m` -> (1200.0, Control(...)); the time is session time."""
    when, sep, action = text.partition(":")
    # `1:20:00:next` — the action starts after the last part that parses as a time.
    if sep and re.fullmatch(r"\d+", when) and ":" in action:
        head, _, rest = action.partition(":")
        if re.fullmatch(r"\d+(?::\d+)?", head):
            when, action = f"{when}:{head}", rest
            if ":" in action and re.fullmatch(r"\d+", action.partition(":")[0]):
                extra, _, action = action.partition(":")
                when = f"{when}:{extra}"
    if not sep or not action.strip():
        raise ValueError(f"{text!r}: write TIME:ACTION, e.g. 20m:extend 10m or 31m:ack")
    try:
        t = parse_duration(when)
    except ValueError as err:
        raise ValueError(f"{text!r}: {err}") from None
    try:
        return t, parse_control(action)
    except ValueError as err:
        raise ValueError(f"{text!r}: {err}") from None
