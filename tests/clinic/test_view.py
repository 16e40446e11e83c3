"""A room as the staff see it, from its events: what waits, what is overdue, the link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from setandsetting.clinic.view import checkins_waiting, room_view

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def due(cid: str, t: float, ack: str = "required") -> dict:
    return {
        "type": "checkin_due",
        "t": t,
        "wall": (T0 + timedelta(seconds=t)).isoformat(),
        "id": cid,
        "kind": "vitals",
        "message": "BP",
        "audience": "staff",
        "ack": ack,
        "phase": "peak",
    }


def test_waiting_until_acknowledged_dismissed_or_missed_and_overdue_after_a_reminder() -> None:
    events = [
        due("a", 60),
        due("b", 120),
        due("c", 180),
        due("d", 240),
        due("n", 250, ack="none"),
        {"type": "checkin_escalated", "t": 200, "id": "b", "count": 1},
        {"type": "checkin_acknowledged", "t": 130, "id": "a", "latency_s": 70},
        {"type": "checkin_dismissed", "t": 260, "id": "c", "reason": "asleep"},
    ]
    assert [(w["id"], w["overdue"]) for w in checkins_waiting(events)] == [
        ("b", True),
        ("d", False),
    ]
    ended = [*events, {"type": "session_ended", "t": 300, "reason": "stopped"}]
    assert checkins_waiting(ended) == []


def test_a_room_is_connected_while_heard_from_and_counts_down_to_the_plans_next() -> None:
    session = {
        "id": 7,
        "session": "s1",
        "patient": "P-0042",
        "profile": "IM",
        "started": T0,
        "plan": {
            "checkins": [
                {"id": "a", "at_s": 60, "kind": "vitals", "audience": "staff"},
                {"id": "b", "at_s": 900, "kind": "bp", "audience": "staff"},
            ]
        },
    }
    started = {"type": "phase_started", "t": 0, "wall": T0.isoformat(), "phase": "peak"}
    now = T0 + timedelta(seconds=120)
    view = room_view("Room 2", now - timedelta(seconds=3), session, [started, due("a", 60)], now)
    assert (view["link"], view["phase"], view["running"], view["hub_session"]) == (
        "up",
        "peak",
        True,
        7,
    )
    assert view["next_checkin"] == {
        "at_s": 900,
        "kind": "bp",
        "audience": "staff",
        "wall": (T0 + timedelta(seconds=900)).isoformat(),
    }
    assert [w["id"] for w in view["pending_checkins"]] == ["a"]
    quiet = room_view("Room 2", now - timedelta(seconds=16), session, [started], now)
    assert quiet["link"] == "down"
    assert room_view("Room 3", None, None, [], now)["session"] is None
