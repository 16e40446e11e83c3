"""The Live page a nurse can trust, in Debian's chromium against a real `setandsetting serve`
process (one for the module): a required check-in still shown after its phase ends and
after Next; the not-live state within 4 s of the daemon being SIGSTOPped, gone after
SIGCONT; and a control pressed while the screen was not live never applied (the journal on
disk says so)."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support import journal_rows as on_disk
from tests.support.browser import build_room, chromium
from tests.support.processes import Proc, command, spawned, wait_served

pytestmark = pytest.mark.browser
__all__ = ["chromium"]  # a fixture, imported explicitly

# A dose check-in that must be acknowledged, in a phase that ends 2 s in; a peak that may
# take 2 minutes more; an open end.
WAITS_PROFILE = """\
name: Check-ins that wait
route: other
defaults:
  crossfade: 1s
phases:
  - id: dosing
    name: Dosing
    duration: 2s
    music: arrival
    level: 30%
    checkins:
      - {at: [0], kind: dose, message: "Record the dose time", audience: staff, ack: required}
  - id: onset
    name: Onset
    duration: 3s
    music: arrival
    level: 35%
  - id: peak
    name: Peak
    duration: 10m
    extendable: 2m
    music: {slot: peak, loop: true}
    level: 50%
  - id: integration
    name: Integration
    duration: open
    music: {slot: integration, loop: true}
    level: 25%
"""


@dataclass
class Served:
    room: Path
    url: str
    proc: Proc

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Cookie": "sas_csrf=t",
                "X-CSRF-Token": "t",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`serve --port 0` in its own process, with the waits profile in its room."""
    room = build_room(tmp_path_factory.mktemp("live-room"))
    (room / "profiles" / "waits.yaml").write_text(WAITS_PROFILE)
    with spawned(tmp_path_factory.mktemp("live-logs")) as started:
        proc = started.spawn(command(room, "serve", "--port", "0"))
        server = Served(room, wait_served(room, proc), proc)
        try:
            yield server
        finally:
            os.kill(proc.pid, signal.SIGCONT)  # never leave it stopped


@pytest.fixture(scope="module")
def page(chromium: Any, served: Served) -> Iterator[Page]:
    """One tab for the module's tests, which follow one session in order."""
    tab = chromium.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda err: errors.append(str(err)))
    expect.set_options(timeout=8000)
    tab.goto(f"{served.url}/live")
    try:
        yield tab
        assert errors == []
    finally:
        tab.close()


def test_a_required_checkin_stays_through_the_phase_end_and_next_until_acknowledged(
    page: Page, served: Served
) -> None:
    expect(page.locator("#no-session")).to_be_visible()
    served.post("/api/session", {"patient": "P-0042", "profile": "waits"})
    message = page.locator("#checkin-message")
    expect(message).to_contain_text("dose: Record the dose time (due 0:0")
    expect(page.locator("#ctx-patient")).to_have_text("P-0042 · Example patient (demo)")
    expect(page.locator("#ctx-profile")).to_have_text("Check-ins that wait")
    expect(page.locator("#ctx-next-phase")).to_contain_text("Onset at 0:0")
    expect(page.locator("#phase-name")).to_have_text("Onset")  # dosing ended by itself...
    expect(message).to_contain_text("in dosing")  # ... and the check-in still waits
    expect(page.locator("#ctx-dose")).not_to_have_text("not yet")

    page.click("#btn-next")  # asks first: the dose check-in is still waiting
    expect(page.locator("#next-why")).to_contain_text("1 check-in(s) still waiting (dose)")
    assert _phase(served) == "onset"
    page.click("#btn-next-confirm")
    expect(page.locator("#phase-name")).to_have_text("Peak")
    expect(message).to_contain_text("dose: Record the dose time")
    expect(message).to_contain_text("overdue")

    extend = page.locator("#btn-extend-5")  # peak may take 2 minutes more: only that
    expect(extend).to_have_text("Extend +2m (max)")
    expect(page.locator("#btn-extend-10")).to_be_hidden()

    page.click("#btn-ack")
    expect(page.locator("#checkin-banner")).to_be_hidden()
    db = served.room / "sessions.db"
    kinds = [
        e["type"] for e in on_disk.events(on_disk.wait_for(db, "checkin_acknowledged", 0, 5.0))
    ]
    assert kinds.count("checkin_acknowledged") == 1
    assert "checkin_missed" not in kinds and kinds.count("phase_advanced") == 1


def test_a_stopped_daemon_makes_the_page_not_live_and_a_control_pressed_then_never_applies(
    page: Page, served: Served
) -> None:
    expect(page.locator("#phase-name")).to_have_text("Peak")
    before = len(on_disk.rows(served.room / "sessions.db"))
    os.kill(served.proc.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    page.click("#btn-level-up")  # pressed as the daemon froze: it waits in the socket
    banner = page.locator("#stale-banner")
    expect(banner).to_be_visible(timeout=4000)
    assert time.monotonic() - stopped < 4.0
    expect(banner).to_have_attribute("data-state", "stale")
    expect(page.locator("#stale-detail")).to_contain_text("last update ")
    expect(page.locator("#btn-quiet")).to_be_disabled()
    page.locator("#btn-quiet").click(force=True)  # disabled: nothing is sent at all
    time.sleep(max(0.0, 6.0 - (time.monotonic() - stopped)))  # the press is 6 s old now
    os.kill(served.proc.pid, signal.SIGCONT)

    expect(banner).to_have_attribute("data-state", "recovered")
    expect(page.locator("#stale-title")).to_have_text("Live again")
    expect(page.locator("#btn-quiet")).to_be_enabled()
    expect(page.locator("#toast")).to_contain_text("not applied: pressed")
    db = served.room / "sessions.db"
    after = on_disk.events(on_disk.wait_for(db, "control_refused", before, 5.0)[before:])
    assert [e for e in after if e["type"] == "control"] == []  # neither level nor quiet
    refused = [e for e in after if e["type"] == "control_refused"]
    assert [e["action"] for e in refused] == ["level"]
    assert "level_changed" not in [e["type"] for e in after]


def _phase(served: Served) -> str:
    with urllib.request.urlopen(served.url + "/api/status", timeout=5) as response:
        return str(json.load(response)["phase"])
