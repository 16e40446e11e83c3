"""The hub's HTTP surface against a real PostgreSQL: the rooms' paths by room token only,
the staff's pages and API behind the room daemon's own guard, acks queued for the room."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from setandsetting.clinic.hub import create_hub
from setandsetting.clinic.staff import StaffAccess
from setandsetting.clinic.store import ClinicStore
from tests.support.daemon import client

pytestmark = pytest.mark.postgres

STARTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def batch(*events: dict) -> dict:
    return {
        "sessions": [
            {
                "session": "s1",
                "patient": "P-0042",
                "profile_path": "profiles/demo.yaml",
                "profile_name": "Demo",
                "started_wall": STARTED.isoformat(),
                "plan": {"checkins": [{"id": "c2", "at_s": 1e6, "kind": "bp"}]},
                "events": [{"seq": n + 1, "event": e} for n, e in enumerate(events)],
            }
        ]
    }


DUE = {
    "type": "checkin_due",
    "t": 60.0,
    "wall": "2026-12-01T09:01:00.000+00:00",
    "id": "c1",
    "kind": "vitals",
    "message": "BP",
    "audience": "staff",
    "ack": "required",
    "phase": "peak",
}


@pytest.fixture
def store(clinic_db: str) -> Iterator[ClinicStore]:
    s = ClinicStore.open(clinic_db)
    yield s
    s.close()


def test_room_paths_need_the_rooms_token_and_a_valid_batch(store: ClinicStore) -> None:
    token = store.add_room("Room 2")
    api = client(create_hub(store))
    assert api.get("/api/room/held").status_code == 401
    wrong = api.get("/api/room/held", headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()) == (
        401,
        {"error": "no room has this token (clinic add-room gives one)"},
    )
    bearer = {"Authorization": f"Bearer {token}"}
    bad = batch({"type": "note", "t": "soon"})
    refused = api.post("/api/room/events", json=bad, headers=bearer)
    assert refused.status_code == 400 and "t" in refused.json()["error"]
    bad_patient = batch(DUE)
    bad_patient["sessions"][0]["patient"] = "../etc"
    assert api.post("/api/room/events", json=bad_patient, headers=bearer).status_code == 400
    stored = api.post("/api/room/events", json=batch(DUE), headers=bearer)
    assert stored.json() == {"room": "Room 2", "held": {"s1": 1}}
    assert store.room_events("Room 2") == {"s1": [DUE]}


def test_the_staff_side_needs_the_clinic_login_off_loopback(store: ClinicStore) -> None:
    app = create_hub(store, StaffAccess(host="0.0.0.0", token="clinic-secret"))
    api = client(app, host="10.0.0.5")
    assert api.get("/api/rooms").status_code == 401
    page = api.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/login")
    assert api.post("/login", json={"token": "wrong"}).status_code == 403
    signed = api.post("/login", json={"token": "clinic-secret"})
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert api.get("/api/rooms").status_code == 200
    assert "Every room" in api.get("/").text
    no_csrf = api.post("/api/rooms/Room 2/ack", json={}, headers={"X-CSRF-Token": ""})
    assert no_csrf.status_code == 403


def test_an_ack_from_the_dashboard_waits_for_the_room_and_shows_once_journaled(
    store: ClinicStore,
) -> None:
    token = store.add_room("Room 2")
    api = client(create_hub(store))
    bearer = {"Authorization": f"Bearer {token}"}
    api.post("/api/room/events", json=batch(DUE), headers=bearer)
    [room] = api.get("/api/rooms").json()["rooms"]
    assert (room["room"], room["link"], room["session"], room["patient"]) == (
        "Room 2",
        "up",
        "s1",
        "P-0042",
    )
    assert [p["id"] for p in room["pending_checkins"]] == ["c1"]
    assert room["next_checkin"]["kind"] == "bp"
    assert api.post("/api/rooms/Room 9/ack", json={"checkin": "c1", "session": "s1"}).json() == {
        "error": "no room named 'Room 9'"
    }
    implausible = api.post(
        "/api/rooms/Room 2/ack", json={"checkin": "c1", "session": "s1", "readings": "bp=15/95"}
    )
    assert (implausible.status_code, implausible.json()) == (
        400,
        {"error": "readings: bp=15/95: systolic 15 is not plausible (60-260 mm[Hg])"},
    )
    queued = api.post(
        "/api/rooms/Room 2/ack",
        json={"checkin": "c1", "session": "s1", "readings": " hr=88  bp=150/95"},
    )
    assert queued.status_code == 202
    [command] = api.get("/api/room/commands", headers=bearer).json()["commands"]
    assert command == {
        "id": queued.json()["queued"],
        "session": "s1",
        "kind": "ack",
        "payload": {"checkin": "c1", "readings": "bp=150/95 hr=88"},
    }
    # Still waiting on the dashboard: the room has not journaled it.
    assert api.get("/api/rooms").json()["rooms"][0]["pending_checkins"] != []
    done = api.post(
        f"/api/room/commands/{command['id']}", json={"outcome": "applied"}, headers=bearer
    )
    assert done.json() == {"ok": True}
    assert api.get("/api/room/commands", headers=bearer).json()["commands"] == []
    acked = {
        "type": "checkin_acknowledged",
        "t": 75.0,
        "id": "c1",
        "kind": "vitals",
        "latency_s": 15.0,
    }
    api.post("/api/room/events", json=batch(DUE, acked), headers=bearer)
    assert api.get("/api/rooms").json()["rooms"][0]["pending_checkins"] == []


def test_the_stream_starts_with_every_room(store: ClinicStore) -> None:
    store.add_room("Room 1")
    with client(create_hub(store)) as api, api.stream("GET", "/api/stream") as stream:
        lines = stream.iter_lines()
        first, data = next(lines), next(lines)
    assert first == "event: rooms"
    assert '"rooms":[{"room":"Room 1","link":"down"' in data
