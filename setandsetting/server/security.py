"""Who may talk to the room daemon, and how a browser is kept from being tricked into it.

- Loopback clients (127.0.0.0/8, ::1) need nothing more — as long as they name the server by
  an IP literal or `localhost` (a DNS-rebinding page on the same machine cannot).
- Any other client needs the `sas_session` cookie, obtained by POST /login with the room
  token. The cookie is an HMAC of the token, so it stays valid across restarts and dies
  when the token file is replaced.
- State-changing requests need `X-CSRF-Token` equal to the `sas_csrf` cookie (double
  submit; the server sets that cookie on any response that lacks it), and an Origin header,
  if sent, must be the server's own.

A pure ASGI middleware (not BaseHTTPMiddleware), so the SSE stream passes through untouched.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TOKEN_FILE = ".room-token"
SESSION_COOKIE = "sas_session"
CSRF_COOKIE = "sas_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_PATHS = ("/login", "/static/")  # reachable before logging in
CSRF_EXEMPT = frozenset({"/login"})  # a plain HTML login form; guarded by Origin and token

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Any]


def is_loopback(host: str | None) -> bool:
    """Only 127.0.0.0/8 and ::1 (also IPv4-mapped) are this machine; names never are."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def is_loopback_bind(host: str) -> bool:
    return host == "localhost" or is_loopback(host)


def load_or_create_token(room_root: Path) -> tuple[str, bool]:
    """The room token (created 0600 on first use); returns (token, created_now)."""
    path = room_root / TOKEN_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_token(room_root) or "", False
    token = secrets.token_urlsafe(24)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(token + "\n")
    return token, True


def read_token(room_root: Path) -> str | None:
    path = room_root / TOKEN_FILE
    try:
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return token or None


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"setandsetting-session-v1", hashlib.sha256).hexdigest()


def token_matches(given: object, token: str | None) -> bool:
    return (
        isinstance(given, str)
        and token is not None
        and hmac.compare_digest(given.encode(), token.encode())
    )


def _host_name(host_header: str) -> str:
    return urlsplit(f"//{host_header}").hostname or ""


def _named_safely(host_header: str) -> bool:
    """An IP literal or localhost: what a DNS-rebinding attacker's page can never be."""
    name = _host_name(host_header)
    if name == "localhost":
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """The checks, on plain values, so each is testable on its own."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    def logged_in(self, cookies: dict[str, str]) -> bool:
        given = cookies.get(SESSION_COOKIE)
        return self.token is not None and token_matches(given, session_value(self.token))

    def check(
        self,
        *,
        method: str,
        path: str,
        client: str | None,
        headers: dict[str, str],
        cookies: dict[str, str],
        scheme: str = "http",
    ) -> tuple[int, str] | None:
        """None if allowed, else (status, reason): 401 log in first, 403 refused."""
        host = headers.get("host", "")
        if not path.startswith(OPEN_PATHS) and not self.logged_in(cookies):
            if not is_loopback(client):
                return 401, "log in with the room token first"
            if not _named_safely(host):
                return 403, "open the room daemon by address (e.g. http://127.0.0.1:8700)"
        if method in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None and origin != f"{scheme}://{host}":
            return 403, "cross-origin request refused"
        if path in CSRF_EXEMPT:
            return None
        sent, expected = headers.get(CSRF_HEADER, ""), cookies.get(CSRF_COOKIE, "")
        if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return 403, "missing or wrong X-CSRF-Token header"
        return None


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def parse_cookies(header: str) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header is treated as no cookies
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


class SecurityMiddleware:
    """Applies Guard to every HTTP request; sets the CSRF cookie where it is missing."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        cookies = parse_cookies(headers.get("cookie", ""))
        client = scope.get("client")
        refused = self.guard.check(
            method=scope["method"],
            path=scope["path"],
            client=client[0] if client else None,
            headers=headers,
            cookies=cookies,
            scheme=scope.get("scheme", "http"),
        )
        if refused is not None:
            await self._refuse(scope, send, *refused)
            return
        csrf = None if cookies.get(CSRF_COOKIE) else secrets.token_urlsafe(24)

        async def send_with_cookie(message: dict[str, Any]) -> None:
            if csrf and message["type"] == "http.response.start":
                sent = list(message.get("headers", []))
                prefix = f"{CSRF_COOKIE}=".encode()
                if not any(k.lower() == b"set-cookie" and v.startswith(prefix) for k, v in sent):
                    cookie = f"{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict"
                    message["headers"] = [*sent, (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _refuse(self, scope: Scope, send: Any, status: int, reason: str) -> None:
        wants_page = (
            status == 401
            and scope["method"] == "GET"
            and not scope["path"].startswith("/api/")
            and "text/html" in _headers(scope).get("accept", "")
        )
        if wants_page:
            start = {"type": "http.response.start", "status": 303}
            start["headers"] = [(b"location", b"/login"), (b"content-length", b"0")]
            await send(start)
            await send({"type": "http.response.body", "body": b""})
            return
        body = json.dumps({"error": reason}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def login_cookie(token: str) -> str:
    return f"{SESSION_COOKIE}={session_value(token)}; Path=/; HttpOnly; SameSite=Strict"
