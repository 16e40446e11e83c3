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
