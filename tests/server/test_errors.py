"""Every failure is {"error": ...}: the layers' own error types with their status and
sentence, anything else a 500 that says nothing more than "internal error"."""

from __future__ import annotations

import errno
import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from setandsetting.core.problems import FormatError, Problem
from setandsetting.engine.runner import SessionBusy
from setandsetting.journal.store import JournalError, UnknownSession
from setandsetting.room import playlists
from setandsetting.room.errors import EditError, NotFound
from setandsetting.server import errors
from setandsetting.server.errors import ApiError
from tests.support.daemon import Daemon

BROKEN = [
    Problem("b.yaml", 4, 15, ("phases", 0, "duration"), "not a duration"),
    Problem("b.yaml", 2, 1, (), "unknown key"),
]


def _raising(err: Exception) -> TestClient:
    """An app with only the error handlers and one route that raises `err`."""
    app = FastAPI()
    errors.install(app)

    @app.get("/fail")
    def fail() -> None:
        raise err

    @app.get("/number/{n}")
    def number(n: int) -> int:
        return n

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("err", "status", "body"),
    [
        (ApiError(418, "no tea", events=[1]), 418, {"error": "no tea", "events": [1]}),
        (EditError("'a b' is not a slot"), 400, {"error": "'a b' is not a slot"}),
        (NotFound("no track 7"), 404, {"error": "no track 7"}),
        (NotFound(), 404, {"error": "not found"}),
        (SessionBusy("a session is running"), 409, {"error": "a session is running"}),
        (UnknownSession("no session 'x'"), 404, {"error": "no session 'x'"}),
        (JournalError("sessions.db: disk full"), 503, {"error": "sessions.db: disk full"}),
        (
            FormatError(BROKEN),
            400,
            {
                "error": "b.yaml:2:1: unknown key\nb.yaml:4:15: phases[0].duration: not a duration",
                "problems": [
                    "b.yaml:2:1: unknown key",
                    "b.yaml:4:15: phases[0].duration: not a duration",
                ],
            },
        ),
    ],
)
def test_each_layers_own_error_has_its_status_and_sentence(
    err: Exception, status: int, body: dict
) -> None:
    r = _raising(err).get("/fail")
    assert (r.status_code, r.json()) == (status, body)


def test_a_name_too_long_for_the_file_system_is_the_requests_400() -> None:
    err = OSError(errno.ENAMETOOLONG, "File name too long", "/secret/" + "a" * 300)
    r = _raising(err).get("/fail")
    assert (r.status_code, r.json()) == (
        400,
        {"error": "a file or folder name in that path is too long for the file system"},
    )


@pytest.mark.parametrize(
    "err",
    [
        OSError(errno.ENOSPC, "No space left on device", "secret detail"),
        ValueError("secret detail"),
        FileNotFoundError("secret detail"),
        KeyError("secret detail"),
        RuntimeError("secret detail"),
    ],
)
def test_any_other_exception_is_a_500_that_says_nothing_more(
    err: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="setandsetting.server.errors"):
        r = _raising(err).get("/fail")
    assert (r.status_code, r.json()) == (500, {"error": "internal error"})
    assert "secret" not in r.text
    [record] = [r for r in caplog.records if r.name == "setandsetting.server.errors"]
    assert record.getMessage() == "internal error on GET /fail"
    assert record.exc_info is not None and record.exc_info[1] is err


def test_an_unknown_route_and_a_bad_parameter_keep_their_status() -> None:
    app = _raising(RuntimeError())
    assert app.get("/nowhere").json() == {"error": "Not Found"}
    r = app.get("/number/seven")
    assert r.status_code == 400
    assert r.json() == {
        "error": "path.n: Input should be a valid integer, unable to parse string as an integer"
    }


def test_an_unexpected_failure_is_a_plain_500(api: TestClient, room: Daemon, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def explode() -> list[str]:
        raise RuntimeError("disk on fire at /secret/path")

    monkeypatch.setattr(room.folder, "patients", explode)
    r = api.get("/api/patients")
    assert r.status_code == 500
    assert r.json() == {"error": "internal error"}


def test_an_internal_value_error_is_a_500_not_the_users_400(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bare ValueError is a bug in the room's code, not a bad request: no text shown."""

    def broken(*_: object) -> list[dict]:
        raise ValueError("secret detail")

    monkeypatch.setattr(playlists, "all_slots", broken)
    r = api.get("/api/patients/P-0042/playlists")
    assert (r.status_code, r.json()) == (500, {"error": "internal error"})
    assert "secret detail" not in r.text


BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_gets_its_404_and_500_as_dark_pages_with_the_same_sentence(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _raising(RuntimeError("secret detail"))
    missing = app.get("/nowhere", headers=BROWSER)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert '<meta name="color-scheme" content="dark">' in missing.text
    assert "<h1>Not found</h1>" in missing.text and "Nothing here at /nowhere." in missing.text
    with caplog.at_level(logging.CRITICAL, logger="setandsetting.server.errors"):
        broken = app.get("/fail", headers=BROWSER)
    assert (broken.status_code, broken.headers["content-type"][:9]) == (500, "text/html")
    assert "<h1>Something went wrong</h1>" in broken.text and "internal error" in broken.text
    assert "secret" not in broken.text
    bad = app.get("/number/seven", headers=BROWSER)
    assert bad.status_code == 400 and "<h1>Error 400</h1>" in bad.text
    # A script that asks for JSON (the pages' own fetch does) still gets JSON.
    asked = app.get("/nowhere", headers={"accept": "application/json"})
    assert (asked.status_code, asked.json()) == (404, {"error": "Not Found"})
