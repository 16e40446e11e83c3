"""The JSON API against a real engine (recording music/chimes) and a real room folder."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.daemon import MOVED_PLAYLIST, PATIENT_PLAYLIST, Daemon, client, daemon


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Daemon]:
    with daemon(tmp_path) as d:
        yield d


@pytest.fixture
def api(room: Daemon) -> Iterator[TestClient]:
    c = client(room.app)
    seen: list[str] = []
    original = c.request

    def request(*args: Any, **kwargs: Any) -> Any:
        response = original(*args, **kwargs)
        seen.append(response.text)
        return response

    c.request = request  # type: ignore[method-assign]
    yield c
    assert not any("Traceback" in text for text in seen), "a response showed a traceback"


def _start(api: TestClient) -> dict[str, Any]:
    r = api.post("/api/session", json={"patient": "P-0042", "profile": "short"})
    assert r.status_code == 201, r.text
    return r.json()


def _control(api: TestClient, action: str, value: str | None = None) -> Any:
    return api.post("/api/control", json={"action": action, "value": value})


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
            {"id": "settle", "name": "Settle", "duration_s": 20.0},
            {"id": "deep", "name": "Deep", "duration_s": 120.0},
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
    assert all(set(o) == {"wanted", "found"} for o in outputs.values())


# ---------------------------------------------------------------- session and controls


def test_start_then_a_second_start_is_refused(api: TestClient) -> None:
    status = _start(api)
    assert status["running"] is True
    assert (status["patient"], status["profile"], status["phase"]) == ("P-0042", "short", "settle")
    r = api.post("/api/session", json={"patient": "P-0042", "profile": "short"})
    assert r.status_code == 409
    assert r.json() == {"error": "a session is already running in this room"}


def test_a_broken_profile_is_a_400_with_file_line_col(api: TestClient) -> None:
    r = api.post("/api/session", json={"patient": "P-0042", "profile": "broken"})
    assert r.status_code == 400
    assert r.json()["problems"] == [r.json()["error"]]
    assert "broken.yaml:4:15: phases[0].duration:" in r.json()["error"]
    assert api.get("/api/status").json() == {"running": False}


def test_every_control_is_applied_by_the_engine(api: TestClient, room: Daemon) -> None:
    _start(api)
    r = _control(api, "level", "+5%")
    assert r.status_code == 200 and "level_changed" in _types(r)
    changed = [e for e in r.json()["events"] if e["type"] == "level_changed"]
    assert changed[0]["nudge_pct"] == 5.0
    r = _control(api, "note", "calm, eyes closed")
    assert [e["text"] for e in r.json()["events"] if e["type"] == "note"] == ["calm, eyes closed"]
    assert "music_held" in _types(_control(api, "pause"))
    assert "music_resumed" in _types(_control(api, "resume"))
    playing = api.get("/api/status").json()["now_playing"]["title"]
    r = _control(api, "skip")
    assert "track_started" in _types(r)
    assert api.get("/api/status").json()["now_playing"]["title"] != playing
    pending = _wait(lambda: api.get("/api/status").json()["pending"])
    r = _control(api, "ack", pending[0]["id"])
    assert r.status_code == 200 and "checkin_acknowledged" in _types(r)
    r = _control(api, "extend", "10s")  # settle is not extendable: refused, said why
    assert r.status_code == 409
    assert r.json()["error"] == "settle is not extendable"
    assert _types(r)[-1] == "control_refused"
    assert "phase_advanced" in _types(_control(api, "next"))
    r = _control(api, "extend", "10s")
    assert r.status_code == 200 and "phase_extended" in _types(r)
    assert "quiet" in _types(_control(api, "quiet"))
    assert "session_ended" in _types(_control(api, "stop"))
    assert api.get("/api/status").json()["running"] is False
    journaled = room.runner.journal.events(room.runner.session_id)
    actions = [e["action"] for e in journaled if e["type"] == "control"]
    assert actions == [
        "level", "note", "pause", "resume", "skip", "ack", "extend", "next", "extend", "quiet",
        "stop",
    ]  # fmt: skip


def test_a_control_without_a_session_is_a_409(api: TestClient) -> None:
    r = _control(api, "extend", "5m")
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


@pytest.mark.parametrize("patient", ["a%20b", "..%2Fx", "%2E%2E"])
def test_invalid_patient_ids_in_paths_are_refused(api: TestClient, patient: str) -> None:
    r = api.get(f"/api/patients/{patient}/playlists")
    assert r.status_code in (400, 404)
    assert set(r.json()) == {"error"}


@pytest.mark.parametrize("slot", ["..%2F..%2Fetc", "Calm", "calm.yaml", "a b", "..", "%2E%2E"])
def test_slot_traversal_is_refused(api: TestClient, room: Daemon, slot: str) -> None:
    before = sorted(p.name for p in room.folder.root.rglob("*"))
    for r in (
        api.get(f"/api/patients/P-0042/playlists/{slot}"),
        api.post(f"/api/patients/P-0042/playlists/{slot}/tracks", json={"path": "music/t2.flac"}),
        api.post(f"/api/patients/P-0042/playlists/{slot}/copy-default"),
    ):
        assert r.status_code in (400, 404), r.text
        assert set(r.json()) == {"error"}
    assert sorted(p.name for p in room.folder.root.rglob("*")) == before


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("../music/t0.flac", 400),
        ("music/../../etc/passwd", 400),
        ("/etc/passwd", 400),
        ("music/escape.flac", 400),  # a symlink out of the library root
        ("profiles/short.yaml", 400),  # in the room, but not in the library
        ("music/none.flac", 404),
        ("", 400),
    ],
)
def test_track_paths_outside_the_library_are_refused(
    api: TestClient, room: Daemon, path: str, status: int
) -> None:
    outside = room.folder.root.parent / "outside.flac"
    outside.write_bytes(b"not really audio")
    (room.folder.root / "music" / "escape.flac").symlink_to(outside)
    playlist = room.folder.root / "playlists" / "P-0042" / "calm.yaml"
    r = api.post("/api/patients/P-0042/playlists/calm/tracks", json={"path": path})
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"}
    assert playlist.read_text() == PATIENT_PLAYLIST


def test_an_unexpected_failure_is_a_plain_500(api: TestClient, room: Daemon, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def explode() -> list[str]:
        raise RuntimeError("disk on fire at /secret/path")

    monkeypatch.setattr(room.folder, "patients", explode)
    r = api.get("/api/patients")
    assert r.status_code == 500
    assert r.json() == {"error": "internal error"}


# ---------------------------------------------------------------- playlists


def test_playlists_of_a_patient(api: TestClient) -> None:
    slots = api.get("/api/patients/P-0042/playlists").json()
    assert [(s["slot"], s["owner"], s["file"]) for s in slots] == [
        ("calm", "patient", "playlists/P-0042/calm.yaml")
    ]
    assert [(t["title"], t["path"], t["duration_s"]) for t in slots[0]["tracks"]] == [
        ("T1", "../../music/t1.flac", 8.0),
        ("T0", "../../music/t0.flac", 8.0),
    ]


def test_move_add_remove_change_the_file_and_keep_comments(api: TestClient, room: Daemon) -> None:
    path = room.folder.root / "playlists" / "P-0042" / "calm.yaml"
    r = api.post("/api/patients/P-0042/playlists/calm/move", json={"from": 1, "to": 0})
    assert r.status_code == 200, r.text
    assert [t["title"] for t in r.json()["tracks"]] == ["T0", "T1"]
    assert path.read_text() == MOVED_PLAYLIST
    r = api.post(
        "/api/patients/P-0042/playlists/calm/tracks",
        json={"path": "music/t3.flac", "title": "Three"},
    )
    assert r.status_code == 200, r.text
    assert path.read_text().endswith("  - path: ../../music/t3.flac\n    title: Three\n")
    r = api.delete("/api/patients/P-0042/playlists/calm/tracks/0")
    assert [t["title"] for t in r.json()["tracks"]] == ["T1", "Three"]
    assert path.read_text().startswith("# The patient's own calm list: keep this comment.\n")
    assert api.delete("/api/patients/P-0042/playlists/calm/tracks/7").status_code == 404
    r = api.post("/api/patients/P-0042/playlists/calm/move", json={"from": "0", "to": 1})
    assert r.status_code == 400


def test_copy_default_for_a_new_patient(api: TestClient, room: Daemon) -> None:
    r = api.post("/api/patients/P-0043/playlists/calm/copy-default")
    assert r.status_code == 201, r.text
    assert r.json()["owner"] == "patient"
    assert r.json()["note"] == "copied from playlists/default/calm.yaml"
    default = (room.folder.root / "playlists/default/calm.yaml").read_text()
    assert (room.folder.root / "playlists/P-0043/calm.yaml").read_text() == default
    again = api.post("/api/patients/P-0043/playlists/calm/copy-default")
    assert again.status_code == 400
    assert api.post("/api/patients/P-0043/playlists/none/copy-default").status_code == 404


def test_avoid_list_round_trip(api: TestClient, room: Daemon) -> None:
    assert api.get("/api/patients/P-0042/avoid").json() == {"avoid": []}
    r = api.put("/api/patients/P-0042/avoid", json={"avoid": ["*Storm*", "music/t2.flac"]})
    assert r.json() == {"avoid": ["*Storm*", "music/t2.flac"]}
    text = (room.folder.root / "playlists/P-0042/patient.yaml").read_text()
    assert text.startswith("# standing preferences\n")
    assert api.put("/api/patients/P-0042/avoid", json={"avoid": "x"}).status_code == 400


def test_library_lists_and_filters(api: TestClient) -> None:
    everything = api.get("/api/library").json()
    assert [e["path"] for e in everything] == [f"music/t{i}.flac" for i in range(4)]
    assert api.get("/api/library", params={"q": "T2"}).json() == [
        {"path": "music/t2.flac", "title": "t2", "duration_s": 8.0}
    ]


# ---------------------------------------------------------------- journal


def test_sessions_review_and_exports(api: TestClient) -> None:
    _start(api)
    _control(api, "note", "review me")
    _control(api, "stop")
    sessions = api.get("/api/sessions").json()
    assert len(sessions) == 1 and sessions[0]["end_reason"] == "stopped"
    sid = sessions[0]["id"]
    detail = api.get(f"/api/sessions/{sid}").json()
    assert detail["session"]["patient"] == "P-0042"
    assert "Phases" in [t["title"] for t in detail["review"]["tables"]]
    assert any(e["type"] == "note" and e["text"] == "review me" for e in detail["events"])
    csv = api.get(f"/api/sessions/{sid}/export", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("seq,type,t,wall,data\n")
    assert (
        api.get(f"/api/sessions/{sid}/export", params={"format": "json"}).json()["session"]["id"]
        == sid
    )
    html = api.get(f"/api/sessions/{sid}/export", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text
    assert api.get(f"/api/sessions/{sid}/export", params={"format": "pdf"}).status_code == 400
    assert api.get("/api/sessions/nope").status_code == 404


def test_docs_list_every_api_route_from_the_openapi_document_and_load_nothing_remote(
    api: TestClient,
) -> None:
    """/docs works in an offline room (FastAPI's Swagger page fetches a CDN) and is dark."""
    spec = api.get("/openapi.json").json()
    wanted = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert len(wanted) >= 10  # session, controls, playlists, library, journal
    page = api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    rows = re.findall(r"<tr>\s*<td>(\w+)</td>\s*<td><code>([^<]+)</code>", page.text)
    assert {(m, html.unescape(p)) for m, p in rows} == wanted
    assert not re.search(r"""(src|href)=["']https?://""", page.text)
    assert 'style="background:#0d0f12' in page.text
    assert api.get("/redoc").status_code == 404
