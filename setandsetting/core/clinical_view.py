"""What the screens show of the clinical record at t: the dose clock, the alerts raised,
the thresholds in force, readiness, the intention (in the integration phase), the rechecks
to come. Pure: derived from the session state, like the rest of the status."""

from __future__ import annotations

from typing import Any

from setandsetting.core.alerts import describe
from setandsetting.core.session import State, discharge_floor, dose_time

# Phases where the patient's intention is shown again: the return to ordinary awareness.
INTEGRATION_WORDS = ("integration", "return", "observation", "discharge")


def clinical_view(state: State, t: float) -> dict[str, Any]:
    c = state.clinical
    dosed = dose_time(state)
    floor = discharge_floor(state)
    integrating = any(w in state.plan.id for w in INTEGRATION_WORDS)
    return {
        "dose_t": dosed,
        "since_dose_s": None if dosed is None else max(0.0, t - dosed),
        "doses": c.doses,
        "alerts": [{"t": at, "what": what, "message": text} for at, what, text in c.alerts],
        "thresholds": describe(state.timeline.alerts),
        "rechecks": [{"id": r.id, "due_t": r.due_t, "why": r.why} for r in c.rechecks],
        "ready_t": c.ready_t,
        "discharge_floor_t": None if floor is None else floor[0],
        "intention": c.intention if integrating else "",
    }
