"""Every page at a phone's and two tablets' sizes, in Debian's chromium against the real
daemon, measured in the page itself: no element reaches past the viewport (so nothing
scrolls sideways) and no link, button or field is smaller than 48 x 48 CSS px. The pages
include the 404, the API docs and the OpenAPI viewer; Live runs a session, Review shows
the same session. Wall times are shown in the browser's own zone, named."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from setandsetting.core.controls import parse_control
from tests.support.browser import UiServer, chromium, ui_server

pytestmark = pytest.mark.browser
__all__ = ["chromium", "ui_server"]  # fixtures, imported explicitly

SIZES = {"phone": (360, 740), "tablet portrait": (768, 1024), "tablet landscape": (1280, 800)}
TARGET_PX = 48
# In the page: what reaches past the viewport (inside an SVG only the SVG itself counts:
# it clips its drawing) and which interactive targets are under TARGET_PX either way.
MEASURE = """(target) => {
  const vw = document.documentElement.clientWidth;
  const shown = (e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== "hidden";
  };
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (typeof e.className === "string" && e.className.trim()
       ? "." + e.className.trim().split(/\\s+/).join(".") : "");
  const wide = [], small = [];
  for (const e of document.querySelectorAll("body *")) {
    if (e.tagName.toLowerCase() !== "svg" && e.closest("svg")) continue;
    if (!shown(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.left < -0.5 || r.right > vw + 0.5) {
      wide.push(`${name(e)} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  const targets = "a[href], button, input, select, textarea, summary, [role=button]";
  for (const e of document.querySelectorAll(targets)) {
    if (!shown(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.width < target || r.height < target) {
      small.push(`${name(e)} ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return {vw, scroll: document.documentElement.scrollWidth, wide, small};
}"""


@pytest.fixture(scope="module")
def sessions(ui_server: UiServer) -> Iterator[str]:
    """A session running for the whole module (Live shows it, Review reviews it so far,
    with a note); its ID."""
    engine = ui_server.runner.start(ui_server.folder.profile_path("fast"), "P-0042")
    engine.submit(parse_control("note Settled, breathing slowly"))
    assert ui_server.runner.session_id is not None
    try:
        yield ui_server.runner.session_id
    finally:
        ui_server.stop_session()


@pytest.fixture
def page(chromium: Any) -> Iterator[Page]:
    tab = chromium.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda err: errors.append(str(err)))
    expect.set_options(timeout=8000)
    try:
        yield tab
        assert errors == []
    finally:
        tab.close()


PATHS = (
    "/start",
    "/live",
    "/playlists",
    "/playlists/P-0042",
    "/review",
    "/review/{session}",
    "/docs",
    "/openapi.json",
    "/no/such/page",
    "/login",
)
READY = {  # what shows that a page has drawn what its script fetches
    "/start": "#preflight-slots",
    "/live": "#live[data-running='true']",
    "/playlists/P-0042": "section.slot",
}


@pytest.mark.parametrize("path", PATHS)
def test_the_page_fits_a_phone_and_tablets_and_every_target_is_touch_sized(
    page: Page, ui_server: UiServer, sessions: str, path: str
) -> None:
    """Loaded once, measured at each size (the page lays itself out again on a resize)."""
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(ui_server.url + path.format(session=sessions))
    if path in READY:
        expect(page.locator(READY[path]).first).to_be_visible()
    problems = {}
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        found = page.evaluate(MEASURE, TARGET_PX)
        assert found["vw"] == width
        if found["scroll"] > width or found["wide"] or found["small"]:
            problems[size] = found
    assert problems == {}, "\n".join(
        f"{size}: scroll width {f['scroll']}; past the edge {f['wide'][:8]}; small {f['small'][:8]}"
        for size, f in problems.items()
    )


def test_wall_times_are_shown_in_the_browsers_zone_with_the_zone_named(
    page: Page, ui_server: UiServer, sessions: str
) -> None:
    """The daemon sends UTC; a browser in New York shows New York's time, named."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
    cdp.send("Emulation.setLocaleOverride", {"locale": "en-US"})
    started = ui_server.runner.journal.session(sessions).started_wall
    local = started.astimezone(ZoneInfo("America/New_York"))
    page.goto(f"{ui_server.url}/review")
    shown = page.locator(f"#sessions tr[data-session='{sessions}'] time")
    expect(shown).to_have_text(f"{local:%Y-%m-%d %H:%M:%S} {local:%Z}")  # EST or EDT
    assert "America/New_York" in (shown.get_attribute("title") or "")
    page.goto(f"{ui_server.url}/review/{sessions}")
    expect(page.locator("dl.header time").first).to_have_text(f"{local:%Y-%m-%d %H:%M:%S %Z}")
