"""Alert thresholds: the defaults, layered key by key, and what each reading raises."""

import pytest

from setandsetting.core.alerts import DEFAULTS, AlertSettings, Thresholds, check, describe, merge
from setandsetting.core.vitals import Readings


def alerts(readings, thresholds=DEFAULTS, dosed=True):
    return [(a.what, a.value, a.threshold, a.message) for a in check(readings, thresholds, dosed)]


def test_the_defaults_are_the_designs():
    assert describe(DEFAULTS) == [
        "BP > 140/90 before the dose",
        "BP ≥ 180/110",
        "HR > 120",
        "HR < 45",
        "SpO2 < 92%",
    ]


def test_before_the_dose_a_bp_above_140_90_alerts_and_after_it_does_not():
    raised = [
        (
            "bp_pre_dose_above",
            "141/80",
            "140/90",
            "BP 141/80 above 140/90 before the dose: consider delaying",
        )
    ]
    assert alerts(Readings(bp=(141, 80)), dosed=False) == raised
    assert alerts(Readings(bp=(120, 91)), dosed=False)[0][0] == "bp_pre_dose_above"
    assert alerts(Readings(bp=(140, 90)), dosed=False) == []
    assert alerts(Readings(bp=(141, 80)), dosed=True) == []


def test_at_or_above_180_110_alerts_at_any_time():
    assert alerts(Readings(bp=(180, 80))) == [
        ("bp_at_or_above", "180/80", "180/110", "BP 180/80 at or above 180/110")
    ]
    assert alerts(Readings(bp=(150, 110)))[0][0] == "bp_at_or_above"
    assert alerts(Readings(bp=(179, 109))) == []
    assert [a[0] for a in alerts(Readings(bp=(185, 100)), dosed=False)] == [
        "bp_pre_dose_above",
        "bp_at_or_above",
    ]


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        (Readings(spo2=91), [("spo2_below", "91", "92", "SpO2 91% below 92%")]),
        (Readings(spo2=92), []),
        (Readings(hr=121), [("hr_above", "121", "120", "HR 121 above 120")]),
        (Readings(hr=120), []),
        (Readings(hr=44), [("hr_below", "44", "45", "HR 44 below 45")]),
        (Readings(hr=45, rr=5, sedation=1), []),  # off by default
    ],
)
def test_spo2_and_heart_rate_defaults(readings, expected):
    assert alerts(readings) == expected


def test_profile_then_room_then_defaults_key_by_key_and_null_turns_one_off():
    profile = AlertSettings.model_validate({"spo2_below": 94, "hr_below": None})
    room = AlertSettings.model_validate({"spo2_below": 90, "bp_above": "150/95", "rr_below": 8})
    merged = merge(profile, room)
    assert merged == Thresholds(
        bp_pre_dose_above=(140, 90),
        bp_above=(150, 95),
        bp_at_or_above=(180, 110),
        hr_above=120,
        hr_below=None,
        spo2_below=94,
        rr_below=8,
    )
    assert merge(None, None) == DEFAULTS
    assert alerts(Readings(bp=(151, 80), hr=30, rr=7, spo2=93), merged) == [
        ("bp_above", "151/80", "150/95", "BP 151/80 above 150/95"),
        ("spo2_below", "93", "94", "SpO2 93% below 94%"),
        ("rr_below", "7", "8", "RR 7 below 8"),
    ]


def test_a_threshold_bp_is_checked_as_a_reading_is():
    with pytest.raises(ValueError, match="the systolic must be above the diastolic"):
        AlertSettings.model_validate({"bp_above": "90/140"})
