"""Who may talk to the room daemon, and how a browser is kept from being tricked into it.

- Trust is decided by the bind, not the peer. Bound to loopback only (127.0.0.1, ::1,
  localhost) with no trusted proxies named, a loopback client needs nothing more — as long
  as it names the server by an IP literal or `localhost` (a DNS-rebinding page on the same
  machine cannot) and says nothing of being forwarded. Bound to anything else, or reached
  through proxies room.yaml names, every request needs the login, loopback included:
  a reverse proxy, a TCP forwarder or another local user look like loopback too.
- The login is the `sas_session` cookie, obtained by POST /login with the room token: a
  random ID per login, held by LoginSessions (login_sessions.py), ended by expiry or
  POST /api/logout. The CLI sends the room token itself (`Authorization: Bearer`), read
  from the 0600 token file. Wrong tokens, either way, are limited per client (login_limit.py).
- State-changing requests need `X-CSRF-Token` equal to the `sas_csrf` cookie (double
  submit; the server sets that cookie on any response that lacks it), and an Origin header,
  if sent, must be the server's own.

A pure ASGI middleware (not BaseHTTPMiddleware), so the SSE stream passes through untouched.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
from collections.abc import Awaitable, Callable, Sequence
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from setandsetting.server.login_limit import LoginLimit
from setandsetting.server.login_sessions import LoginSessions

TOKEN_FILE = ".room-token"
SESSION_COOKIE = "sas_session"
CSRF_COOKIE = "sas_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPEN_PATHS = frozenset({"/login", "/api/logout"})  # reachable before logging in
OPEN_PREFIXES = ("/static/",)
FORWARDED = ("x-forwarded-for", "forwarded", "x-real-ip")  # a proxy passed the request on
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


def proxy_options(trusted_proxies: Sequence[str]) -> dict[str, Any]:
    """uvicorn's proxy-header handling, set on purpose: off unless room.yaml names proxies
    (uvicorn's own default trusts X-Forwarded-For from 127.0.0.1)."""
    return {"proxy_headers": bool(trusted_proxies), "forwarded_allow_ips": list(trusted_proxies)}


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


def token_matches(given: object, token: str | None) -> bool:
    return (
        isinstance(given, str)
        and token is not None
        and hmac.compare_digest(given.encode(), token.encode())
    )


def _host_name(host_header: str) -> str:
    try:
        return urlsplit(f"//{host_header}").hostname or ""
    except ValueError:  # e.g. an unclosed `[`: no name at all
        return ""


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


class Refusal(NamedTuple):
    status: int  # 401 log in first, 403 refused, 429 wait
    reason: str
    retry_after: int | None = None


def _bearer(headers: dict[str, str]) -> str | None:
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


class Guard:
    """The checks, on plain values, so each is testable on its own.

    `open_loopback`: the bind is loopback only and no proxy is trusted, so a loopback
    client may come in without the login.
    """

    def __init__(
        self, token: str | None, logins: LoginSessions, limit: LoginLimit, open_loopback: bool
    ) -> None:
        self.token = token
        self.logins = logins
        self.limit = limit
        self.open_loopback = open_loopback

    def check(
        self,
        *,
        method: str,
        path: str,
        client: str | None,
        headers: dict[str, str],
        cookies: dict[str, str],
        signed_in: bool = False,
        scheme: str = "http",
    ) -> Refusal | None:
        """None if allowed, else why not. `signed_in`: the request has a live login."""
        host = headers.get("host", "")
        if not (signed_in or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)):
            refused = self._without_login(client, headers, host)
            if refused is not None:
                return refused
        if method in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None and origin != f"{scheme}://{host}":
            return Refusal(403, "cross-origin request refused")
        if path in CSRF_EXEMPT:
            return None
        sent, expected = headers.get(CSRF_HEADER, ""), cookies.get(CSRF_COOKIE, "")
        if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return Refusal(403, "missing or wrong X-CSRF-Token header")
        return None

    def _without_login(
        self, client: str | None, headers: dict[str, str], host: str
    ) -> Refusal | None:
        bearer = _bearer(headers)
        if bearer is not None:
            return self.offered_token(client, bearer)
        if (
            not self.open_loopback
            or not is_loopback(client)
            or any(name in headers for name in FORWARDED)
        ):
            return Refusal(401, "log in with the room token first")
        if not _named_safely(host):
            return Refusal(403, "open the room daemon by address (e.g. http://127.0.0.1:8700)")
        return None

    def offered_token(self, client: str | None, given: object) -> Refusal | None:
        """A client offers the room token (login form, CLI): None if right and allowed now."""
        wait = self.limit.retry_after(client)
        if wait is not None:
            return Refusal(429, f"too many wrong room tokens; try again in {wait} s", wait)
        if not token_matches(given, self.token):
            self.limit.failed(client)
            return Refusal(403, "wrong room token")
        self.limit.succeeded(client)
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
        signed_in = self.guard.logins.valid(cookies.get(SESSION_COOKIE))
        refused = self.guard.check(
            method=scope["method"],
            path=scope["path"],
            client=client[0] if client else None,
            headers=headers,
            cookies=cookies,
            signed_in=signed_in,
            scheme=scope.get("scheme", "http"),
        )
        if refused is not None:
            await self._refuse(scope, send, refused)
            return
        scope.setdefault("state", {})["signed_in"] = signed_in  # the pages show Log out
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

    async def _refuse(self, scope: Scope, send: Any, refusal: Refusal) -> None:
        wants_page = (
            refusal.status == 401
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
        body = json.dumps({"error": refusal.reason}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if refusal.retry_after is not None:
            headers.append((b"retry-after", str(refusal.retry_after).encode()))
        await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def login_cookie(login_id: str, max_age_s: float) -> str:
    """The login's cookie: the browser drops it when the login would end at the latest."""
    return (
        f"{SESSION_COOKIE}={login_id}; Path=/; Max-Age={int(max_age_s)}; HttpOnly; SameSite=Strict"
    )


def logout_cookie() -> str:
    return f"{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
