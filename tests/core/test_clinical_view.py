"""What the screens show of the clinical record: the dose clock, alerts, the intention."""

from setandsetting.core import session
from setandsetting.core.clinical_view import clinical_view
from setandsetting.core.controls import Control, parse_control
from tests.support.timelines import timeline

PROFILE = {
    "name": "view",
    "alerts": {"spo2_below": 94, "recheck_after": "10m", "hr_below": None},
    "phases": [
        {"id": "dosing", "duration": "10m"},
        {"id": "integration", "duration": "open",
         "not_before": {"after": "dosing", "at_least": "1h"}},
    ],
}  # fmt: skip


def test_the_view_follows_the_dose_the_alerts_and_the_intention():
    state, _ = session.start(timeline(PROFILE))
    state, _ = session.apply(state, Control("facts", data={"intention": "to rest"}), 0.0)
    state, _ = session.apply(state, parse_control("dose ketamine 35mg route=im"), 60.0)
    state, _ = session.apply(state, parse_control("ack spo2=91"), 120.0)
    view = clinical_view(state, 150.0)
    assert view == {
        "dose_t": 60.0,
        "since_dose_s": 90.0,
        "doses": 1,
        "alerts": [{"t": 120.0, "what": "spo2_below", "message": "SpO2 91% below 94%"}],
        "thresholds": ["BP > 140/90 before the dose", "BP ≥ 180/110", "HR > 120", "SpO2 < 94%"],
        "rechecks": [{"id": "recheck.0", "due_t": 720.0,
                      "why": "SpO2 (SpO2 91% below 94% at 0:02:00)"}],
        "ready_t": None,
        "discharge_floor_t": 3600.0,
        "intention": "",  # not yet: shown in the integration phase
    }  # fmt: skip
    state, _ = session.advance(state, 700.0)
    assert clinical_view(state, 700.0)["intention"] == "to rest"
