"""The API tests' room daemon (tests/support/daemon.py) and a browser-like client that
fails the test if any response showed a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.daemon import Daemon, client, daemon


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Daemon]:
    with daemon(tmp_path) as d:
        yield d


@pytest.fixture
def api(room: Daemon) -> Iterator[TestClient]:
    c = client(room.app)
    seen: list[str] = []
    original = c.request

    def request(*args: Any, **kwargs: Any) -> Any:
        response = original(*args, **kwargs)
        seen.append(response.text)
        return response

    c.request = request  # type: ignore[method-assign]
    yield c
    assert not any("Traceback" in text for text in seen), "a response showed a traceback"
