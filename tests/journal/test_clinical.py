"""The clinical record read back from events: what the foot switch's ack without a reading
looks like in the vitals table, and the REMS form's BP picks."""

from __future__ import annotations

from setandsetting.journal.clinical import clinical_record, clinical_tables


def ev(type_: str, t: float, **data: object) -> dict:
    return {"type": type_, "t": t, **data}


EVENTS = [
    ev("checkin_acknowledged", 600.0, id="a.0.0", kind="bp", latency_s=5.0,
       record=["bp", "hr"], skipped=["bp", "hr"]),  # the foot switch: no reading
    ev("dose_given", 900.0, n=1, name="esketamine", amount=56.0, unit="mg", route="intranasal",
       lot=None),
    ev("checkin_acknowledged", 3300.0, id="p.0.0", kind="bp", latency_s=3.0,
       record=["bp", "hr"], skipped=["hr"]),
    ev("vitals_recorded", 3300.0, checkin="p.0.0", kind="bp", readings={"bp": [150, 90]},
       units={"bp": "mm[Hg]"}, note=None, skipped=["hr"]),
    ev("session_ended", 8400.0, reason="completed"),
]  # fmt: skip


def test_an_ack_without_a_reading_is_shown_as_such_and_a_partial_one_says_what_is_missing():
    record = clinical_record(EVENTS)
    vitals = dict((title, rows) for title, _, rows in clinical_tables(record))["Vitals"]
    assert vitals == [
        ["0:10:00", "-0:05:00", "a.0.0", "", "", "", "", "", "",
         "acknowledged without a reading (asked: bp, hr)"],
        ["0:55:00", "+0:40:00", "p.0.0", "150/90", "", "", "", "", "", "not taken: hr"],
    ]  # fmt: skip
    assert record.monitoring_minutes() == 125.0
    assert record.bp_before_dose() is None  # nothing measured before the dose: a blank
    assert record.bp_after_dose().values == {"bp": [150, 90]}
    assert record.bp_at_end() is None  # the only BP is the +40 min one
