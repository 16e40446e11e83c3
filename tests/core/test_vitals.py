"""Readings as staff write them: parsed, checked against plausible ranges, round-tripped."""

import pytest

from setandsetting.core.vitals import Readings, format_value, from_fields, parse_readings


def test_every_measure_parses_into_its_fixed_unit():
    readings = parse_readings(
        "bp=132/84 hr=72 spo2=97 rr=14 sedation=5 dissociation=Yes note=calm, eyes closed"
    )
    assert readings == Readings((132, 84), 72, 97, 14, 5, True, "calm, eyes closed")
    assert readings.measured() == ("bp", "hr", "spo2", "rr", "sedation", "dissociation")
    assert readings.to_fields() == {
        "bp": [132, 84],
        "hr": 72,
        "spo2": 97,
        "rr": 14,
        "sedation": 5,
        "dissociation": True,
        "note": "calm, eyes closed",
    }
    assert from_fields(readings.to_fields()) == readings


def test_the_edges_of_each_range_are_plausible():
    assert parse_readings("bp=260/30 hr=25 spo2=50 rr=60 sedation=0") == Readings(
        (260, 30), 25, 50, 60, 0
    )
    assert parse_readings("bp=61/60 hr=250 spo2=100 rr=4") == Readings((61, 60), 250, 100, 4)


def test_no_words_are_no_readings():
    assert not parse_readings("")
    assert bool(parse_readings("note=asleep"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bp=300/20", "bp=300/20: systolic 300 is not plausible (60-260 mm[Hg])"),
        ("bp=59/40", "bp=59/40: systolic 59 is not plausible (60-260 mm[Hg])"),
        ("bp=140/161", "bp=140/161: diastolic 161 is not plausible (30-160 mm[Hg])"),
        ("bp=90/90", "bp=90/90: the systolic must be above the diastolic"),
        ("bp=1200/80", "bp=1200/80: write systolic/diastolic in mm[Hg], e.g. bp=132/84"),
        ("hr=24", "hr=24: 24 is not plausible (25-250 /min)"),
        ("hr=7.5", "hr=7.5: write a whole number (25-250 /min)"),
        ("spo2=101", "spo2=101: 101 is not plausible (50-100 %)"),
        ("spo2=-3", "spo2=-3: write a whole number (50-100 %)"),
        ("note=", "note= needs some text"),
        ("note=" + "x" * 1001, "a reading's note is at most 1000 characters"),
    ],
)
def test_implausible_readings_are_refused_with_the_reason(text, message):
    with pytest.raises(ValueError) as caught:
        parse_readings(text)
    assert str(caught.value) == message


def test_values_read_as_staff_write_them():
    assert [format_value("bp", [132, 84]), format_value("dissociation", False)] == [
        "132/84",
        "no",
    ]
    assert format_value("hr", 72) == "72"


def test_a_journaled_reading_is_checked_again_when_read_back():
    with pytest.raises(ValueError, match="systolic 400"):
        from_fields({"bp": [400, 80]})
