"""What a room sends the hub, one format for both ends: batches of journaled events.

A batch names sessions, each with what the room's journal says of it (patient, profile,
when it began, its plan) and some of its events, each with the seq the room's journal gave
it. Bounded, so one request can never hold a whole year of a room: at most MAX_SESSIONS
sessions and MAX_EVENTS events in all. The hub answers with `held`: for each session,
the last seq it holds in order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from setandsetting.core.types import check_patient_id
from setandsetting.journal.store import check_event

MAX_SESSIONS = 50
MAX_EVENTS = 500
SESSION_ID_MAX = 200


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a wall time needs its time zone (UTC)")
    return value


class WireEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=1)
    event: dict[str, Any]

    @model_validator(mode="after")
    def _valid(self) -> WireEvent:
        check_event(self.event)  # ValueError: a 422 naming the event
        return self

    def parts(self) -> tuple[str, float, str | None, str]:
        """(type, t, wall, data JSON), as the room's journal stores them."""
        return check_event(self.event)


class WireSession(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=1, max_length=SESSION_ID_MAX)
    patient: Annotated[str, AfterValidator(check_patient_id)]
    profile_path: str = Field(max_length=4096)
    profile_name: str = Field(max_length=4096)
    started_wall: Annotated[datetime, AfterValidator(_aware)]
    plan: dict[str, Any]
    events: list[WireEvent] = Field(max_length=MAX_EVENTS)


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sessions: list[WireSession] = Field(max_length=MAX_SESSIONS)

    @model_validator(mode="after")
    def _bounded(self) -> Batch:
        total = sum(len(item.events) for item in self.sessions)
        if total > MAX_EVENTS:
            raise ValueError(f"a batch holds at most {MAX_EVENTS} events ({total} sent)")
        return self


def wire_session(summary: Any, events: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    """A batch's entry for one journaled session (a journal SessionSummary) and its events."""
    return {
        "session": summary.id,
        "patient": summary.patient,
        "profile_path": summary.profile_path,
        "profile_name": summary.profile_name,
        "started_wall": summary.started_wall.isoformat(),
        "plan": summary.plan,
        "events": [{"seq": seq, "event": event} for seq, event in events],
    }
