"""The dose and the session facts: what was given, and what the patient brings with them.

`dose NAME AMOUNT [route=R] [lot=L]` (`dose esketamine 56mg lot=A123`, `dose ketamine
35mg route=im`): the name must be one a KAP room gives (a typo in a drug's name must not
reach the record), the amount a number with a unit, the route one of the profile routes
(default: the profile's own), the lot the package's lot number.

The session facts are what the esketamine REMS form asks at each session: concomitant
medications by class (yes/no) and whether this is the first treatment, plus the intention
the patient set in preparation. A route in FACTS_ROUTES asks for them at the start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MEDICATIONS = (
    "esketamine",
    "ketamine",
    "psilocybin",
    "mdma",
    "midazolam",
    "lorazepam",
    "ondansetron",
    "clonidine",
    "labetalol",
    "glycopyrrolate",
)
ROUTES = ("im", "sublingual", "iv", "intranasal", "oral", "sc", "other")
UNITS = ("mg", "mcg", "g", "ml", "mg/kg")
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(mg/kg|mcg|µg|mg|ml|g)", re.IGNORECASE)
_LOT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}")
MAX_AMOUNT = {"mg": 2000.0, "mcg": 5000.0, "g": 10.0, "ml": 100.0, "mg/kg": 20.0}
GRAMMAR = "write dose NAME AMOUNT [route=R] [lot=L], e.g. dose esketamine 56mg lot=A123"

# The concomitant medication classes of the esketamine REMS Patient Monitoring Form.
MED_CLASSES = (
    "benzodiazepines",
    "non-benzodiazepine sedative-hypnotics",
    "psychostimulants",
    "maois",
    "opioids",
)
MED_ALIASES = {
    "benzodiazepine": "benzodiazepines",
    "benzos": "benzodiazepines",
    "hypnotics": "non-benzodiazepine sedative-hypnotics",
    "sedative-hypnotics": "non-benzodiazepine sedative-hypnotics",
    "z-drugs": "non-benzodiazepine sedative-hypnotics",
    "stimulants": "psychostimulants",
    "maoi": "maois",
    "opioid": "opioids",
}
FACTS_ROUTES = frozenset({"intranasal"})  # the esketamine REMS asks these at every session
INTENTION_MAX = 2000


@dataclass(frozen=True, slots=True)
class Dose:
    name: str
    amount: float
    unit: str
    route: str | None = None
    lot: str | None = None

    def to_fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "amount": self.amount,
            "unit": self.unit,
            "route": self.route,
            "lot": self.lot,
        }


def format_amount(amount: float, unit: str) -> str:
    return f"{amount:g} {unit}"


def parse_dose(text: str) -> Dose:
    """`esketamine 56mg lot=A123` -> Dose. Raises ValueError with a clear reason."""
    words = text.split()
    if not words:
        raise ValueError(f"dose needs a medication and an amount; {GRAMMAR}")
    name = words[0].lower()
    if name not in MEDICATIONS:
        from difflib import get_close_matches

        hint = get_close_matches(name, MEDICATIONS, n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else f" (one of {', '.join(MEDICATIONS)})"
        raise ValueError(f"unknown medication {words[0]!r}{extra}")
    if len(words) < 2 or "=" in words[1]:
        raise ValueError(f"dose {name} needs an amount, e.g. 56mg; {GRAMMAR}")
    rest = words[1:]
    amount_text = rest.pop(0)
    if rest and re.fullmatch(r"\d+(?:\.\d+)?", amount_text) and "=" not in rest[0]:
        amount_text += rest.pop(0)  # `56 mg`
    m = _AMOUNT.fullmatch(amount_text)
    if not m:
        raise ValueError(
            f"dose {name} {amount_text}: an amount is a number with a unit "
            f"({', '.join(UNITS)}), e.g. 56mg"
        )
    amount = float(m.group(1))
    unit = m.group(2).lower().replace("µg", "mcg")
    if amount <= 0 or amount > MAX_AMOUNT[unit]:
        raise ValueError(
            f"dose {name} {amount_text}: not a plausible amount (above 0, at most "
            f"{MAX_AMOUNT[unit]:g} {unit})"
        )
    options: dict[str, str] = {}
    for word in rest:
        key, eq, value = word.partition("=")
        key = key.lower()
        if not eq or key not in ("route", "lot") or not value:
            raise ValueError(f"dose: {word!r} is not route=R or lot=L; {GRAMMAR}")
        if key in options:
            raise ValueError(f"dose: {key} is given twice")
        options[key] = value
    route = options.get("route")
    if route is not None and route.lower() not in ROUTES:
        raise ValueError(f"dose: route {route!r} is not one of {', '.join(ROUTES)}")
    lot = options.get("lot")
    if lot is not None and not _LOT.fullmatch(lot):
        raise ValueError(f"dose: lot {lot!r}: letters, digits and . _ / - (at most 40)")
    return Dose(name, amount, unit, route.lower() if route else None, lot)


def dose_from_fields(data: dict[str, Any]) -> Dose:
    """The inverse of Dose.to_fields (the journal read back)."""
    return Dose(
        str(data["name"]),
        float(data["amount"]),
        str(data["unit"]),
        data.get("route"),
        data.get("lot"),
    )


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What is known at the start. `medications`: class -> taken (all classes, or empty
    when not asked); `first_treatment` None when not asked."""

    medications: dict[str, bool] = field(default_factory=dict)
    first_treatment: bool | None = None
    intention: str = ""

    def to_fields(self) -> dict[str, Any]:
        return {
            "medications": dict(self.medications),
            "first_treatment": self.first_treatment,
            "intention": self.intention,
        }

    def __bool__(self) -> bool:
        return bool(self.medications) or self.first_treatment is not None or bool(self.intention)


def parse_meds(text: str) -> dict[str, bool]:
    """`none`, or the classes taken, comma separated (`benzodiazepines,opioids`): every
    class answered yes or no."""
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if not words:
        raise ValueError("--meds: write none, or the classes taken: " + ", ".join(MED_CLASSES))
    if words == ["none"]:
        return dict.fromkeys(MED_CLASSES, False)
    taken = set()
    for word in words:
        name = MED_ALIASES.get(word, word)
        if name not in MED_CLASSES:
            from difflib import get_close_matches

            hint = get_close_matches(name, [*MED_CLASSES, *MED_ALIASES], n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ValueError(
                f"--meds: unknown class {word!r}{extra}; none, or of {', '.join(MED_CLASSES)}"
            )
        taken.add(name)
    return {name: name in taken for name in MED_CLASSES}


def parse_yes_no(text: str, what: str) -> bool:
    answer = {"yes": True, "y": True, "no": False, "n": False}.get(text.strip().lower())
    if answer is None:
        raise ValueError(f"{what}: write yes or no")
    return answer


def facts_from_fields(data: dict[str, Any]) -> SessionFacts:
    """Facts from a request or the journal: checked as the CLI checks them."""
    meds = data.get("medications") or {}
    if not isinstance(meds, dict) or any(k not in MED_CLASSES for k in meds):
        raise ValueError(f"medications: a yes/no for each of {', '.join(MED_CLASSES)}")
    if meds and set(meds) != set(MED_CLASSES):
        raise ValueError(f"medications: answer every class ({', '.join(MED_CLASSES)})")
    first = data.get("first_treatment")
    if first is not None and not isinstance(first, bool):
        raise ValueError("first_treatment: yes or no")
    intention = data.get("intention") or ""
    if not isinstance(intention, str) or len(intention) > INTENTION_MAX:
        raise ValueError(f"intention: text of at most {INTENTION_MAX} characters")
    return SessionFacts({k: bool(v) for k, v in meds.items()}, first, intention.strip())


def facts_missing(route: str, facts: SessionFacts) -> str | None:
    """Why a session of this route cannot start with these facts, or None."""
    if route not in FACTS_ROUTES:
        return None
    if not facts.medications:
        return (
            f"{_a(route)} session records concomitant medications: --meds none, or the "
            f"classes taken ({', '.join(MED_CLASSES)})"
        )
    if facts.first_treatment is None:
        return f"{_a(route)} session records whether it is the first treatment: --first yes|no"
    return None


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"
