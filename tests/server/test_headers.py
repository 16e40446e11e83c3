"""Every response carries X-Frame-Options: DENY and the strict Content-Security-Policy:
pages, JSON, static files, redirects, the guard's refusals, 404s, 413s and 500s alike."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from fastapi.testclient import TestClient

from setandsetting.server.headers import CSP
from tests.support.daemon import BASE, Daemon, client, served

LAN = "192.168.1.20"
SECURITY = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def test_the_policy_allows_the_rooms_own_files_only_and_no_framing() -> None:
    assert CSP == (
        "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def test_every_kind_of_response_carries_the_headers(
    api: TestClient, room: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode() -> list[str]:
        raise RuntimeError("boom")

    lan = client(room.app, LAN)
    responses = {
        "page": api.get("/live"),
        "json": api.get("/api/status"),
        "static": api.get("/static/room.css"),
        "redirect": api.get("/", follow_redirects=False),
        "login page": lan.get("/login"),
        "401": lan.get("/api/status"),
        "303 to login": lan.get("/live", headers={"accept": "text/html"}, follow_redirects=False),
        "403 csrf": TestClient(room.app, base_url=BASE, client=("127.0.0.1", 1)).post(
            "/api/control", json={}
        ),
        "404": api.get("/api/nowhere"),
        "404 page": api.get("/review/none"),
        "405": api.delete("/api/status"),
        "400": api.post("/api/control", json={"action": "dance"}),
        "413": api.post("/api/control", content=b"x" * 70_000),
        "export": api.get("/api/sessions/none/export"),
    }
    monkeypatch.setattr(room.folder, "patients", explode)
    responses["500"] = api.get("/api/patients")
    statuses = {name: r.status_code for name, r in responses.items()}
    assert statuses == {
        "page": 200,
        "json": 200,
        "static": 200,
        "redirect": 303,
        "login page": 200,
        "401": 401,
        "303 to login": 303,
        "403 csrf": 403,
        "404": 404,
        "404 page": 404,
        "405": 405,
        "400": 400,
        "413": 413,
        "export": 404,
        "500": 500,
    }
    for name, r in responses.items():
        assert {k: r.headers.get(k) for k in SECURITY} == SECURITY, name
        assert len(r.headers.get_list("content-security-policy")) == 1, name


def test_a_real_server_sends_them_too_and_on_the_event_stream(room: Daemon) -> None:
    with served(room.app) as url:
        with urllib.request.urlopen(url + "/live", timeout=5) as r:
            assert {k: r.headers.get(k) for k in SECURITY} == SECURITY
        with urllib.request.urlopen(url + "/api/events", timeout=5) as r:
            assert r.headers.get("content-type").startswith("text/event-stream")
            assert {k: r.headers.get(k) for k in SECURITY} == SECURITY
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "/api/patients/P-0042/avoid", data=b"{}", timeout=5)
        assert refused.value.code == 403
        assert {k: refused.value.headers.get(k) for k in SECURITY} == SECURITY
