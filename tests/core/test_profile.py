"""The profile format: DESIGN.md's example loads with the values it says; cross-field rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from setandsetting.core.loader import load_profile
from setandsetting.core.problems import FormatError
from setandsetting.core.profile import FromTo, Points, Profile, semantic_problems
from setandsetting.core.units import parse_level

DESIGN_EXAMPLE = Path(__file__).parents[1] / "fixtures" / "formats" / "design-profile.yaml"


def test_design_example_loads_with_its_values() -> None:
    profile = load_profile(DESIGN_EXAMPLE)
    assert profile.name == "IM ketamine, 60-minute journey"
    assert profile.route == "im"
    assert profile.limits.max_level == pytest.approx(0.8)
    assert profile.defaults.crossfade == 8.0
    chime = profile.defaults.chime
    assert (chime.sound, chime.audience) == ("bowl", "patient")
    assert (chime.level, chime.duck) == (pytest.approx(0.45), -9.0)
    assert [p.id for p in profile.phases] == ["arrival", "dosing", "peak", "return", "integration"]
    assert [p.duration for p in profile.phases] == [900.0, 300.0, 1800.0, 1200.0, "open"]

    arrival, dosing, peak, ret, integration = profile.phases
    assert arrival.name == "Arrival and intention"
    assert arrival.music is not None and arrival.music.slot == "arrival"
    assert arrival.level == pytest.approx(0.35)

    assert dosing.level == FromTo.model_validate({"from": "35%", "to": "50%", "shape": "s-curve"})
    assert [c.at for c in dosing.cues] == ["start", 120.0]
    assert dosing.cues[0].payload() == {
        "midi": {"type": "program_change", "channel": 1, "program": 3}
    }
    assert dosing.cues[1].payload() == {"osc": {"address": "/lights/scene", "args": [2]}}

    assert peak.extendable == 1800.0
    assert isinstance(peak.level, Points)
    assert peak.level.points == [(0.0, 0.65), (1500.0, 0.7), ("end", 0.6)]
    (rule,) = peak.checkins
    assert (rule.every, rule.from_, rule.kind, rule.audience) == (
        900.0,
        "dosing",
        "vitals",
        "staff",
    )
    assert (rule.ack, rule.escalate_after) == ("required", 120.0)
    ramp = peak.cues[0].midi.ramp  # type: ignore[union-attr]
    assert ramp is not None and (ramp.from_, ramp.to, ramp.over) == (60, 20, 300.0)

    assert ret.fade_out == 30.0
    assert isinstance(ret.level, FromTo) and ret.level.shape == "exponential"
    assert ret.not_before is not None
    assert (ret.not_before.after, ret.not_before.at_least) == ("dosing", 2400.0)

    assert integration.is_open
    assert integration.music is not None
    assert (integration.music.slot, integration.music.loop) == ("integration", True)
    assert semantic_problems(profile) == []


def base(**phase: object) -> dict[str, object]:
    return {
        "name": "P",
        "phases": [{"id": "a", "duration": "5m"}, {"id": "b", "duration": "5m", **phase}],
    }


def test_semantic_problems_name_the_field() -> None:
    profile = Profile.model_validate(
        base(
            level={"points": [[0, "40%"], ["6m", "50%"]]},
            checkins=[{"at": ["1m"], "from": "zz"}],
            cues=[{"at": "6m", "osc": {"address": "/x"}}],
        )
    )
    assert semantic_problems(profile) == [
        (("phases", 1, "level", "points"), "a point lies after the phase ends"),
        (("phases", 1, "checkins", 0, "from"), "no phase is called 'zz' (phases: a, b)"),
        (("phases", 1, "cues", 0, "at"), "this cue lies after the phase ends"),
    ]


def test_checkin_anchor_must_not_come_later() -> None:
    data = base()
    data["phases"][0]["checkins"] = [{"every": "1m", "from": "b"}]  # type: ignore[index]
    assert semantic_problems(Profile.model_validate(data)) == [
        (
            ("phases", 0, "checkins", 0, "from"),
            "'b' comes after 'a'; anchor at this or an earlier phase",
        )
    ]


def test_music_silence_and_level_default(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: P\nphases:\n  - {id: quiet, duration: 2m, music: silence}\n")
    profile = load_profile(path)
    assert profile.phases[0].music is None
    assert profile.defaults.level == parse_level("40%")


@pytest.mark.parametrize(
    ("rule", "where"),
    [
        ("{every: 5s}", "6:17: phases[0].checkins[0].every: `every` must be at least 10s"),
        (
            "{at: 1m, every: 2m}",
            "6:9: phases[0].checkins[0]: a check-in needs exactly one of `at` (offsets) or `every`",
        ),
        (
            "{at: 1m, until: 2m}",
            "6:9: phases[0].checkins[0]: `start` and `until` go with `every`, not with `at`",
        ),
        (
            "{at: 1m, escalate_after: 1m}",
            "6:9: phases[0].checkins[0]: `escalate_after` needs `ack: required`",
        ),
    ],
)
def test_checkin_rule_problems(tmp_path: Path, rule: str, where: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        f"name: P\nphases:\n  - id: a\n    duration: 5m\n    checkins:\n      - {rule}\n"
    )
    with pytest.raises(FormatError) as caught:
        load_profile(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}:{where}"]


@pytest.mark.parametrize(
    ("phase", "where"),
    [
        (
            "{id: a, duration: 1000000000h}",
            "3:23: phases[0].duration: 1000000000h is too long: a phase lasts at most 24h "
            "(or write `open`)",
        ),
        (
            "{id: a, duration: 24h 1s}",
            "3:23: phases[0].duration: 24h 1s is too long: a phase "
            "lasts at most 24h (or write `open`)",
        ),
        (
            "{id: a, duration: 1h, extendable: 1e400}",
            "3:39: phases[0].extendable: inf is too long: `extendable` adds at most 24h to a phase",
        ),
        (
            "{id: a, duration: .nan}",
            "3:23: phases[0].duration: a duration must be a finite number of seconds, not negative",
        ),
        (
            "{id: a, duration: -1h}",
            "3:23: phases[0].duration: '-1h' is not a duration; write e.g. "
            "90s, 15m, 1h20m, 1h 20m 5s or 1:20:00",
        ),
    ],
)
def test_a_phase_lasts_at_most_a_day(tmp_path: Path, phase: str, where: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"name: P\nphases:\n  - {phase}\n")
    with pytest.raises(FormatError) as caught:
        load_profile(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}:{where}"]


def test_the_longest_phase_and_session_load() -> None:
    day = {"duration": "24h", "extendable": "12h"}
    data = {"name": "P", "phases": [{"id": "a", **day}, {"id": "b", "duration": "12h"}]}
    assert semantic_problems(Profile.model_validate(data)) == []


SESSION_TOO_LONG = (
    "by the end of this phase the session can last {} (durations, every extension and floor "
    "counted, open phases not); a session lasts at most 48h"
)


def bound_problems(*phases: dict[str, object], **top: object) -> list[tuple[object, str]]:
    return semantic_problems(Profile.model_validate({"name": "P", "phases": phases, **top}))


def test_a_session_lasts_at_most_two_days_with_every_extension_and_floor() -> None:
    day = {"duration": "24h"}
    assert bound_problems({"id": "a", **day}, {"id": "b", **day, "extendable": "1s"}) == [
        (("phases", 1), SESSION_TOO_LONG.format("48h00m01s"))
    ]
    floor = {"duration": "1h", "not_before": {"after": "a", "at_least": "48h"}}
    assert bound_problems({"id": "a", "duration": "1h"}, {"id": "b", **floor}) == [
        (
            ("phases", 1, "not_before", "at_least"),
            "this floor can hold phase 'b' 47h00m past its earliest start; "
            "a floor holds a phase at most 24h",
        ),
    ]
    # open phases count nothing: the clinician ends them
    assert (
        bound_problems({"id": "a", **day}, {"id": "o", "duration": "open"}, {"id": "b", **day})
        == []
    )


def test_offsets_inside_a_phase_lie_within_what_it_can_reach() -> None:
    cc = {"type": "control_change", "control": 7, "ramp": {"from": 0, "to": 9, "over": "31m"}}
    timed = {
        "id": "a",
        "duration": "20m",
        "extendable": "10m",
        "fade_out": "31m",
        "level": {"from": "10%", "to": "20%", "over": "30m"},  # the reach itself: fine
        "cues": [{"at": "start", "midi": cc}],
        "checkins": [{"at": "1m", "ack": "required", "escalate_after": "2h"}],
    }
    reach = "(30m: its duration with every extension, or its floor)"
    assert bound_problems(timed) == [
        (
            ("phases", 0, "fade_out"),
            f"31m is more than phase 'a' can last {reach}; a fade-out lies within its phase",
        ),
        (
            ("phases", 0, "cues", 0, "midi", "ramp", "over"),
            f"31m is more than phase 'a' can last {reach}; a ramp lies within its phase",
        ),
        (
            ("phases", 0, "checkins", 0, "escalate_after"),
            f"2h00m is more than phase 'a' can last {reach}; an escalation lies within its phase",
        ),
    ]
    still_open = {
        "id": "o",
        "duration": "open",
        "level": {"points": [[0, "10%"], ["25h", "20%"]]},
        "cues": [{"at": "24h 1s", "osc": {"address": "/x"}}],
    }
    day = "(24h00m: an open phase counts as 24h)"
    assert bound_problems(still_open) == [
        (
            ("phases", 0, "level", "points", 1, 0),
            f"25h00m is more than phase 'o' can last {day}; a point lies within its phase",
        ),
        (
            ("phases", 0, "cues", 0, "at"),
            f"24h00m01s is more than phase 'o' can last {day}; a cue lies within its phase",
        ),
    ]


def test_checkin_offsets_lie_within_reach_of_their_anchor() -> None:
    past = (
        "{} from the start of 'a' is past the latest end of phase 'b' (1h30m from there, every "
        "extension and floor counted); a check-in counts within its phase's reach"
    )
    rules = [
        {"at": ["1h", "1h31m"], "from": "a"},
        {"every": "15m", "start": "2h", "until": "3h", "from": "a"},
        {"every": "2h", "start": "0", "from": "a"},
        {"every": "15m", "until": "1h30m", "from": "a"},  # exactly the reach: fine
    ]
    phases = (
        {"id": "a", "duration": "1h"},
        {"id": "b", "duration": "20m", "extendable": "10m", "checkins": rules},
    )
    assert bound_problems(*phases) == [
        (("phases", 1, "checkins", 0, "at", 1), past.format("1h31m")),
        (("phases", 1, "checkins", 1, "start"), past.format("2h00m")),
        (("phases", 1, "checkins", 1, "until"), past.format("3h00m")),
        (("phases", 1, "checkins", 2, "every"), past.format("2h00m")),
    ]


def test_a_floor_counts_from_this_or_an_earlier_phase() -> None:
    floor = {"not_before": {"after": "b", "at_least": "1m"}}
    assert bound_problems(
        {"id": "a", "duration": "5m", **floor}, {"id": "b", "duration": "5m"}
    ) == [
        (
            ("phases", 0, "not_before", "after"),
            "'b' comes after 'a'; a floor counts from this or an earlier phase",
        ),
    ]


def test_a_crossfade_no_longer_than_the_longest_phase_with_music() -> None:
    phases = ({"id": "a", "duration": "1m", "music": "x"}, {"id": "b", "duration": "2h"})
    assert bound_problems(*phases, defaults={"crossfade": "1m"}) == []
    assert bound_problems(*phases, defaults={"crossfade": "61s"}) == [
        (
            ("defaults", "crossfade"),
            "a crossfade of 1m01s is longer than any phase with music "
            "can last (1m); a crossfade is at most that long",
        ),
    ]


@pytest.mark.parametrize(
    ("phases", "where"),
    [
        (
            "[{id: a, duration: 1m, music: x}, {id: b, duration: 1m,"
            " music: {slot: y, continue: true}}]",
            "2:92: phases[1].music.continue: no earlier phase plays slot 'y'; "
            "there is nothing to continue",
        ),
        (
            "[{id: a, duration: 1m, music: x}, {id: b, duration: 1m,"
            " music: {slot: x, order: shuffle}}]",
            "2:89: phases[1].music.order: this phase continues slot 'x' of phase 'a', in its "
            "order (sequential); add `continue: false` to begin the slot again",
        ),
    ],
)
def test_continue_needs_an_earlier_phase_of_the_slot_and_keeps_its_order(
    tmp_path: Path, phases: str, where: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"name: P\nphases: {phases}\n")
    with pytest.raises(FormatError) as caught:
        load_profile(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}:{where}"]


def test_which_earlier_phase_a_phase_continues() -> None:
    from setandsetting.core.profile import continued_phase

    music = ["x", "x", {"slot": "x", "continue": False}, "y", {"slot": "x", "continue": True}]
    music += ["silence", "x"]
    profile = Profile.model_validate(
        {
            "name": "P",
            "phases": [{"id": f"p{i}", "duration": 60, "music": m} for i, m in enumerate(music)],
        }
    )
    assert [continued_phase(profile, i) for i in range(len(music))] == [
        None,
        0,
        None,
        None,
        2,
        None,
        None,
    ]
    assert semantic_problems(profile) == []
