"""Loopback, login token, cookies, CSRF and Origin: each refusal, and each way in."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from setandsetting.cli import main
from setandsetting.server.security import (
    Guard,
    is_loopback,
    load_or_create_token,
    session_value,
)
from tests.support.daemon import BASE, client, daemon

LAN = "192.168.1.20"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    with daemon(tmp_path) as d:
        yield d.app


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("testclient", False),  # Starlette TestClient's default: not an address at all
        ("localhost", False),  # a name is never trusted as a client address
        ("192.168.1.20", False),
        ("10.0.0.1", False),
        ("::ffff:192.168.1.20", False),
        ("0.0.0.0", False),
        ("", False),
        (None, False),
    ],
)
def test_only_127_0_0_0_8_and_ipv6_one_are_loopback(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_lan_client_without_the_cookie_is_refused(app: FastAPI) -> None:
    lan = client(app, LAN)
    r = lan.get("/api/status")
    assert r.status_code == 401
    assert r.json() == {"error": "log in with the room token first"}
    assert lan.post("/api/control", json={"action": "stop"}).status_code == 401
    page = lan.get("/live", headers={"accept": "text/html"}, follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/login")


def test_the_testclient_default_host_is_not_loopback(app: FastAPI) -> None:
    plain = TestClient(app, base_url=BASE)
    assert plain.get("/api/status").status_code == 401


def test_without_a_token_nobody_off_loopback_gets_in(tmp_path: Path) -> None:
    with daemon(tmp_path, token=None) as d:
        lan = client(d.app, LAN)
        assert lan.post("/login", json={"token": ""}).status_code == 403
        assert lan.post("/login", json={"token": None}).status_code == 403
        assert lan.get("/api/status").status_code == 401


def test_a_forged_session_cookie_is_refused(app: FastAPI) -> None:
    lan = client(app, LAN)
    lan.cookies.set("sas_session", session_value("another-token"))
    assert lan.get("/api/status").status_code == 401


@pytest.mark.parametrize(
    ("headers", "cookie"),
    [
        ({}, "csrf-1"),  # no header
        ({"X-CSRF-Token": "other"}, "csrf-1"),  # header and cookie differ
        ({"X-CSRF-Token": ""}, ""),  # both empty
        ({"X-CSRF-Token": "csrf-1"}, None),  # header without the cookie
    ],
)
def test_state_changes_need_the_double_submit_csrf_token(
    app: FastAPI, headers: dict[str, str], cookie: str | None
) -> None:
    c = TestClient(app, base_url=BASE, client=("127.0.0.1", 5000))
    if cookie is not None:
        c.cookies.set("sas_csrf", cookie)
    for method, path in (
        ("POST", "/api/control"),
        ("POST", "/api/session"),
        ("PUT", "/api/patients/P-0042/avoid"),
        ("DELETE", "/api/patients/P-0042/playlists/calm/tracks/0"),
    ):
        r = c.request(method, path, json={"action": "stop"}, headers=headers)
        assert r.status_code == 403, (method, path)
        assert r.json() == {"error": "missing or wrong X-CSRF-Token header"}


def test_a_foreign_origin_is_refused(app: FastAPI) -> None:
    c = client(app)
    r = c.post("/api/control", json={"action": "stop"}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and r.json() == {"error": "cross-origin request refused"}
    same = c.post("/api/control", json={"action": "stop"}, headers={"Origin": BASE})
    assert same.status_code == 409


def test_a_loopback_client_must_name_the_server_by_address(app: FastAPI) -> None:
    """A DNS-rebinding page runs on this machine but under a domain name: refused."""
    rebound = TestClient(app, base_url="http://evil.example:8700", client=("127.0.0.1", 5000))
    r = rebound.get("/api/status")
    assert r.status_code == 403
    local = TestClient(app, base_url="http://localhost:8700", client=("127.0.0.1", 5000))
    assert local.get("/api/status").status_code == 200


def test_every_response_offers_a_csrf_cookie_once(app: FastAPI) -> None:
    c = TestClient(app, base_url=BASE, client=("127.0.0.1", 5000))
    r = c.get("/api/status")
    cookies = [v for v in r.headers.get_list("set-cookie") if v.startswith("sas_csrf=")]
    assert len(cookies) == 1 and "SameSite=Strict" in cookies[0] and "HttpOnly" not in cookies[0]
    again = c.get("/api/status")  # the client has one now: not set again
    assert not [v for v in again.headers.get_list("set-cookie") if v.startswith("sas_csrf=")]


def test_guard_allows_login_page_and_static_before_logging_in() -> None:
    guard = Guard("t")
    common = {"client": LAN, "headers": {"host": "room:8700"}, "cookies": {}}
    assert guard.check(method="GET", path="/login", **common) is None
    assert guard.check(method="GET", path="/static/common.js", **common) is None
    assert guard.check(method="GET", path="/api/status", **common) == (
        401,
        "log in with the room token first",
    )


def test_the_token_file_is_created_0600_once(tmp_path: Path) -> None:
    token, created = load_or_create_token(tmp_path)
    assert created and len(token) >= 32
    mode = stat.S_IMODE((tmp_path / ".room-token").stat().st_mode)
    assert mode == 0o600
    assert load_or_create_token(tmp_path) == (token, False)


def test_serve_refuses_a_lan_bind_without_a_token(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".room-token").write_text("")
    code = main(["--room", str(tmp_path), "serve", "--host", "0.0.0.0", "--port", "1"])
    assert code == 2
    assert capsys.readouterr().err == (
        "refusing to listen on 0.0.0.0: the room token is missing or empty\n"
    )
