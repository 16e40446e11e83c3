"""The clinic dashboard in Debian's chromium: a staff check-in in one room appears there;
acknowledged there, the room's engine applies it and journals it, and it clears on the
dashboard only once the room's push brought the journaled ack back. Both records hold it
once, and so do the BP and pulse sent with it; an implausible reading is refused at the hub
and by the room."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from setandsetting.clinic.commands import command_applier
from setandsetting.clinic.link import ClinicLink
from setandsetting.clinic.settings import LinkSettings
from setandsetting.engine.runner import SessionRunner
from setandsetting.room.folder import RoomFolder
from tests.support.browser import build_room, chromium, recording_devices, watched_tab
from tests.support.clinic import hub_thread

pytestmark = [pytest.mark.browser, pytest.mark.postgres]
__all__ = ["chromium"]


@pytest.fixture
def page(chromium: Any) -> Iterator[Page]:
    with watched_tab(chromium) as tab:
        yield tab


def test_a_staff_checkin_is_seen_and_acknowledged_from_the_dashboard(
    page: Page, clinic_db: str
) -> None:
    with hub_thread(clinic_db) as hub, tempfile.TemporaryDirectory(prefix="sas-clinic-") as tmp:
        token = hub.store.add_room("Room 2")
        folder = RoomFolder(build_room(Path(tmp)))
        runner = SessionRunner(folder, devices=recording_devices, midi_input=False)
        link = ClinicLink(
            folder.journal_path,
            LinkSettings(hub.url, "Room 2", token),
            apply=command_applier(runner),
        )
        link.start()
        try:
            runner.start(folder.profile_path("fast"), "P-0042")
            session_id = runner.session_id
            page.goto(f"{hub.url}/")
            page.click("#btn-sound")  # a touch unlocks the browser's audio
            assert page.evaluate("bell.audio.state") == "running"
            waiting = page.locator('#needs-list li[data-room="Room 2"]')
            expect(waiting).to_have_count(1)
            expect(waiting).to_contain_text("Room 2 · P-0042 · vitals: BP and pulse")
            expect(page.locator("body")).to_have_attribute("data-chimes", "1")
            expect(page.locator('.room-card[data-room="Room 2"]')).to_contain_text("peak for")
            checkin = waiting.get_attribute("data-checkin")
            assert runner.engine is not None
            assert [p["id"] for p in runner.engine.snapshot()["pending"]] == [checkin]
            # The room refuses an implausible reading whatever the hub let through.
            apply = command_applier(runner)
            wild = {"kind": "ack", "session": session_id}
            wild["payload"] = {"checkin": checkin, "readings": "bp=300/95"}
            assert apply(wild) == (
                "refused: bp=300/95: systolic 300 is not plausible (60-260 mm[Hg])"
            )
            waiting.locator(".btn-ack").click()
            page.fill("#ack-bp", "15/95")
            page.click("#ack-send")
            expect(page.locator("#toast")).to_contain_text("systolic 15 is not plausible")
            page.fill("#ack-bp", "128/82")
            page.fill("#ack-hr", "88")
            page.click("#ack-send")
            expect(waiting).to_have_count(0)
            assert runner.engine.snapshot()["pending"] == []
            journaled = runner.journal.events(session_id)
            acks = [e for e in journaled if e["type"] == "checkin_acknowledged"]
            assert [a["id"] for a in acks] == [checkin]
            vitals = [e for e in journaled if e["type"] == "vitals_recorded"]
            assert [(v["checkin"], v["readings"]) for v in vitals] == [
                (checkin, {"bp": [128, 82], "hr": 88})
            ]
            deadline = time.monotonic() + 5
            while hub.store.room_events("Room 2")[session_id] != runner.journal.events(session_id):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            held = hub.store.room_events("Room 2")[session_id]
            assert [e["id"] for e in held if e["type"] == "checkin_acknowledged"] == [checkin]
            assert [e for e in held if e["type"] == "vitals_recorded"] == vitals
        finally:
            engine = runner.engine
            if engine is not None and engine.running:
                engine.stop()
            link.close()
            runner.close()
