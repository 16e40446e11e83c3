"""The room's link against a real hub and PostgreSQL: everything pushed exactly once, in
order, resumed from the hub's record; the hub away is a clear line, never a wait."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from setandsetting.clinic.link import ClinicLink, LinkDown, sync_once
from setandsetting.clinic.settings import LinkSettings
from setandsetting.clinic.store import ClinicStore
from setandsetting.journal.store import Journal
from tests.journal.synthetic import journal_session, session_events
from tests.support.clinic import HubThread, hub_thread

pytestmark = pytest.mark.postgres


@pytest.fixture
def hub(clinic_db: str) -> HubThread:
    with hub_thread(clinic_db) as h:
        yield h


def settings(hub: HubThread, token: str) -> LinkSettings:
    return LinkSettings(hub.url, "Room 2", token)


def journal_with(tmp_path: Path, sessions: int) -> Path:
    path = tmp_path / "sessions.db"
    with Journal.open(path) as journal:
        for n in range(sessions):
            journal_session(journal, datetime(2026, 11, 26 + n, 16, 5, 1, tzinfo=UTC))
    return path


def room_record(path: Path) -> dict[str, list[dict]]:
    with Journal.open(path, create=False) as journal:
        return {s.id: journal.events(s.id) for s in journal.sessions()}


def test_sync_pushes_every_session_exactly_once(hub: HubThread, tmp_path: Path) -> None:
    token = hub.store.add_room("Room 2")
    path = journal_with(tmp_path, 3)
    total = sum(len(e) for e in room_record(path).values())
    assert sync_once(path, settings(hub, token)) == (total, total)
    assert hub.store.room_events("Room 2") == room_record(path)
    assert sync_once(path, settings(hub, token)) == (0, total)


def test_sync_with_the_hub_away_says_so_in_one_line(hub: HubThread, tmp_path: Path) -> None:
    token = hub.store.add_room("Room 2")
    path = journal_with(tmp_path, 1)
    hub.stop()
    with pytest.raises(LinkDown) as raised:
        sync_once(path, settings(hub, token), timeout_s=1)
    assert str(raised.value).startswith(f"the clinic hub at {hub.url} cannot be reached (")
    assert "\n" not in str(raised.value)


def test_a_wrong_token_is_refused_by_the_hub(hub: HubThread, tmp_path: Path) -> None:
    hub.store.add_room("Room 2")
    with pytest.raises(LinkDown, match="answered 401: no room has this token"):
        sync_once(journal_with(tmp_path, 1), settings(hub, "not-the-token"))


def test_the_link_thread_catches_up_when_the_hub_returns(hub: HubThread, tmp_path: Path) -> None:
    token = hub.store.add_room("Room 2")
    path = journal_with(tmp_path, 1)
    hub.stop()
    link = ClinicLink(path, settings(hub, token), timeout_s=1)
    link.start()
    try:
        deadline = time.monotonic() + 5
        while link.status()["why"] == "not yet connected":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        down = link.status()
        assert down["up"] is False and "cannot be reached" in down["why"]
        assert down["pending"] == len(session_events())
        hub.start()
        with Journal.open(path, create=False) as journal:  # a new session meanwhile
            journal_session(journal, datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
        deadline = time.monotonic() + 10
        while hub.store.room_events("Room 2") != room_record(path) or not link.status()["up"]:
            assert time.monotonic() < deadline, link.status()
            time.sleep(0.05)
        assert link.status()["up"] is True and link.status()["pending"] == 0, link.status()
    finally:
        link.close()


def test_a_batch_the_hub_holds_part_of_resumes_where_its_record_ends(
    hub: HubThread, tmp_path: Path
) -> None:
    token = hub.store.add_room("Room 2")
    path = journal_with(tmp_path, 1)
    room = hub.store.room_by_token(token)
    # What a room killed mid-push leaves: the hub holds the first 5 events.
    from setandsetting.clinic.outbox import Outbox
    from setandsetting.clinic.wire import Batch

    with Journal.open(path, create=False) as journal:
        outbox = Outbox(journal, max_events=5)
        outbox.reset({})
        first = outbox.next_batch()
    assert room is not None and first is not None
    hub.store.ingest(room, Batch.model_validate(first))
    sent, held = sync_once(path, settings(hub, token))
    assert (sent, held) == (len(session_events()) - 5, len(session_events()))
    assert hub.store.room_events("Room 2") == room_record(path)


def test_the_store_sees_the_exact_event_dicts(hub: HubThread, tmp_path: Path) -> None:
    token = hub.store.add_room("Room 2")
    path = journal_with(tmp_path, 1)
    sync_once(path, settings(hub, token))
    [session] = hub.store.sessions()
    assert isinstance(hub.store, ClinicStore)
    assert session["events"] == len(session_events())
    assert session["patient"] == "P0042"


def test_a_room_with_no_session_yet_reports_in(hub: HubThread, tmp_path: Path) -> None:
    token = hub.store.add_room("Room 2")
    link = ClinicLink(tmp_path / "sessions.db", settings(hub, token))
    link.start()
    try:
        deadline = time.monotonic() + 5
        while not link.status()["up"]:
            assert time.monotonic() < deadline, link.status()
            time.sleep(0.02)
        assert [r.name for r in hub.store.rooms() if r.last_seen is not None] == ["Room 2"]
    finally:
        link.close()
