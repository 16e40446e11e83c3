"""POST /login: the room token in, a new login's cookie out (JSON, or the HTML form);
POST /api/logout: that login ends. Wrong tokens are limited per client (security.Guard)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from setandsetting.server.deps import Access, Settings
from setandsetting.server.errors import ApiError, reply
from setandsetting.server.security import (
    SESSION_COOKIE,
    login_cookie,
    logout_cookie,
    parse_cookies,
)

router = APIRouter()


async def _body(request: Request) -> dict[str, Any]:
    """JSON or a urlencoded form, as a dict; anything else is a 400."""
    raw = await request.body()
    kind = request.headers.get("content-type", "")
    try:
        if "application/x-www-form-urlencoded" in kind:
            return {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):  # nested deeper than json can
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return data


def _login_id(request: Request) -> str | None:
    return parse_cookies(request.headers.get("cookie", "")).get(SESSION_COOKIE)


@router.post("/login", include_in_schema=False)
async def login(request: Request, settings: Settings, guard: Access) -> Response:
    form = "application/x-www-form-urlencoded" in request.headers.get("content-type", "")
    data = await _body(request)
    refused = guard.offered_token(
        request.client.host if request.client else None, data.get("token")
    )
    if refused is not None:
        if form:
            wait = f"wait={refused.retry_after}" if refused.retry_after else "failed=1"
            return RedirectResponse(f"/login?{wait}", status_code=303)
        response: Response = reply(refused.status, refused.reason)
        if refused.retry_after is not None:
            response.headers["Retry-After"] = str(refused.retry_after)
        return response
    guard.logins.end(_login_id(request))  # a browser logging in again leaves no old login
    response = RedirectResponse("/", status_code=303) if form else JSONResponse({"ok": True})
    response.headers.append("set-cookie", login_cookie(guard.logins.create(), settings.login_max_s))
    return response


@router.post("/api/logout")
async def logout(request: Request, guard: Access) -> JSONResponse:
    """End this browser's login (its cookie is cleared); harmless without one."""
    guard.logins.end(_login_id(request))
    response = JSONResponse({"ok": True})
    response.headers.append("set-cookie", logout_cookie())
    return response
