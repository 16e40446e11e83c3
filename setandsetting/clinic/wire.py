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

from setandsetting.core.controls import Control
from setandsetting.core.types import check_patient_id
from setandsetting.core.vitals import parse_readings
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
    # What the journal says of the session: sent until the hub holds any of it (a plan is
    # tens of KB, not worth sending with every event).
    patient: Annotated[str, AfterValidator(check_patient_id)] | None = None
    profile_path: str | None = Field(default=None, max_length=4096)
    profile_name: str | None = Field(default=None, max_length=4096)
    started_wall: Annotated[datetime, AfterValidator(_aware)] | None = None
    plan: dict[str, Any] | None = None
    events: list[WireEvent] = Field(max_length=MAX_EVENTS)

    @model_validator(mode="after")
    def _whole(self) -> WireSession:
        about = (self.patient, self.profile_path, self.profile_name, self.started_wall, self.plan)
        if any(v is None for v in about) and any(v is not None for v in about):
            raise ValueError(
                "a session is described by all of patient, profile_path, "
                "profile_name, started_wall and plan, or by none"
            )
        return self

    @property
    def described(self) -> bool:
        return self.patient is not None


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sessions: list[WireSession] = Field(max_length=MAX_SESSIONS)

    @model_validator(mode="after")
    def _bounded(self) -> Batch:
        total = sum(len(item.events) for item in self.sessions)
        if total > MAX_EVENTS:
            raise ValueError(f"a batch holds at most {MAX_EVENTS} events ({total} sent)")
        return self


def wire_session(
    session_id: str, summary: Any, events: list[tuple[int, dict[str, Any]]]
) -> dict[str, Any]:
    """A batch's entry for one journaled session and its events, with what the journal
    says of it (a journal SessionSummary) when `summary` is given (the hub has none of it)."""
    if summary is None:
        return {"session": session_id, "events": [{"seq": s, "event": e} for s, e in events]}
    return {
        "session": summary.id,
        "patient": summary.patient,
        "profile_path": summary.profile_path,
        "profile_name": summary.profile_name,
        "started_wall": summary.started_wall.isoformat(),
        "plan": summary.plan,
        "events": [{"seq": seq, "event": event} for seq, event in events],
    }


def ack_readings(text: str) -> str:
    """The readings of a dashboard's ack, checked as the room will check them and written
    as the room's `ack` control words (`bp=150/95 hr=88`), so an implausible one is
    refused at the hub with the room's own reason; "" when none were given."""
    readings = parse_readings(text)
    if not readings:
        return ""
    return Control("ack", data={"readings": readings.to_fields()}).describe().removeprefix("ack ")
