"""POST /login: the room token in, the session cookie out (JSON, or the HTML form)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from setandsetting.server.deps import Settings
from setandsetting.server.errors import ApiError
from setandsetting.server.security import login_cookie, token_matches

router = APIRouter()


async def _body(request: Request) -> dict[str, Any]:
    """JSON or a urlencoded form, as a dict; anything else is a 400."""
    raw = await request.body()
    kind = request.headers.get("content-type", "")
    try:
        if "application/x-www-form-urlencoded" in kind:
            return {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return data


@router.post("/login", include_in_schema=False)
async def login(request: Request, settings: Settings) -> Response:
    form = "application/x-www-form-urlencoded" in request.headers.get("content-type", "")
    data = await _body(request)
    if not token_matches(data.get("token"), settings.token):
        if form:
            return RedirectResponse("/login?failed=1", status_code=303)
        raise ApiError(403, "wrong room token")
    response: Response = (
        RedirectResponse("/", status_code=303) if form else JSONResponse({"ok": True})
    )
    assert settings.token is not None
    response.headers.append("set-cookie", login_cookie(settings.token))
    return response
