"""The bind, loopback, the room token, cookies, CSRF and Origin: each refusal, each way in."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from setandsetting.cli import main
from setandsetting.server.login_limit import LoginLimit
from setandsetting.server.login_sessions import LoginSessions
from setandsetting.server.security import (
    Guard,
    Refusal,
    is_loopback,
    is_loopback_bind,
    load_or_create_token,
    proxy_options,
)
from tests.support.daemon import BASE, TOKEN, client, daemon, free_port, make_api_room, served
from tests.support.processes import stop_gently

LAN = "192.168.1.20"
TOKEN_GUESS = "not-the-token"


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


@pytest.mark.parametrize(
    "forged",
    [
        "x" * 43,
        "",
        # what the cookie used to be, the same for every login: an HMAC of the room token
        hmac.new(TOKEN.encode(), b"setandsetting-session-v1", hashlib.sha256).hexdigest(),
        TOKEN,
    ],
)
def test_a_forged_session_cookie_is_refused(app: FastAPI, forged: str) -> None:
    lan = client(app, LAN)
    lan.cookies.set("sas_session", forged)
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
    for odd in ("[", "[::1", "evil.example:x", ""):
        r = TestClient(app, base_url=BASE, client=("127.0.0.1", 5000)).get(
            "/api/status", headers={"host": odd}
        )
        assert r.status_code == 403, odd


def test_every_response_offers_a_csrf_cookie_once(app: FastAPI) -> None:
    c = TestClient(app, base_url=BASE, client=("127.0.0.1", 5000))
    r = c.get("/api/status")
    cookies = [v for v in r.headers.get_list("set-cookie") if v.startswith("sas_csrf=")]
    assert len(cookies) == 1 and "SameSite=Strict" in cookies[0] and "HttpOnly" not in cookies[0]
    again = c.get("/api/status")  # the client has one now: not set again
    assert not [v for v in again.headers.get_list("set-cookie") if v.startswith("sas_csrf=")]


def _guard(open_loopback: bool = True) -> Guard:
    return Guard("t", LoginSessions(60.0, 120.0), LoginLimit(), open_loopback)


def test_guard_allows_login_page_static_and_logout_before_logging_in() -> None:
    guard = _guard()
    common = {"client": LAN, "headers": {"host": "room:8700"}, "cookies": {}}
    assert guard.check(method="GET", path="/login", **common) is None
    assert guard.check(method="GET", path="/static/common.js", **common) is None
    login_needed = Refusal(401, "log in with the room token first")
    assert guard.check(method="GET", path="/api/status", **common) == login_needed
    assert guard.check(method="GET", path="/loginx", **common) == login_needed
    assert guard.check(method="GET", path="/api/logout-all", **common) == login_needed
    logout = {**common, "headers": {"host": "room:8700", "x-csrf-token": "c"}}
    assert (
        guard.check(method="POST", path="/api/logout", **{**logout, "cookies": {"sas_csrf": "c"}})
        is None
    )
    assert guard.check(method="GET", path="/api/status", signed_in=True, **common) is None


@pytest.mark.parametrize(
    ("bind", "open_loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("room.local", False),
        ("", False),
    ],
)
def test_trust_is_decided_by_the_bind(tmp_path: Path, bind: str, open_loopback: bool) -> None:
    assert is_loopback_bind(bind) is open_loopback
    with daemon(tmp_path, host=bind) as d:
        local = client(d.app, "127.0.0.1")
        r = local.get("/api/status")
        if open_loopback:
            assert r.status_code == 200
        else:
            assert (r.status_code, r.json()) == (401, {"error": "log in with the room token first"})
            assert local.post("/api/control", json={"action": "stop"}).status_code == 401
            assert local.post("/login", json={"token": TOKEN}).status_code == 200
            assert local.get("/api/status").status_code == 200


def test_named_trusted_proxies_make_loopback_log_in_too(tmp_path: Path) -> None:
    """A proxy on this machine forwards strangers from 127.0.0.1: once it is named, loopback
    is no longer enough, even with the daemon bound to loopback."""
    with daemon(tmp_path, trusted_proxies=("127.0.0.1",)) as d:
        local = client(d.app, "127.0.0.1")
        assert local.get("/api/status").status_code == 401
        assert local.post("/login", json={"token": TOKEN}).status_code == 200
        assert local.get("/api/status").status_code == 200


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
def test_a_loopback_request_that_says_it_was_forwarded_needs_the_login(
    app: FastAPI, header: str
) -> None:
    r = client(app).get("/api/status", headers={header: "127.0.0.1"})
    assert (r.status_code, r.json()) == (401, {"error": "log in with the room token first"})


def test_the_cli_may_send_the_room_token_itself(tmp_path: Path) -> None:
    """`Authorization: Bearer <room token>` instead of a login (the CLI reads the token file);
    wrong ones count against the same limit as the login form's."""
    with daemon(tmp_path, host="0.0.0.0") as d:
        local = client(d.app)
        ok = local.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"})
        assert (ok.status_code, ok.json()) == (200, {"running": False})
        assert not any(v.startswith("sas_session=") for v in ok.headers.get_list("set-cookie"))
        for _ in range(5):
            r = local.get("/api/status", headers={"Authorization": "Bearer guess"})
            assert (r.status_code, r.json()) == (403, {"error": "wrong room token"})
        held = local.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"})
        assert held.status_code == 429 and held.headers["retry-after"] == "60"
        assert local.post("/login", json={"token": TOKEN}).status_code == 429
        basic = client(d.app, LAN).get("/api/status", headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401


def test_uvicorns_proxy_headers_are_off_unless_proxies_are_named() -> None:
    assert proxy_options(()) == {"proxy_headers": False, "forwarded_allow_ips": []}
    assert proxy_options(("10.0.0.5", "::1")) == {
        "proxy_headers": True,
        "forwarded_allow_ips": ["10.0.0.5", "::1"],
    }


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


def _call(
    port: int, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None
) -> tuple[int, Message, str]:
    """One request to 127.0.0.1:port, redirects not followed; (status, headers, text)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        data = None if body is None else json.dumps(body)
        sent = {**(headers or {}), **({"Content-Type": "application/json"} if data else {})}
        conn.request(method, path, body=data, headers=sent)
        r = conn.getresponse()
        return r.status, r.msg, r.read().decode()
    finally:
        conn.close()


def test_serve_bound_to_all_interfaces_wants_the_login_from_loopback_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real daemon on 0.0.0.0 (an ephemeral port), spoken to on 127.0.0.1 only."""
    room = make_api_room(tmp_path / "room")
    with (room / "room.yaml").open("a") as handle:
        handle.write("server: {login_idle: 1h, login_max: 2h}\n")
    port = free_port()
    log = tmp_path / "serve.log"
    cmd = [sys.executable, "-m", "setandsetting", "--room", str(room), "serve"]
    cmd += ["--host", "0.0.0.0", "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                status, _, text = _call(port, "GET", "/api/status")
                break
            except OSError:
                assert time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.1)
        assert (status, json.loads(text)) == (401, {"error": "log in with the room token first"})
        csrf = {"Cookie": "sas_csrf=c1", "X-CSRF-Token": "c1"}
        assert _call(port, "POST", "/api/control", csrf, {"action": "stop"})[0] == 401
        forwarded = _call(port, "GET", "/api/status", {"X-Forwarded-For": "127.0.0.1"})
        assert forwarded[0] == 401
        status, headers, _ = _call(port, "GET", "/live", {"Accept": "text/html"})
        assert (status, headers["location"]) == (303, "/login")

        status, headers, _ = _call(port, "POST", "/login", body={"token": TOKEN_GUESS})
        assert status == 403
        token = (room / ".room-token").read_text().strip()
        status, headers, _ = _call(port, "POST", "/login", body={"token": token})
        assert status == 200
        [login] = [c for c in headers.get_all("set-cookie") if c.startswith("sas_session=")]
        cookie = login.split(";")[0]
        assert "Max-Age=7200;" in login  # room.yaml's login_max
        signed_in = {"Cookie": f"{cookie}; sas_csrf=c1", "X-CSRF-Token": "c1"}
        status, _, text = _call(port, "GET", "/api/status", signed_in)
        assert (status, json.loads(text)) == (200, {"running": False})
        status, _, page = _call(port, "GET", "/live", signed_in)
        assert status == 200 and 'id="btn-logout"' in page

        # the CLI sends the room token from the token file, and gets through
        assert main(["--room", str(room), "status", "--url", f"http://127.0.0.1:{port}"]) == 2
        assert capsys.readouterr().err == "no session is running\n"

        assert _call(port, "POST", "/api/logout", signed_in)[0] == 200
        assert _call(port, "GET", "/api/status", signed_in)[0] == 401
    finally:
        stop_gently(proc)


@pytest.mark.parametrize(("proxies", "second_client"), [((), 429), (("127.0.0.1",), 403)])
def test_x_forwarded_for_names_the_client_only_from_a_named_proxy(
    tmp_path: Path, proxies: tuple[str, ...], second_client: int
) -> None:
    """Through a real uvicorn configured as `serve` configures it: the login limit counts the
    proxy's X-Forwarded-For client only when room.yaml names the proxy, else the peer."""
    with daemon(tmp_path, trusted_proxies=proxies) as d, served(d.app) as url:
        port = int(url.rsplit(":", 1)[1])
        for _ in range(5):
            status, _, _ = _call(
                port, "POST", "/login", {"X-Forwarded-For": "10.0.0.1"}, {"token": "guess"}
            )
            assert status == 403
        held = _call(port, "POST", "/login", {"X-Forwarded-For": "10.0.0.1"}, {"token": "guess"})
        assert (held[0], held[1]["retry-after"]) == (429, "60")
        other = _call(port, "POST", "/login", {"X-Forwarded-For": "10.0.0.2"}, {"token": "guess"})
        assert other[0] == second_client
