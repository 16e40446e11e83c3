"""Properties over random profiles and random control sequences (hypothesis)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from setandsetting.core import session
from setandsetting.core.controls import Control
from setandsetting.core.plan import simulate
from tests.support.timelines import timeline

SHAPES = ["linear", "s-curve", "exponential", "logarithmic", "hold"]


@st.composite
def profiles(draw, floors: bool = True):
    n = draw(st.integers(1, 5))
    cap = draw(st.integers(30, 100))
    level = st.integers(0, cap).map(lambda v: f"{v}%")
    phases = []
    slots: dict[str, list[float]] = {}
    for i in range(n):
        pid = f"p{i}"
        last = i == n - 1
        open_ = last and draw(st.booleans())
        duration = "open" if open_ else draw(st.integers(20, 900))
        spec = draw(
            st.one_of(
                level,
                st.builds(
                    lambda a, b, s: {"from": a, "to": b, "shape": s},
                    level,
                    level,
                    st.sampled_from(SHAPES),
                )
                if not open_
                else level,
                st.builds(
                    lambda a, b, s: {"points": [[0, a], [10, b]], "shape": s},
                    level,
                    level,
                    st.sampled_from(SHAPES),
                ),
            )
        )
        phase = {
            "id": pid,
            "duration": duration,
            "level": spec,
            "music": {"slot": pid, "loop": draw(st.booleans())},
        }
        if not open_ and draw(st.booleans()):
            phase["extendable"] = draw(st.integers(10, 600))
        if floors and i > 0 and not open_ and draw(st.booleans()):
            phase["not_before"] = {"after": "p0", "at_least": draw(st.integers(10, 2000))}
        rules = []
        for _ in range(draw(st.integers(0, 2))):
            anchor = f"p{draw(st.integers(0, i))}"
            ack = draw(st.sampled_from(["required", "none"]))
            rule = {
                "from": anchor,
                "audience": draw(st.sampled_from(["patient", "staff", "both"])),
                "ack": ack,
                "kind": "k",
            }
            if draw(st.booleans()):
                rule["every"] = draw(st.integers(10, 400))
            else:
                rule["at"] = draw(st.lists(st.integers(0, 1200), min_size=1, max_size=4))
            if ack == "required" and draw(st.booleans()):
                rule["escalate_after"] = draw(st.integers(5, 120))
            rules.append(rule)
        phase["checkins"] = rules
        cues = [
            {"at": draw(st.sampled_from(["start", "end", 5, 30])), "osc": {"address": f"/c{j}"}}
            for j in range(draw(st.integers(0, 2)))
        ]
        phase["cues"] = cues
        phases.append(phase)
        slots[pid] = draw(st.lists(st.integers(5, 400).map(float), min_size=0, max_size=4))
    profile = {
        "name": "random",
        "limits": {"max_level": f"{cap}%"},
        "defaults": {"crossfade": f"{draw(st.integers(0, 10))}s", "level": f"{min(cap, 40)}%"},
        "phases": phases,
    }
    return profile, slots


ACTIONS = st.one_of(
    st.builds(lambda d: Control("extend", float(d)), st.integers(1, 300)),
    st.sampled_from([Control(a) for a in ("next", "pause", "resume", "quiet", "skip", "ack")]),
    st.builds(lambda p: Control("level", float(p)), st.integers(-80, 80)),
    st.builds(lambda v: Control("level", v / 100, absolute=True), st.integers(0, 100)),
    st.builds(lambda v: Control("track_failed", voice=v), st.integers(0, 6)),
    st.just(Control("note", "n")),
)
CONTROLS = st.lists(st.tuples(st.integers(0, 4000).map(float), ACTIONS), max_size=25)
PROPS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(profile, slots, controls, sample_levels=False, gain_db=0.0):
    tl = timeline(profile, slots, gain_db=gain_db)
    state, events = session.start(tl)
    peak = 0.0
    for t, c in sorted(controls, key=lambda x: x[0]):
        if sample_levels:
            peak = max(peak, _max_level_until(state, t))
        state, more = session.apply(state, c, t)
        events += more
    if sample_levels:  # and on after the last control (or with none at all)
        peak = max(peak, _max_level_until(state, state.t + 6000.0))
    state, more = session.advance(state, 20_000)
    return tl, state, events + more, peak


def _max_level_until(state, t_end):
    """Sample every voice's level from state.t to t_end: densely after each moment (where
    fades and glides happen), coarsely in between."""
    peak = 0.0
    t = state.t
    t_end = min(t_end, state.t + 6000.0)
    while t < t_end:
        for v in session.voices(state):
            peak = max(peak, session.voice_level(state, v, t))
        peak = max(peak, session.master_level(state, t))
        nxt = session.next_moment(state)
        t = min(t + 4.0, nxt + 0.01 if nxt is not None and nxt > t else t + 4.0, t_end)
        state, _ = session.advance(state, t)
        if state.ended:
            break
    return peak


@PROPS
@given(profiles(), CONTROLS, st.integers(-12, 12).map(float))
def test_level_never_exceeds_max_level(pc, controls, gain_db):
    """Music (curve x nudge x duck x track gain x fades) and every chime, escalations
    included, stay at or under the cap — also with a track gain that wants more."""
    profile, slots = pc
    tl, _, events, peak = run(profile, slots, controls, sample_levels=True, gain_db=gain_db)
    assert peak <= tl.max_level + 1e-9
    chimes = [e.data["level"] for e in events if e.type in ("checkin_due", "checkin_escalated")]
    assert all(level <= tl.max_level + 1e-9 for level in chimes)


@PROPS
@given(profiles(), CONTROLS)
def test_phases_are_contiguous(pc, controls):
    """Each phase starts exactly where the previous one ended: on moving on early, or at
    its start + duration + extensions (or its floor, if later)."""
    profile, slots = pc
    _, _, events, _ = run(profile, slots, controls)
    phases = profile["phases"]
    starts = [e for e in events if e.type == "phase_started"]
    assert [e.data["phase"] for e in starts] == [p["id"] for p in phases][: len(starts)]
    assert starts[0].t == 0.0
    begun = {e.data["phase"]: e.t for e in starts}
    for k in range(1, len(starts)):
        prev, this = phases[k - 1], starts[k]
        advanced = [
            e for e in events if e.type == "phase_advanced" and e.data["phase"] == prev["id"]
        ]
        if advanced:
            assert advanced[0].t == this.t
            continue
        extended = sum(
            e.data["by_s"]
            for e in events
            if e.type == "phase_extended" and e.data["phase"] == prev["id"]
        )
        end = begun[prev["id"]] + float(prev["duration"]) + extended
        if "not_before" in prev:
            end = max(end, begun[prev["not_before"]["after"]] + prev["not_before"]["at_least"])
        assert this.t == end


@PROPS
@given(profiles(), CONTROLS)
def test_no_checkin_or_cue_is_emitted_twice(pc, controls):
    profile, slots = pc
    _, _, events, _ = run(profile, slots, controls)
    due = [e.data["id"] for e in events if e.type == "checkin_due"]
    cues = [
        e.data["id"]
        for e in events
        if e.type == "cue_sent" and not e.data["id"].startswith("on_quiet")
    ]
    assert len(due) == len(set(due))
    assert len(cues) == len(set(cues))


@PROPS
@given(profiles(), CONTROLS)
def test_same_inputs_same_events(pc, controls):
    profile, slots = pc
    _, _, a, _ = run(profile, slots, controls)
    _, _, b, _ = run(profile, slots, controls)
    assert a == b


@PROPS
@given(profiles(), CONTROLS)
def test_time_never_runs_backwards_and_checkins_stay_in_their_phase(pc, controls):
    profile, slots = pc
    _, _, events, _ = run(profile, slots, controls)
    assert [e.t for e in events] == sorted(e.t for e in events)
    phase = None
    for e in events:
        if e.type == "phase_started":
            phase = e.data["phase"]
        if e.type == "checkin_due":
            assert e.data["id"].startswith(f"{phase}.")


@settings(max_examples=80, deadline=None)
@given(profiles(floors=False), st.data())
def test_extending_shifts_every_later_moment_by_exactly_d(pc, data):
    profile, slots = pc
    extendable = [i for i, p in enumerate(profile["phases"]) if p.get("extendable")]
    if not extendable:
        return
    i = data.draw(st.sampled_from(extendable))
    pid = profile["phases"][i]["id"]
    d = float(data.draw(st.integers(1, int(profile["phases"][i]["extendable"]))))
    base = simulate(timeline(profile, slots))
    start = next(e.t for e in base if e.type == "phase_started" and e.data["phase"] == pid)
    ext = simulate(timeline(profile, slots), [(start, Control("extend", d))])

    def planned(evs, kind):
        return [(e.t, e.data.get("phase") or e.data.get("id")) for e in evs if e.type == kind]

    later = [(t, p) for t, p in planned(base, "phase_started") if t > start]
    later_ext = [(t, p) for t, p in planned(ext, "phase_started") if t > start]
    assert [(t + d, p) for t, p in later] == later_ext

    # Check-ins anchored to a phase before the extended one keep their times exactly.
    def anchored_early(evs):
        return {
            e.data["id"]: e.t
            for e in evs
            if e.type == "checkin_due" and _anchor(profile, e.data["id"]) < i
        }

    before, after = anchored_early(base), anchored_early(ext)
    assert all(before[cid] == t for cid, t in after.items() if cid in before)
    # ...and the extended phase's own rules anchored earlier keep firing through the extension.
    assert set(before) - set(after) <= {
        cid for cid in before if cid.split(".")[0] != pid and before[cid] >= start
    }


def _anchor(profile, checkin_id):
    phase_id, rule, _ = checkin_id.split(".")
    phase = next(p for p in profile["phases"] if p["id"] == phase_id)
    anchor = phase["checkins"][int(rule)]["from"]
    return [p["id"] for p in profile["phases"]].index(anchor)
