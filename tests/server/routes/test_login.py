"""POST /login: the room token for the session cookie, by JSON or by the HTML form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from setandsetting.server.security import session_value
from tests.support.daemon import TOKEN, client, daemon

LAN = "192.168.1.20"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    with daemon(tmp_path) as d:
        yield d.app


def test_login_with_the_token_sets_a_strict_httponly_cookie(app: FastAPI) -> None:
    lan = client(app, LAN)
    wrong = lan.post("/login", json={"token": "guess"})
    assert wrong.status_code == 403 and wrong.json() == {"error": "wrong room token"}
    r = lan.post("/login", json={"token": TOKEN})
    assert r.status_code == 200
    cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("sas_session="))
    assert cookie == f"sas_session={session_value(TOKEN)}; Path=/; HttpOnly; SameSite=Strict"
    assert "Secure" not in cookie
    assert lan.get("/api/status").json() == {"running": False}
    r = lan.post("/api/control", json={"action": "stop"})
    assert r.status_code == 409  # through the guard, to the API: no session


def test_login_by_form_redirects(app: FastAPI) -> None:
    lan = client(app, LAN)
    r = lan.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/")
    r = lan.post("/login", data={"token": "nope"}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?failed=1")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "the request body is not valid JSON"),
        (b'["token"]', "the request body must be a JSON object"),
    ],
)
def test_a_login_body_that_is_not_a_json_object_is_a_400(
    app: FastAPI, body: bytes, message: str
) -> None:
    r = client(app, LAN).post("/login", content=body, headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (400, {"error": message})
