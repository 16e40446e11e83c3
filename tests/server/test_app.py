"""The assembled app: every router's routes in one OpenAPI document, and /docs from it."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient


def test_docs_list_every_api_route_from_the_openapi_document_and_load_nothing_remote(
    api: TestClient,
) -> None:
    """/docs works in an offline room (FastAPI's Swagger page fetches a CDN) and is dark."""
    spec = api.get("/openapi.json").json()
    wanted = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert len(wanted) >= 10  # session, controls, playlists, library, journal
    page = api.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    rows = re.findall(r"<tr>\s*<td>(\w+)</td>\s*<td><code>([^<]+)</code>", page.text)
    assert {(m, html.unescape(p)) for m, p in rows} == wanted
    assert not re.search(r"""(src|href)=["']https?://""", page.text)
    assert '<meta name="color-scheme" content="dark">' in page.text
    assert api.get("/redoc").status_code == 404
