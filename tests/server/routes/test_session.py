"""/api/status, profiles, patients, preflight, session start and controls, against a real
engine (recording music and chimes) and a real room folder."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from setandsetting.core.controls import NEEDS_VALUE, USER_ACTIONS, parse_control
from tests.support.daemon import Daemon, send_control, start_session, start_still_session

STEP_PCT = (10 ** (2 / 60) - 1) * 100  # level up: +2 dB, dB = 60·log10(level)


def _types(response: Any) -> list[str]:
    return [e["type"] for e in response.json()["events"]]


def _wait(predicate: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


# ---------------------------------------------------------------- reading


def test_status_without_a_session(api: TestClient) -> None:
    assert api.get("/api/status").json() == {"running": False}


def test_profiles_and_patients(api: TestClient) -> None:
    profiles = {p["name"]: p for p in api.get("/api/profiles").json()}
    assert profiles["short"] == {
        "name": "short",
        "title": "Short",
        "route": "other",
        "phases": [
            {"id": "settle", "name": "Settle", "duration_s": 20.0, "slot": "calm"},
            {"id": "deep", "name": "Deep", "duration_s": 120.0, "slot": "calm"},
        ],
    }
    assert profiles["broken"]["error"].endswith(
        "broken.yaml:4:15: phases[0].duration: 'soon' is not a duration; "
        "write e.g. 90s, 15m, 1h20m, 1h 20m 5s or 1:20:00"
    )
    assert api.get("/api/patients").json() == ["P-0042"]


def test_preflight_shows_each_slot_and_its_fit(api: TestClient) -> None:
    r = api.get("/api/preflight", params={"patient": "P-0042", "profile": "short"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [
        (s["phase"], s["owner"], s["tracks"], s["playable_s"], s["fit"]) for s in body["slots"]
    ] == [  # two 8 s tracks crossfading for 2 s play 14 s: the compiler's count
        ("settle", "patient", 2, 14.0, "shorter"),
        ("deep", "patient", 2, 14.0, "shorter"),
    ]
    assert [p["id"] for p in body["plan"]["phases"]] == ["settle", "deep"]
    assert set(body["devices"]) == {"audio", "midi"}
    # Probed, not echoed: each output room.yaml names, with whether it is here now.
    outputs = body["devices"]["audio"]["outputs"]
    assert set(outputs) == {"music_output", "patient_chimes"}
    assert all(set(o) == {"wanted", "found", "silent"} for o in outputs.values())


# ---------------------------------------------------------------- session and controls


def test_start_then_a_second_start_is_refused(api: TestClient) -> None:
    status = start_session(api)
    assert status["running"] is True
    assert (status["patient"], status["profile"], status["phase"]) == ("P-0042", "short", "settle")
    r = api.post("/api/session", json={"patient": "P-0042", "profile": "short"})
    assert r.status_code == 409
    assert r.json() == {"error": "a session is already running in this room"}


def test_no_test_tone_during_a_session(api: TestClient) -> None:
    start_session(api)
    r = api.post("/api/test-sound")
    assert (r.status_code, r.json()) == (
        409,
        {"error": "a session is running: a test tone would sound in the room"},
    )


def test_a_broken_profile_is_a_400_with_file_line_col(api: TestClient) -> None:
    r = api.post("/api/session", json={"patient": "P-0042", "profile": "broken"})
    assert r.status_code == 400
    assert r.json()["problems"] == [r.json()["error"]]
    assert "broken.yaml:4:15: phases[0].duration:" in r.json()["error"]
    assert api.get("/api/status").json() == {"running": False}


def test_every_control_is_applied_by_the_engine(api: TestClient, room: Daemon) -> None:
    start_session(api)
    r = send_control(api, "level", "+5%")
    assert r.status_code == 200 and "level_changed" in _types(r)
    changed = [e for e in r.json()["events"] if e["type"] == "level_changed"]
    assert changed[0]["nudge_pct"] == 5.0
    r = send_control(api, "note", "calm, eyes closed")
    assert [e["text"] for e in r.json()["events"] if e["type"] == "note"] == ["calm, eyes closed"]
    assert "music_held" in _types(send_control(api, "pause"))
    assert "music_resumed" in _types(send_control(api, "resume"))
    playing = api.get("/api/status").json()["now_playing"]["title"]
    r = send_control(api, "skip")
    assert "track_started" in _types(r)
    assert api.get("/api/status").json()["now_playing"]["title"] != playing
    pending = _wait(lambda: api.get("/api/status").json()["pending"])
    r = send_control(api, "ack", pending[0]["id"])
    assert r.status_code == 200 and "checkin_acknowledged" in _types(r)
    r = send_control(api, "extend", "10s")  # settle is not extendable: refused, said why
    assert r.status_code == 409
    assert r.json()["error"] == "settle is not extendable"
    assert _types(r)[-1] == "control_refused"
    assert "phase_advanced" in _types(send_control(api, "next"))
    r = send_control(api, "extend", "10s")
    assert r.status_code == 200 and "phase_extended" in _types(r)
    assert "quiet" in _types(send_control(api, "quiet"))
    assert "session_ended" in _types(send_control(api, "stop"))
    assert api.get("/api/status").json()["running"] is False
    journaled = room.runner.journal.events(room.runner.session_id)
    actions = [e["action"] for e in journaled if e["type"] == "control"]
    assert actions == [
        "level", "note", "pause", "resume", "skip", "ack", "extend", "next", "extend", "quiet",
        "stop",
    ]  # fmt: skip


def test_next_goes_ahead_naming_the_waiting_checkin_which_waits_until_dismissed_and_extend_clamps(
    api: TestClient, room: Daemon
) -> None:
    start_session(api)
    _wait(lambda: api.get("/api/status").json()["pending"], timeout=6.0)  # settle.0.0, at 2 s
    r = send_control(api, "next")
    assert r.status_code == 200
    advanced = next(e for e in r.json()["events"] if e["type"] == "phase_advanced")
    assert advanced["pending"] == ["settle.0.0"]
    assert [(p["id"], p["phase"]) for p in r.json()["pending"]] == [("settle.0.0", "settle")]
    status = api.get("/api/status").json()
    assert status["phase"] == "deep"
    assert [p["id"] for p in status["pending"]] == ["settle.0.0"]  # still on every screen
    waiting = status["pending"][0]
    assert waiting["overdue_s"] == pytest.approx(status["t"] - waiting["due_t"], abs=0.002)
    r = send_control(api, "dismiss", "settle.0.0 vitals taken by hand")
    assert r.status_code == 200
    dismissed = [e for e in r.json()["events"] if e["type"] == "checkin_dismissed"]
    assert [(e["id"], e["phase"], e["reason"]) for e in dismissed] == [
        ("settle.0.0", "settle", "vitals taken by hand")
    ]
    assert r.json()["pending"] == []
    r = send_control(api, "dismiss", "settle.0.0")
    assert (r.status_code, r.json()["error"]) == (
        400,
        "dismissing a check-in needs a reason; write dismiss [ID] REASON, "
        "e.g. dismiss peak.0.1 vitals taken by hand",
    )
    journaled = room.runner.journal.events(room.runner.session_id)
    [control] = [e for e in journaled if e["type"] == "control" and e["action"] == "dismiss"]
    assert (control["value"], control["message"]) == ("settle.0.0", "vitals taken by hand")

    # deep may be extended by 1m: asked for 5m, it takes that 1m and says so, not refused
    r = send_control(api, "extend", "5m")
    assert r.status_code == 200
    [extended] = [e for e in r.json()["events"] if e["type"] == "phase_extended"]
    assert (extended["by_s"], extended["asked_s"]) == (60.0, 300.0)
    assert api.get("/api/status").json()["extendable_left"] == 0.0
    r = send_control(api, "extend", "1m")
    assert (r.status_code, r.json()["error"]) == (
        409,
        "deep is already extended by the most it may be (1m)",
    )


def test_a_control_pressed_too_long_ago_is_refused_and_journaled_never_applied(
    api: TestClient, room: Daemon
) -> None:
    start_session(api)
    now = datetime.now(UTC)
    fresh = {"action": "level", "value": "up", "pressed_at": now.isoformat()}
    r = api.post("/api/control", json=fresh)
    assert r.status_code == 200
    stale = {
        "action": "level",
        "value": "up",
        "pressed_at": (now - timedelta(seconds=7)).isoformat(),
    }
    r = api.post("/api/control", json=stale)
    assert r.status_code == 409
    assert r.json()["error"].startswith(
        "not applied: pressed 7s ago, while the screen was not live"
    )
    for bad in ("yesterday", "2026-12-03T10:00:00", 17):
        r = api.post("/api/control", json={"action": "next", "pressed_at": bad})
        assert (r.status_code, r.json()["error"]) == (
            400,
            "pressed_at must be an ISO 8601 time with its offset",
        )
    journaled = room.runner.journal.events(room.runner.session_id)
    assert [e["action"] for e in journaled if e["type"] == "control"] == ["level"]
    [refused] = [e for e in journaled if e["type"] == "control_refused"]
    assert refused["action"] == "level" and refused["pressed_at"].endswith("+00:00")
    assert api.get("/api/status").json()["nudge_pct"] == pytest.approx(STEP_PCT, abs=0.01)


def test_a_control_without_a_session_is_a_409(api: TestClient) -> None:
    r = send_control(api, "extend", "5m")
    assert r.status_code == 409
    assert r.json() == {"error": "no session is running"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"action": "dance"}, "unknown action 'dance'"),
        ({"action": "extend"}, "extend needs a value"),
        ({"action": "level", "value": "loud"}, "level"),
        ({"action": "extend", "value": ["5m"]}, "value must be text"),
    ],
)
def test_bad_controls_are_400(api: TestClient, body: dict[str, Any], message: str) -> None:
    r = api.post("/api/control", json=body)
    assert r.status_code == 400
    assert message in r.json()["error"]


def test_the_api_takes_the_actions_of_the_text_form_and_asks_a_value_where_it_does(
    api: TestClient,
) -> None:
    """One list of actions (core/controls.py) for the API, the CLI and `--control`."""
    for action in USER_ACTIONS:
        r = send_control(api, action)
        if action in NEEDS_VALUE:
            assert (r.status_code, r.json()) == (400, {"error": f"{action} needs a value"})
            with pytest.raises(ValueError, match="needs"):
                parse_control(action)
        else:  # a well-formed control: refused only because no session runs
            assert (r.status_code, r.json()) == (409, {"error": "no session is running"})
            assert parse_control(action).action == action
    for action in ("dance", ["pause"], None):
        r = api.post("/api/control", json={"action": action})
        assert (r.status_code, r.json()) == (
            400,
            {"error": f"unknown action {action!r}; one of {', '.join(sorted(USER_ACTIONS))}"},
        )


def test_a_note_over_4_kb_is_a_413_and_nothing_is_journaled(api: TestClient, room: Daemon) -> None:
    session = (start_still_session(api, room.folder),)
    journal = room.runner.journal
    rows = "SELECT seq, type, data FROM events WHERE session_id = ? ORDER BY seq"
    before = journal.query(rows, session)
    for text in ("x" * 4097, "é" * 2049, "ノ" * 1366):  # bytes count, not characters
        r = send_control(api, "note", text)
        size = len(text.encode())
        assert (r.status_code, r.json()) == (
            413,
            {"error": f"a note is at most 4 KB; this one is {size} bytes"},
        )
    assert journal.query(rows, session) == before
    r = send_control(api, "note", "y" * 4096)  # exactly 4 KB is a note
    assert [e["text"] for e in r.json()["events"] if e["type"] == "note"] == ["y" * 4096]


def test_a_body_that_is_not_json_is_a_400(api: TestClient) -> None:
    r = api.post("/api/control", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert set(r.json()) == {"error"}


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize("patient", ["../x", "a b", "", "-x", "x" * 65, "P/0042"])
def test_invalid_patient_ids_are_refused(api: TestClient, patient: str) -> None:
    r = api.post("/api/session", json={"patient": patient, "profile": "short"})
    assert r.status_code == 400
    r = api.get("/api/preflight", params={"patient": patient, "profile": "short"})
    assert r.status_code == 400
    assert "is not a patient ID" in r.json()["error"]


@pytest.mark.parametrize(
    ("profile", "status", "message"),
    [
        ("../short", 400, "'../short' is not a profile name"),
        ("Short story", 400, "'Short story' is not a profile name"),
        ("gone", 404, "no profile 'gone' in {profiles}"),
    ],
)
def test_a_bad_profile_name_is_a_400_and_a_missing_profile_a_404(
    api: TestClient, room: Daemon, profile: str, status: int, message: str
) -> None:
    expected = {"error": message.format(profiles=room.folder.profiles_dir)}
    r = api.post("/api/session", json={"patient": "P-0042", "profile": profile})
    assert (r.status_code, r.json()) == (status, expected)
    r = api.get("/api/preflight", params={"patient": "P-0042", "profile": profile})
    assert (r.status_code, r.json()) == (status, expected)
    assert api.get("/api/status").json() == {"running": False}


# ---------------------------------------------------------------- the clinical record

NASAL = """\
name: Nasal
route: intranasal
phases:
  - id: dosing
    duration: open
    music: silence
"""
NO_MEDS = {
    "benzodiazepines": False,
    "non-benzodiazepine sedative-hypnotics": False,
    "psychostimulants": False,
    "maois": False,
    "opioids": True,
}


def test_readings_dose_and_ready_through_the_api(api: TestClient, room: Daemon) -> None:
    start_still_session(api, room.folder)
    r = send_control(api, "ack", "bp=150/95 hr=88")
    assert r.status_code == 200
    recorded, alert = [e for e in r.json()["events"] if e["type"].startswith("vitals_")]
    assert (recorded["readings"], recorded["units"], recorded["checkin"]) == (
        {"bp": [150, 95], "hr": 88},
        {"bp": "mm[Hg]", "hr": "/min"},
        None,
    )
    assert (alert["what"], alert["value"], alert["threshold"]) == (
        "bp_pre_dose_above",
        "150/95",
        "140/90",
    )
    assert room.recorded.chimes[0].named("play")[-1].args == ("bell", 0.45, "staff")
    r = send_control(api, "dose", "esketamine 56mg lot=A123")
    [dose] = [e for e in r.json()["events"] if e["type"] == "dose_given"]
    assert (dose["amount"], dose["unit"], dose["route"], dose["lot"]) == (
        56.0,
        "mg",
        "other",
        "A123",
    )
    assert _types(send_control(api, "ready"))[-1] == "ready_to_leave"


BAD_CLINICAL = [
    ("ack", "bp=300/20", "bp=300/20: systolic 300 is not plausible (60-260 mm[Hg])"),
    ("ack", "hr=abc", "hr=abc: write a whole number (25-250 /min)"),
    ("ack", "spo2=120", "spo2=120: 120 is not plausible (50-100 %)"),
    ("dose", "esketamine", "dose esketamine needs an amount, e.g. 56mg; write dose NAME "
     "AMOUNT [route=R] [lot=L], e.g. dose esketamine 56mg lot=A123"),
    ("dose", "esketamin 56mg", "unknown medication 'esketamin' (did you mean 'esketamine'?)"),
]  # fmt: skip


def test_implausible_readings_and_bad_doses_are_400_and_nothing_is_journaled(
    api: TestClient, room: Daemon
) -> None:
    session = (start_still_session(api, room.folder),)
    rows = "SELECT seq, type, data FROM events WHERE session_id = ? ORDER BY seq"
    before = room.runner.journal.query(rows, session)
    for action, value, message in BAD_CLINICAL:
        r = send_control(api, action, value)
        assert (r.status_code, r.json()) == (400, {"error": message})
    assert room.runner.journal.query(rows, session) == before


def test_an_intranasal_session_starts_only_with_its_facts(api: TestClient, room: Daemon) -> None:
    (room.folder.root / "profiles" / "nasal.yaml").write_text(NASAL)
    summary = {p["name"]: p for p in api.get("/api/profiles").json()}["nasal"]
    assert summary["asks_facts"] == list(NO_MEDS)
    r = api.post("/api/session", json={"patient": "P-0042", "profile": "nasal"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("an intranasal session records concomitant medications")
    assert room.runner.journal.sessions() == []
    facts = {"medications": NO_MEDS, "first_treatment": False, "intention": "to let go"}
    r = api.post("/api/session", json={"patient": "P-0042", "profile": "nasal", "facts": facts})
    assert r.status_code == 201, r.text
    journaled = room.runner.journal.events(r.json()["session_id"])
    [given] = [e for e in journaled if e["type"] == "session_facts"]
    assert {k: given[k] for k in facts} == facts
