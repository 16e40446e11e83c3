"""The assembled app: every router's routes in one OpenAPI document, and /docs from it."""

from __future__ import annotations

import html
import json
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
    cells = r'<tr>\s*<td data-label="method">(\w+)</td>\s*<td data-label="path"><code>([^<]+)'
    rows = re.findall(cells, page.text)
    assert {(m, html.unescape(p)) for m, p in rows} == wanted
    assert not re.search(r"""(src|href)=["']https?://""", page.text)
    assert '<meta name="color-scheme" content="dark">' in page.text
    assert api.get("/redoc").status_code == 404


def test_openapi_json_is_json_to_a_program_and_a_dark_viewer_to_a_browser(api: TestClient) -> None:
    spec = api.get("/openapi.json", headers={"accept": "application/json"})
    assert spec.headers["content-type"] == "application/json"
    assert spec.json()["openapi"].startswith("3.")
    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = api.get("/openapi.json", headers=browser)
    assert page.headers["content-type"].startswith("text/html")
    assert '<meta name="color-scheme" content="dark">' in page.text
    shown = re.search(r'<pre id="openapi" class="panel document">(.*?)</pre>', page.text, re.S)
    assert shown is not None
    assert json.loads(html.unescape(shown.group(1))) == spec.json()
    raw = api.get("/openapi.json?format=json", headers=browser)
    assert raw.json() == spec.json()
