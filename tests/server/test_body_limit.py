"""BodyLimit: a body over 64 KB is a 413 before it is read whole — by its Content-Length
when it has one, by counting as it arrives when it has none — and nothing behind it runs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

from setandsetting.server.body_limit import MAX_BODY, BodyLimit
from tests.support.daemon import Daemon, start_still_session

CHUNK = 16 * 1024


class Echo:
    """An app that reads the whole body and answers it back; records that it ran."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


def run(
    app: Any, chunks: list[bytes], headers: list[tuple[bytes, bytes]], endless: bool = False
) -> tuple[int, bytes, int]:
    """One request through `app`; (status, body, how many body messages were read)."""
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        if endless:
            return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}
        last = read >= len(chunks)
        return {"type": "http.request", "body": chunks[read - 1], "more_body": not last}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, read


def test_a_content_length_over_the_limit_is_refused_before_reading() -> None:
    echo = Echo()
    status, body, read = run(BodyLimit(echo), [], [(b"content-length", b"10000000")], True)
    assert (status, body, read, echo.calls) == (
        413,
        b'{"error": "the request body is larger than 64 KB"}',
        0,
        0,
    )


def test_a_body_without_a_length_is_cut_off_as_soon_as_it_passes_the_limit() -> None:
    echo = Echo()
    status, _, read = run(BodyLimit(echo), [], [], endless=True)
    assert (status, read, echo.calls) == (413, MAX_BODY // CHUNK + 1, 0)


def test_a_body_within_the_limit_reaches_the_app_as_sent() -> None:
    echo = Echo()
    chunks = [b"a" * CHUNK, b"b" * CHUNK, b"c" * (MAX_BODY - 2 * CHUNK)]
    length = [(b"content-length", str(MAX_BODY).encode())]
    assert run(BodyLimit(echo), chunks, length) == (200, b"".join(chunks), 3)
    assert run(BodyLimit(echo), [b""], []) == (200, b"", 1)


@pytest.mark.parametrize("value", [b"lots", b"-1", b"1, 2"])
def test_a_content_length_that_is_not_a_number_is_a_400(value: bytes) -> None:
    status, body, read = run(BodyLimit(Echo()), [b"{}"], [(b"content-length", value)])
    assert (status, read) == (400, 0)
    assert body == b'{"error": "the Content-Length header is not one number"}'


def test_through_the_app_an_oversized_body_is_a_413_and_nothing_is_journaled(
    api: TestClient, room: Daemon
) -> None:
    start_still_session(api, room.folder)
    before = room.runner.journal.query("SELECT * FROM events")
    big = '{"action": "note", "value": "' + "x" * MAX_BODY + '"}'
    for content in (big.encode(), iter([big.encode()])):  # with a length, then chunked
        r = api.post("/api/control", content=content, headers={"content-type": "application/json"})
        assert (r.status_code, r.json()) == (
            413,
            {"error": "the request body is larger than 64 KB"},
        )
    r = api.post("/login", content=big.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert room.runner.journal.query("SELECT * FROM events") == before


def test_through_the_app_a_body_just_under_the_limit_is_taken(api: TestClient) -> None:
    entries = ["*x*"] * ((MAX_BODY - 100) // 7)  # `"*x*", ` is 7 bytes each
    r = api.put("/api/patients/P-0042/avoid", json={"avoid": entries})
    assert r.status_code == 200, r.text
    assert len(r.json()["avoid"]) == len(entries)
