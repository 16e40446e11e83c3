"""The web UI's defences in Debian's chromium, with traffic to 127.0.0.1 only.

- A page from another port of this machine frames the Live page: chromium refuses to show
  it (frame-ancestors 'none', X-Frame-Options: DENY), while the same page frames its own
  content fine — so it is the daemon's headers that stop it, not the test page.
- The pages draw under their strict CSP: the Live page's phase bar (positions set through
  the CSSOM, not style attributes) is laid out; and with the stylesheet blocked the page
  is still dark (color-scheme), not white.
- A room that wants the login: the token form signs in, the header shows a large Log out
  button, and logging out ends the login — the Live page sends the browser back to the
  token form.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from setandsetting.server.app import ServerSettings, create_app
from tests.support.browser import (
    UiServer,
    chromium,
    csp_violations,
    screenshot,
    static_site,
    ui_server,
)
from tests.support.daemon import served

pytestmark = pytest.mark.browser
__all__ = ["chromium", "ui_server"]  # fixtures, imported explicitly

TOKEN = "browser-room-token"


@pytest.fixture
def page(chromium: Any, ui_server: UiServer) -> Iterator[Page]:
    tab = chromium.new_page()
    expect.set_options(timeout=8000)
    try:
        yield tab
    finally:
        tab.close()
        ui_server.stop_session()


@pytest.fixture(scope="module")
def closed_url(ui_server: UiServer) -> Iterator[str]:
    """The same room served as if bound to 0.0.0.0 (every request needs the login), on
    127.0.0.1:<ephemeral>."""
    settings = ServerSettings(host="0.0.0.0", token=TOKEN)
    with served(create_app(ui_server.folder, ui_server.runner, settings)) as url:
        yield url


def test_another_port_of_this_machine_cannot_frame_the_live_page(
    page: Page, ui_server: UiServer
) -> None:
    live = f"{ui_server.url}/live"
    framer = {
        "/": (
            '<!DOCTYPE html><html><body style="background:#000">'
            f'<iframe id="room" src="{live}" width="900" height="600"></iframe>'
            '<iframe id="own" src="/own"></iframe></body></html>'
        ),
        "/own": '<!DOCTYPE html><p id="mine">the framing page\'s own frame</p>',
    }
    refused = csp_violations(page)
    ui_server.runner.start(ui_server.folder.profile_path("fast"), "P-0042")
    with static_site(framer) as site:
        page.goto(site + "/")
        own = page.frame_locator("#own")
        expect(own.locator("#mine")).to_have_text("the framing page's own frame")
        page.wait_for_timeout(500)  # the room's frame has had its answer
        [framed] = [f for f in page.frames if f.parent_frame and not f.url.startswith(site)]
        assert framed.url != live  # chromium shows its own error page there instead
        assert framed.locator("#live").count() == 0
        assert framed.locator("button").count() == 0
    assert any("frame-ancestors 'none'" in text for text in refused), refused


def test_the_live_page_is_laid_out_under_the_policy(page: Page, ui_server: UiServer) -> None:
    refused = csp_violations(page)
    ui_server.runner.start(ui_server.folder.profile_path("fast"), "P-0042")
    page.goto(f"{ui_server.url}/live")
    expect(page.locator("#live")).to_have_attribute("data-running", "true")
    segment = page.locator("#phase-bar .seg").first
    expect(segment).to_be_visible()
    width = segment.evaluate("e => e.getBoundingClientRect().width")
    assert width > 10 and segment.evaluate("e => e.style.left") != ""
    assert refused == []


def test_without_its_stylesheet_a_page_is_still_dark(
    page: Page, ui_server: UiServer, tmp_path: Path
) -> None:
    import pygame

    page.route("**/static/room.css", lambda route: route.abort())
    page.goto(f"{ui_server.url}/start")
    expect(page.locator("h1")).to_have_text("Start a session")
    path = tmp_path / "unstyled.png"
    page.screenshot(path=str(path))
    pixels = pygame.surfarray.array3d(pygame.image.load(str(path))).astype(np.float64)
    luma = pixels @ np.array([0.2126, 0.7152, 0.0722])
    assert luma.mean() < 40, luma.mean()
    assert np.median(luma) < 30  # the background, not only on average


def test_sign_in_log_out_and_the_login_is_gone(page: Page, closed_url: str, tmp_path: Path) -> None:
    page.goto(f"{closed_url}/live")
    expect(page).to_have_url(f"{closed_url}/login")
    expect(page.locator("#btn-logout")).to_have_count(0)  # nobody to log out yet
    page.fill("#token", "not the token")
    page.click("#btn-login")
    expect(page.locator("#toast")).to_have_text("wrong room token")
    page.fill("#token", TOKEN)
    page.click("#btn-login")
    expect(page).to_have_url(f"{closed_url}/start")
    logout = page.locator("#btn-logout")
    expect(logout).to_be_visible()
    box = logout.bounding_box()
    assert box is not None and box["height"] >= 48 and box["width"] >= 48  # a touch target
    screenshot(page, tmp_path, "signed-in")  # night theme: dark, nothing near white
    page.goto(f"{closed_url}/live")
    expect(page).to_have_url(f"{closed_url}/live")
    expect(page.locator("#btn-logout")).to_be_visible()  # on every page
    logins = [c for c in page.context.cookies() if c["name"] == "sas_session"]
    assert len(logins) == 1 and logins[0]["httpOnly"] and logins[0]["sameSite"] == "Strict"
    page.click("#btn-logout")
    expect(page).to_have_url(f"{closed_url}/login")
    assert [c for c in page.context.cookies() if c["name"] == "sas_session"] == []
    page.context.add_cookies([{**logins[0]}])  # the old cookie, put back by hand
    page.goto(f"{closed_url}/live")
    expect(page).to_have_url(f"{closed_url}/login")  # ended in the daemon, not only here
    page.context.clear_cookies()
