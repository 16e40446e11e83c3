"""The web UI's pages over plain HTTP: routes, stable element ids, the night theme's rules,
validation of the patient in the path, and the review rendered from a real journal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from setandsetting.core.controls import parse_control
from setandsetting.engine.runner import SessionRunner
from setandsetting.room.folder import RoomFolder
from setandsetting.server import pages
from tests.support.browser import build_room, recording_devices

SERVER = Path(pages.__file__).parent
LIVE_IDS = (
    "phase-bar",
    "phase-name",
    "elapsed",
    "remaining",
    "now-playing",
    "level",
    "btn-hold",
    "btn-resume",
    "btn-extend-5",
    "btn-extend-10",
    "btn-next",
    "btn-skip",
    "btn-level-down",
    "btn-level-up",
    "btn-quiet",
    "btn-stop",
    "checkin-banner",
    "btn-ack",
    "note-text",
    "btn-note",
    "toast",
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, SessionRunner]]:
    folder = RoomFolder(build_room(tmp_path))
    runner = SessionRunner(folder, devices=recording_devices, midi_input=False)
    app = FastAPI(openapi_url=None)  # as create_app: the pages serve /openapi.json
    pages.register_pages(app, folder, runner)
    try:
        yield TestClient(app, follow_redirects=False), runner
    finally:
        runner.close()


def ids(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


def test_home_goes_to_start_without_a_session_and_to_live_with_one(site) -> None:
    client, runner = site
    assert client.get("/").status_code == 303
    assert client.get("/").headers["location"] == "/start"
    runner.start(runner.folder.profile_path("fast"), "P-0042")
    assert client.get("/").headers["location"] == "/live"


def test_pages_carry_the_stable_ids(site) -> None:
    client, _ = site
    assert {"patient", "profile", "preflight", "start-button"} <= ids(client.get("/start").text)
    assert set(LIVE_IDS) <= ids(client.get("/live").text)
    playlist = client.get("/playlists/P-0042").text
    assert {"playlists", "library-search", "avoid-list"} <= ids(playlist)
    assert 'data-patient="P-0042"' in playlist
    assert "token" in ids(client.get("/login").text)


def test_every_page_is_dark_before_any_stylesheet_loads(site) -> None:
    """By `color-scheme: dark` (the browser's own canvas is dark), not by a style attribute,
    which the pages' Content-Security-Policy would refuse (the browser test checks it)."""
    client, _ = site
    paths = ("/start", "/live", "/playlists", "/playlists/P-0042", "/review", "/login", "/docs")
    for path in (*paths, "/openapi.json"):  # the OpenAPI document as a browser sees it
        response = client.get(path, headers={"accept": "text/html,*/*;q=0.8"})
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["cache-control"] == "no-store"
        assert '<meta name="color-scheme" content="dark">' in response.text, path
        assert "style=" not in response.text and "<script>" not in response.text, path


def test_no_colour_in_the_ui_is_near_white() -> None:
    """The room is dark: the brightest colour anywhere stays well below white."""
    colours: list[str] = []
    for path in [*SERVER.glob("static/*"), *SERVER.glob("templates/*")]:
        text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)  # not in comments
        colours += re.findall(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b", text)
        assert not re.search(r":\s*white\b|rgb\(255", text, re.IGNORECASE), path
    assert len(colours) > 20
    for colour in colours:
        full = colour if len(colour) == 6 else "".join(c * 2 for c in colour)
        channels = [int(full[i : i + 2], 16) for i in (0, 2, 4)]
        assert max(channels) <= 0xD0, colour


def test_everything_is_served_locally(site) -> None:
    """No CDN: no page or script loads anything from another host."""
    client, _ = site
    for path in SERVER.glob("static/*"):
        response = client.get(f"/static/{path.name}")
        assert response.status_code == 200
        assert response.content == path.read_bytes()
    for path in [*SERVER.glob("static/*"), *SERVER.glob("templates/*")]:
        assert not re.search(r"(src|href)=\"(https?:)?//", path.read_text()), path
        assert "https://" not in path.read_text() and "http://" not in path.read_text(), path


def test_buttons_are_touch_sized() -> None:
    css = (SERVER / "static" / "room.css").read_text()
    rule = re.search(r"button, \.button \{([^}]*)\}", css)
    assert rule is not None and "min-height: 56px" in rule.group(1)
    for height in re.findall(r"min-height: (\d+)px", css):
        assert int(height) >= 48


def test_patients_are_listed_and_a_bad_patient_id_is_a_clear_404(site) -> None:
    client, _ = site
    listing = client.get("/playlists").text
    assert 'href="/playlists/P-0042"' in listing
    bad = client.get("/playlists/bad%20id!")
    assert bad.status_code == 404
    assert "is not a patient ID" in bad.text
    assert "Traceback" not in bad.text
    missing = client.get("/playlists/P-9999")
    assert missing.status_code == 404
    assert "No patient folder P-9999." in missing.text


def test_review_lists_a_journaled_session_and_draws_its_timeline(site) -> None:
    client, runner = site
    engine = runner.start(runner.folder.profile_path("fast"), "P-0042")
    engine.submit(parse_control("note calm, eyes closed"))
    engine.stop()
    session_id = runner.session_id
    listing = client.get("/review").text
    assert f'data-session="{session_id}"' in listing
    assert f'href="/review/{session_id}"' in listing
    assert "stopped" in listing
    # Wall times go out as UTC ISO 8601 with the offset (the page shows the browser's zone).
    started = runner.journal.session(session_id).started_wall.astimezone(UTC)
    stamp = f'<time datetime="{started.isoformat(timespec="seconds")}">'
    assert f"{stamp}{started:%Y-%m-%d %H:%M:%S} UTC</time>" in listing
    page = client.get(f"/review/{session_id}")
    assert page.status_code == 200
    html = page.text
    timeline = re.search(r'<div id="timeline">(.*?)</div>', html, re.S)
    assert timeline is not None and timeline.group(1).startswith("<svg")
    assert 'class="phase-planned" data-phase="arrival"' in html
    assert 'class="phase-actual" data-phase="arrival"' in html
    assert "calm, eyes closed" in html
    assert f"<dt>Started</dt><dd>{stamp}{started:%Y-%m-%d %H:%M:%S} UTC</time></dd>" in html
    assert re.search(
        r"<dt>Ended</dt><dd><time datetime=\"[-0-9T:]+\+00:00\">[^<]+</time> \(stopped\)", html
    )
    for fmt in ("csv", "json", "html"):
        assert f'href="/api/sessions/{session_id}/export?format={fmt}"' in html


def test_an_unknown_session_is_a_404_page(site) -> None:
    client, _ = site
    response = client.get("/review/20000101-000000-nobody")
    assert response.status_code == 404
    assert "No session 20000101-000000-nobody in the journal." in response.text
