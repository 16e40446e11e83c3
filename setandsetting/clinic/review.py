"""The clinic record read back: the room's own exports over the hub's events, and the
status of every room."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from setandsetting.clinic.store import ClinicStore
from setandsetting.clinic.view import room_view
from setandsetting.journal.export import FORMATS
from setandsetting.journal.export import export as export_as
from setandsetting.journal.store import SessionSummary


def summary_of(session: dict[str, Any]) -> SessionSummary:
    """The hub's session row as the room's journal would describe it."""
    return SessionSummary(
        id=session["session"],
        patient=session["patient"],
        profile_path=session["profile_path"],
        profile_name=session["profile"],
        started_wall=session["started"],
        plan=session["plan"],
        ended_wall=session["ended"],
        end_reason=session["reason"],
    )


def export(store: ClinicStore, hub_id: int, fmt: str) -> str:
    """One session of the clinic record as the room exports it (journal.export.FORMATS:
    json, csv, html, the REMS form, FHIR), so a clinic files the same from either."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    summary = summary_of(store.session(hub_id))
    return export_as(fmt, summary, [event for _seq, event in store.events(hub_id)])


def clinic_status(store: ClinicStore, now: datetime) -> list[dict[str, Any]]:
    """Every registered room: its link and its newest session, as the staff see it."""
    latest = store.latest_sessions()
    received = store.last_received()
    out = []
    for room in store.rooms():
        session = latest.get(room.name)
        events = [] if session is None else [e for _s, e in store.events(session["id"])]
        view = room_view(room.name, room.last_seen, session, events, now)
        view["last_received"] = received.get(room.name)
        out.append(view)
    return out
