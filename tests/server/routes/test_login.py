"""POST /login and POST /api/logout: a random login per sign-in, kept in the daemon's memory,
ended by logout, by idle or absolute expiry, or by a restart; wrong tokens are limited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from setandsetting.server.app import ServerSettings, create_app
from tests.support.clock import SteppedClock
from tests.support.daemon import TOKEN, Daemon, client, daemon

LAN = "192.168.1.20"
HOUR = 3600.0


@pytest.fixture
def clock() -> SteppedClock:
    return SteppedClock()


@pytest.fixture
def room(tmp_path: Path, clock: SteppedClock) -> Iterator[Daemon]:
    with daemon(tmp_path, clock=clock) as d:
        yield d


@pytest.fixture
def app(room: Daemon) -> FastAPI:
    return room.app


def session_cookie(response) -> str:  # type: ignore[no-untyped-def]
    return next(v for v in response.headers.get_list("set-cookie") if v.startswith("sas_session="))


def log_in(c: TestClient) -> str:
    r = c.post("/login", json={"token": TOKEN})
    assert r.status_code == 200, r.text
    return session_cookie(r).split(";")[0].removeprefix("sas_session=")


def test_login_with_the_token_sets_a_random_strict_httponly_cookie(app: FastAPI) -> None:
    lan = client(app, LAN)
    wrong = lan.post("/login", json={"token": "guess"})
    assert wrong.status_code == 403 and wrong.json() == {"error": "wrong room token"}
    r = lan.post("/login", json={"token": TOKEN})
    assert r.status_code == 200 and r.json() == {"ok": True}
    cookie = session_cookie(r)
    login_id = cookie.split(";")[0].removeprefix("sas_session=")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", login_id)  # 32 random bytes, url-safe
    assert cookie == f"sas_session={login_id}; Path=/; Max-Age=86400; HttpOnly; SameSite=Strict"
    assert TOKEN not in cookie and "Secure" not in cookie
    assert lan.get("/api/status").json() == {"running": False}
    r = lan.post("/api/control", json={"action": "stop"})
    assert r.status_code == 409  # through the guard, to the API: no session


def test_every_login_is_a_new_id_and_each_one_works(app: FastAPI) -> None:
    first, second = client(app, LAN), client(app, "192.168.1.21")
    one, two = log_in(first), log_in(second)
    assert one != two
    assert first.get("/api/status").status_code == 200
    assert second.get("/api/status").status_code == 200


def test_logging_in_again_ends_the_browsers_previous_login(app: FastAPI) -> None:
    lan = client(app, LAN)
    old = log_in(lan)
    new = log_in(lan)  # the client sends its old cookie along
    assert new != old
    stale = client(app, LAN)
    stale.cookies.set("sas_session", old)
    assert stale.get("/api/status").status_code == 401


def test_a_restarted_daemon_has_forgotten_every_login(tmp_path: Path, room: Daemon) -> None:
    """Logins live in memory only: a new app over the same room knows none of them."""
    lan = client(room.app, LAN)
    login_id = log_in(lan)
    restarted = create_app(room.folder, room.runner, ServerSettings(token=TOKEN))
    again = client(restarted, LAN)
    again.cookies.set("sas_session", login_id)
    assert again.get("/api/status").status_code == 401


def test_logout_ends_the_login_and_clears_the_cookie(app: FastAPI) -> None:
    lan = client(app, LAN)
    login_id = log_in(lan)
    r = lan.post("/api/logout")
    assert (r.status_code, r.json()) == (200, {"ok": True})
    assert session_cookie(r) == "sas_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
    replay = client(app, LAN)  # the old cookie, sent again by hand
    replay.cookies.set("sas_session", login_id)
    assert replay.get("/api/status").status_code == 401
    assert replay.post("/api/control", json={"action": "stop"}).status_code == 401


def test_logout_needs_the_csrf_header_and_is_harmless_without_a_login(app: FastAPI) -> None:
    lan = client(app, LAN)
    log_in(lan)
    bare = lan.post("/api/logout", headers={"X-CSRF-Token": "other"})
    assert bare.status_code == 403
    assert bare.json() == {"error": "missing or wrong X-CSRF-Token header"}
    assert lan.get("/api/status").status_code == 200  # still logged in
    stranger = client(app, LAN)
    assert stranger.post("/api/logout").json() == {"ok": True}


def test_a_login_unused_for_12_hours_ends(app: FastAPI, clock: SteppedClock) -> None:
    lan = client(app, LAN)
    log_in(lan)
    clock.advance(12 * HOUR - 1)
    assert lan.get("/api/status").status_code == 200  # used: the idle time starts again
    clock.advance(12 * HOUR - 1)
    assert lan.get("/api/status").status_code == 200
    clock.advance(12 * HOUR)
    assert lan.get("/api/status").status_code == 401
    clock.advance(-12 * HOUR)  # once ended, it stays ended
    assert lan.get("/api/status").status_code == 401


def test_a_login_ends_24_hours_after_it_began_however_much_it_is_used(
    app: FastAPI, clock: SteppedClock
) -> None:
    lan = client(app, LAN)
    log_in(lan)
    for _ in range(23):
        clock.advance(HOUR)
        assert lan.get("/api/status").status_code == 200
    clock.advance(HOUR - 1)
    assert lan.get("/api/status").status_code == 200
    clock.advance(1)
    r = lan.get("/api/status")
    assert (r.status_code, r.json()) == (401, {"error": "log in with the room token first"})
    page = lan.get("/live", headers={"accept": "text/html"}, follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/login")


def test_the_login_times_come_from_the_settings(tmp_path: Path, clock: SteppedClock) -> None:
    with daemon(tmp_path, clock=clock, login_idle_s=HOUR, login_max_s=2 * HOUR) as d:
        lan = client(d.app, LAN)
        r = lan.post("/login", json={"token": TOKEN})
        assert "Max-Age=7200;" in session_cookie(r)
        clock.advance(HOUR - 1)
        assert lan.get("/api/status").status_code == 200
        clock.advance(HOUR)
        assert lan.get("/api/status").status_code == 401


def test_five_wrong_tokens_a_minute_then_429_with_retry_after(
    app: FastAPI, clock: SteppedClock
) -> None:
    lan = client(app, LAN)
    for _ in range(5):
        assert lan.post("/login", json={"token": "guess"}).status_code == 403
        clock.advance(2)
    held = lan.post("/login", json={"token": TOKEN})  # even the right one, while held back
    assert held.status_code == 429
    assert held.headers["retry-after"] == "50"  # the first wrong one, 10 s ago, ages out in 50
    assert held.json() == {"error": "too many wrong room tokens; try again in 50 s"}
    assert "set-cookie" not in held.headers or "sas_session" not in held.headers["set-cookie"]
    other = client(app, "192.168.1.30")  # counted per client address
    assert other.post("/login", json={"token": TOKEN}).status_code == 200
    clock.advance(49)
    assert lan.post("/login", json={"token": TOKEN}).status_code == 429
    clock.advance(1)
    assert lan.post("/login", json={"token": TOKEN}).status_code == 200


def test_the_login_form_is_limited_too(app: FastAPI) -> None:
    lan = client(app, LAN)
    for _ in range(5):
        r = lan.post("/login", data={"token": "nope"}, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, "/login?failed=1")
    r = lan.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?wait=60")
    page = lan.get("/login?wait=60")
    assert "try again in 60 s" in page.text


def test_login_by_form_redirects(app: FastAPI) -> None:
    lan = client(app, LAN)
    r = lan.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/")
    assert session_cookie(r).startswith("sas_session=")
    r = lan.post("/login", data={"token": "nope"}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?failed=1")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "the request body is not valid JSON"),
        (b'["token"]', "the request body must be a JSON object"),
        (b"[" * 60_000, "the request body is not valid JSON"),  # deeper than json recurses
    ],
)
def test_a_login_body_that_is_not_a_json_object_is_a_400(
    app: FastAPI, body: bytes, message: str
) -> None:
    r = client(app, LAN).post("/login", content=body, headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (400, {"error": message})
