"""Levels at t: fades, crossfades, ducks and track gain under the cap (exact)."""

import pytest

from setandsetting.core import session
from setandsetting.core.session import voice_level, voices
from tests.core.session.three_phases import PROFILE, SLOTS, run_to
from tests.support.timelines import of_type, timeline


def test_a_new_track_starts_silent_and_fades_in():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    (v0,) = voices(state)
    assert voice_level(state, v0, 0.0) == 0.0
    assert voice_level(state, v0, 2.5) == pytest.approx(0.2)
    assert voice_level(state, v0, 5.0) == pytest.approx(0.4)


def test_crossfade_levels_are_complementary():
    state, _ = session.start(timeline(PROFILE, SLOTS))
    state, _ = run_to(state, 37.5)
    old, new = voices(state)
    assert old.leaving_at == 40.0
    assert voice_level(state, old, 37.5) == pytest.approx(0.2)
    assert voice_level(state, new, 37.5) == pytest.approx(0.2)


def test_patient_chime_ducks_the_music_and_it_comes_back():
    profile = {
        "name": "duck",
        "defaults": {"crossfade": "5s", "chime": {"duck": "-9dB"}},
        "phases": [
            {
                "id": "a",
                "duration": "5m",
                "music": "a",
                "level": "50%",
                "checkins": [{"at": ["60s"], "kind": "breath", "audience": "patient"}],
            }
        ],
    }
    state, _ = session.start(timeline(profile, {"a": [400.0]}, chime_s=4.0))
    state, ev = run_to(state, 61.0)
    assert of_type(ev, "checkin_due")[0].data["audience"] == "patient"
    ducked = 0.5 * 10 ** (-9 / 60)
    assert session.master_level(state, 59.9) == pytest.approx(0.5)
    assert session.master_level(state, 62.0) == pytest.approx(ducked)
    assert session.master_level(state, 64.0 + 1.5) == pytest.approx(0.5)


def test_track_gain_scales_the_curve_and_the_cap_still_holds():
    """Playlist gain (and loudness normalisation, which becomes gain) multiplies the curve
    on the perceptual scale: +6 dB of amplitude is 10^(6/60) on the level."""
    from setandsetting.core.profile import Profile
    from setandsetting.core.timeline import compile_timeline
    from tests.support.timelines import slot

    prof = {
        "name": "gain",
        "limits": {"max_level": "60%"},
        "defaults": {"crossfade": "2s"},
        "phases": [
            {"id": name, "duration": "60s", "music": name, "level": "40%"}
            for name in ("up", "down", "over")
        ],
    }
    gains = {"up": 6.0, "down": -6.0, "over": 12.0}
    tl = compile_timeline(
        Profile.model_validate(prof),
        {name: slot(name, [100.0], gain_db=gain) for name, gain in gains.items()},
        patient_id="P-test",
    )
    state, _ = session.start(tl)
    heard = {}
    for name, t in (("up", 30.0), ("down", 90.0), ("over", 150.0)):
        state, _ = session.advance(state, t)
        assert state.plan.id == name and state.voice is not None
        heard[name] = round(voice_level(state, state.voice, t), 5)
    assert heard == {
        "up": round(0.4 * 10 ** (6 / 60), 5),  # 0.50357
        "down": round(0.4 * 10 ** (-6 / 60), 5),  # 0.31773
        "over": 0.6,  # 0.634 wanted, the cap wins
    }
