"""Controls in their text form: what each parses to, and each refusal's exact words."""

import pytest

from setandsetting.core.controls import (
    USER_ACTIONS,
    Control,
    parse_control,
    parse_timed_control,
    stale_reason,
)

GRAMMAR = (
    "write level up or level down (a 2dB step), a change (level -2dB, level +3dB, "
    "level -5%) or a level (level 40%)"
)
DISMISS = (
    "dismissing a check-in needs a reason; write dismiss [ID] REASON, "
    "e.g. dismiss peak.0.1 vitals taken by hand"
)
READINGS = "write readings as bp=S/D hr=N spo2=N rr=N sedation=0-5 dissociation=yes|no note=TEXT"
DOSE = "write dose NAME AMOUNT [route=R] [lot=L], e.g. dose esketamine 56mg lot=A123"
DOSE_56 = Control(
    "dose",
    data={"name": "esketamine", "amount": 56.0, "unit": "mg", "route": None, "lot": "A123"},
)
ONE_OF = (
    "one of extend, next, pause, resume, skip, level, quiet, ack, dismiss, note, stop, dose, ready"
)


@pytest.mark.parametrize(
    ("text", "control"),
    [
        ("extend 10m", Control("extend", 600.0)),
        ("  extend 1h 5m ", Control("extend", 3900.0)),
        ("next", Control("next")),
        ("pause", Control("pause")),
        ("resume", Control("resume")),
        ("skip", Control("skip")),
        ("quiet", Control("quiet")),
        ("stop", Control("stop", data={"reason": ""})),
        ("stop patient asked to leave", Control("stop", data={"reason": "patient asked to leave"})),
        ("ready", Control("ready")),
        (
            "ack bp=132/84 hr=72",
            Control("ack", data={"readings": {"bp": [132, 84], "hr": 72}}),
        ),
        (
            "ack arrival.0.0 bp=150/95 spo2=97 note=calm, talking",
            Control(
                "ack",
                "arrival.0.0",
                data={"readings": {"bp": [150, 95], "spo2": 97, "note": "calm, talking"}},
            ),
        ),
        (
            "dose esketamine 56mg lot=A123",
            DOSE_56,
        ),
        (
            "dose Ketamine 35 mg route=IM",
            Control(
                "dose",
                data={"name": "ketamine", "amount": 35.0, "unit": "mg", "route": "im", "lot": None},
            ),
        ),
        # a sign makes a change, in % or dB; no sign sets the level
        ("level +5%", Control("level", 5.0)),
        ("level - 10%", Control("level", -10.0)),
        ("level -6dB", Control("level", -6.0, unit="dB")),
        ("level +3 dB", Control("level", 3.0, unit="dB")),
        ("level -2DB", Control("level", -2.0, unit="dB")),
        ("level 40%", Control("level", 0.4, absolute=True)),
        ("level 40 %", Control("level", 0.4, absolute=True)),
        # the one fixed step every surface offers
        ("level up", Control("level", 2.0, unit="dB")),
        ("level DOWN", Control("level", -2.0, unit="dB")),
        ("ack", Control("ack")),
        ("ack b.0.1", Control("ack", "b.0.1")),
        ("note  calm, eyes open  ", Control("note", "calm, eyes open")),
        # dismiss: an id when the first word is one, and always a reason
        ("dismiss peak.0.1 taken by hand", Control("dismiss", "peak.0.1", message="taken by hand")),
        ("dismiss patient asleep", Control("dismiss", None, message="patient asleep")),
        ("dismiss peak.0 slept", Control("dismiss", None, message="peak.0 slept")),
        # the aliases, and any case
        ("HOLD", Control("pause")),
        ("advance", Control("next")),
        ("Acknowledge b.0.1", Control("ack", "b.0.1")),
    ],
)
def test_parse_control(text, control):
    assert parse_control(text) == control


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "an action is expected, e.g. extend 10m, next, ack, quiet"),
        ("jump", f"unknown action 'jump' ({ONE_OF})"),
        ("nxt", "unknown action 'nxt' (did you mean 'next'?)"),
        ("extend", "extend needs a duration, e.g. extend 10m"),
        (
            "extend soon",
            "'soon' is not a duration; write e.g. 90s, 15m, 1h20m, 1h 20m 5s or 1:20:00",
        ),
        ("level", "level needs a change or a level; " + GRAMMAR),
        ("level loud", "'level loud' is not a level change; " + GRAMMAR),
        ("level -5", "'level -5' is not a level change; " + GRAMMAR),  # % or dB?
        ("level 40", "'level 40' is not a level change; " + GRAMMAR),
        ("level -18dB5", "'level -18dB5' is not a level change; " + GRAMMAR),
        ("level -101%", "level -101%: a change is at most 100% either way"),
        ("level +41dB", "level +41dB: a change is at most 40dB either way"),
        ("level 120%", "level 120%: '120%': a level must be between 0% and 100%; " + GRAMMAR),
        ("note", "a note needs some text"),
        ("dismiss", DISMISS),
        ("dismiss peak.0.1", DISMISS),
        ("dismiss peak.0.1   ", DISMISS),
        ("next now", "next takes no argument"),
        ("ready now", "ready takes no argument"),
        ("ack bp=300/20", "bp=300/20: systolic 300 is not plausible (60-260 mm[Hg])"),
        ("ack bp=120/20", "bp=120/20: diastolic 20 is not plausible (30-160 mm[Hg])"),
        ("ack bp=80/90", "bp=80/90: the systolic must be above the diastolic"),
        ("ack bp=high", "bp=high: write systolic/diastolic in mm[Hg], e.g. bp=132/84"),
        ("ack hr=abc", "hr=abc: write a whole number (25-250 /min)"),
        ("ack hr=300", "hr=300: 300 is not plausible (25-250 /min)"),
        ("ack spo2=120", "spo2=120: 120 is not plausible (50-100 %)"),
        ("ack rr=2", "rr=2: 2 is not plausible (4-60 /min)"),
        ("ack sedation=6", "sedation=6: 6 is not plausible (0-5 MOAA/S)"),
        ("ack dissociation=maybe", "dissociation=maybe: write yes or no"),
        ("ack x.0 spo=97", "unknown reading 'spo' (did you mean spo2=?)"),
        ("ack temp=37", "unknown reading 'temp'; " + READINGS),
        ("ack hr=70 hr=71", "hr is given twice"),
        ("ack hr=", "hr= needs a value; " + READINGS),
        ("ack x.0 y.1", "'y.1' is not a reading; " + READINGS),
        ("dose", "dose needs a medication and an amount; " + DOSE),
        ("dose esketamine", "dose esketamine needs an amount, e.g. 56mg; " + DOSE),
        ("dose esketamine lot=A1", "dose esketamine needs an amount, e.g. 56mg; " + DOSE),
        ("dose esketamin 56mg", "unknown medication 'esketamin' (did you mean 'esketamine'?)"),
        (
            "dose aspirin 56mg",
            "unknown medication 'aspirin' (one of esketamine, ketamine, psilocybin, mdma, "
            "midazolam, lorazepam, ondansetron, clonidine, labetalol, glycopyrrolate)",
        ),
        (
            "dose ketamine 56",
            "dose ketamine 56: an amount is a number with a unit (mg, mcg, g, ml, mg/kg), "
            "e.g. 56mg",
        ),
        (
            "dose ketamine 0mg",
            "dose ketamine 0mg: not a plausible amount (above 0, at most 2000 mg)",
        ),
        (
            "dose ketamine 35mg route=nose",
            "dose: route 'nose' is not one of im, sublingual, iv, intranasal, oral, sc, other",
        ),
        ("dose ketamine 35mg by=me", "dose: 'by=me' is not route=R or lot=L; " + DOSE),
    ],
)
def test_parse_control_refuses_with_a_clear_message(text, message):
    with pytest.raises(ValueError) as caught:
        parse_control(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20m:extend 10m", (1200.0, Control("extend", 600.0))),
        ("31m:ack", (1860.0, Control("ack"))),
        ("90:ack", (90.0, Control("ack"))),
        ("1:20:next", (80.0, Control("next"))),  # m:ss
        ("1:20:00:next", (4800.0, Control("next"))),  # h:mm:ss
        ("1:20:00:note at 1:30 calm", (4800.0, Control("note", "at 1:30 calm"))),
    ],
)
def test_parse_timed_control(text, expected):
    assert parse_timed_control(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("next", "'next': write TIME:ACTION, e.g. 20m:extend 10m or 31m:ack"),
        ("5m:", "'5m:': write TIME:ACTION, e.g. 20m:extend 10m or 31m:ack"),
        (
            "soon:next",
            "'soon:next': 'soon' is not a duration; write e.g. 90s, 15m, 1h20m, 1h 20m 5s "
            "or 1:20:00",
        ),
        ("5m:jump", f"'5m:jump': unknown action 'jump' ({ONE_OF})"),
    ],
)
def test_parse_timed_control_refuses_with_the_text_it_was_given(text, message):
    with pytest.raises(ValueError) as caught:
        parse_timed_control(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("control", "text"),
    [
        (Control("extend", 600.0), "extend 10m"),
        (Control("level", 5.0), "level +5%"),
        (Control("level", -10.0), "level -10%"),
        (Control("level", 0.4, absolute=True), "level 40%"),
        (Control("level", -2.0, unit="dB"), "level -2dB"),
        (Control("level", 1.5, unit="dB"), "level +1.5dB"),
        (Control("note", "calm"), "note calm"),
        (Control("ack"), "ack"),
        (Control("ack", "b.0.1"), "ack b.0.1"),
        (Control("dismiss", "b.0.1", message="asleep"), "dismiss b.0.1 asleep"),
        (Control("dismiss", message="asleep"), "dismiss asleep"),
        (Control("stop", data={"reason": ""}), "stop"),
        (Control("stop", data={"reason": "asked to leave"}), "stop asked to leave"),
        (
            Control("ack", data={"readings": {"bp": [132, 84], "dissociation": False}}),
            "ack bp=132/84 dissociation=no",
        ),
        (
            Control("ack", "a.0.0", data={"readings": {"hr": 72, "note": "calm"}}),
            "ack a.0.0 hr=72 note=calm",
        ),
        (
            DOSE_56,
            "dose esketamine 56mg lot=A123",
        ),
    ],
)
def test_describe_gives_the_text_form_back(control, text):
    assert control.describe() == text
    assert parse_control(text) == control


def test_an_ack_with_an_empty_id_reads_as_a_plain_ack():
    assert Control("ack", "").describe() == "ack"


def test_every_user_action_parses_from_its_own_name_or_says_what_it_needs():
    needs = {"extend", "level", "note", "dismiss", "dose"}
    for action in USER_ACTIONS:
        if action in needs:
            with pytest.raises(ValueError, match=action):
                parse_control(action)
        elif action == "stop":  # a person's stop: held to the discharge floor
            assert parse_control(action) == Control(action, data={"reason": ""})
        else:
            assert parse_control(action) == Control(action)


def test_a_control_pressed_more_than_five_seconds_ago_is_stale():
    assert stale_reason(100.0, 105.0) is None
    assert stale_reason(100.0, 99.0) is None  # the clocks a hair apart: not stale
    assert stale_reason(100.0, 107.4) == (
        "not applied: pressed 7s ago, while the screen was not live (a control older than "
        "5s is never applied late); press it again if still wanted"
    )
