"""The dose and the session facts as written: parsed, checked, and when they are asked."""

import pytest

from setandsetting.core.dose import (
    MED_CLASSES,
    Dose,
    SessionFacts,
    facts_from_fields,
    facts_missing,
    parse_dose,
    parse_meds,
)


def test_a_dose_with_its_route_and_lot():
    assert parse_dose("esketamine 84mg route=intranasal lot=A-123") == Dose(
        "esketamine", 84.0, "mg", "intranasal", "A-123"
    )
    assert parse_dose("ketamine 0.5 mg/kg") == Dose("ketamine", 0.5, "mg/kg")
    assert parse_dose("midazolam 1000µg") == Dose("midazolam", 1000.0, "mcg")


def test_meds_none_answers_every_class_no_and_a_list_answers_yes_for_those():
    assert parse_meds("none") == dict.fromkeys(MED_CLASSES, False)
    assert parse_meds("benzos, opioid") == {
        "benzodiazepines": True,
        "non-benzodiazepine sedative-hypnotics": False,
        "psychostimulants": False,
        "maois": False,
        "opioids": True,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "--meds: write none, or the classes taken: " + ", ".join(MED_CLASSES)),
        (
            "opiods",
            "--meds: unknown class 'opiods' (did you mean 'opioids'?); none, or of "
            + ", ".join(MED_CLASSES),
        ),
    ],
)
def test_meds_refusals(text, message):
    with pytest.raises(ValueError) as caught:
        parse_meds(text)
    assert str(caught.value) == message


def test_an_intranasal_session_needs_the_facts_and_others_do_not():
    assert facts_missing("im", SessionFacts()) is None
    assert facts_missing("intranasal", SessionFacts()) == (
        "an intranasal session records concomitant medications: --meds none, or the classes "
        "taken (" + ", ".join(MED_CLASSES) + ")"
    )
    meds = parse_meds("none")
    assert facts_missing("intranasal", SessionFacts(meds)) == (
        "an intranasal session records whether it is the first treatment: --first yes|no"
    )
    assert facts_missing("intranasal", SessionFacts(meds, False)) is None


def test_facts_from_a_request_answer_every_class_or_none():
    with pytest.raises(ValueError, match="answer every class"):
        facts_from_fields({"medications": {"opioids": True}})
    facts = facts_from_fields({"first_treatment": True, "intention": "  to rest "})
    assert facts == SessionFacts({}, True, "to rest")
