"""Hostile requests at every route of the daemon, over real HTTP, during a running session.

Hypothesis builds each request: a route taken from `app.routes` (so a new route is fuzzed
without touching this file), a method (mostly the route's own), path parameters from known
good values, traversal and injection strings, names too long for the file system and
random text; random query strings; random and hostile headers (cookies, CSRF tokens,
Origin, Authorization, X-Forwarded-For, Host, content types); and bodies that are JSON
shaped like the API's, any JSON, bytes, forms, deeply nested, invalid UTF-8, over 64 KB,
with a length or chunked. Two servers share the room: one bound to loopback (most requests
get past the guard and reach the routes) and one that judges as if bound to 0.0.0.0
(every request needs the login).

For every response: never a 500 (nor any status >= 500), never a traceback, and when the
request was refused (>= 400) the journal is exactly as before. After the run: no file was
written outside the room folder. The session is "still" (nothing planned, no music): the
engine journals nothing of its own accord, so any new row was written by a request.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Mount, Route

from setandsetting.core.controls import USER_ACTIONS
from setandsetting.server.app import ServerSettings, create_app
from tests.support.daemon import STILL_PROFILE, TOKEN, daemon, served

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Generating overly large repr"),  # the 100 KB bodies
]

PER_ROUTE = 40  # requests at each route
KNOWN = ["P-0042", "default", "calm", "short", "still", "broken", "0", "1", "-1", "room.css"]
KNOWN_BY_PARAM = {  # what names something real, by the route's parameter name
    "patient_id": ["P-0042", "default", "P-0099"],
    "patient": ["P-0042", "default"],
    "slot": ["calm", "peak"],
    "index": ["0", "1", "3", "-1"],
    "path": ["room.css", "common.js", "live.js"],
}
HOSTILE = [
    "..",
    ".",
    "%2e%2e",
    "..%2f..%2f..%2fetc%2fpasswd",
    "../../../../etc/passwd",
    "..\\..\\x",
    "/etc/passwd",
    "a" * 255,
    "a" * 256,
    "b" * 300,
    "c" * 3000,
    "%00",
    "x\x00y",
    "~root",
    "CON",
    "é",
    "😀" * 70,
    "\u202e",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "99999999999999999999999",
    "1e999",
    "NaN",
    " ",
    "",
]
PLAIN_HEADERS = [
    "content-type",
    "accept",
    "range",
    "if-none-match",
    "content-encoding",
    "accept-encoding",
    "referer",
    "user-agent",
]
HEADERS = [  # also those the guard judges by
    *PLAIN_HEADERS,
    "cookie",
    "x-csrf-token",
    "origin",
    "authorization",
    "x-forwarded-for",
    "forwarded",
    "x-real-ip",
    "x-forwarded-proto",
    "host",
]
HEADER_VALUES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/plain",
    "application/json; charset=utf-16",
    "sas_csrf=csrf-1; sas_session=" + "A" * 43,
    "sas_session=../../etc; sas_csrf=",
    "sas_csrf=csrf-1",
    "csrf-1",
    'a="b; c=d',
    "http://evil.example",
    "null",
    "Bearer " + TOKEN,
    "Bearer wrong",
    "Basic Og==",
    "127.0.0.1",
    "10.0.0.1, 127.0.0.1",
    "for=127.0.0.1",
    "evil.example:8700",
    "[::1]:8700",
    "bytes=0-1,5-",
    "gzip",
    "*/*",
    "text/html",
    "x" * 4000,
]
QUERIES = [  # what the routes take, to be mixed with anything else
    {},
    {"patient": "P-0042", "profile": "still"},
    {"patient": "P-0042", "profile": "short"},
    {"q": "T"},
    {"q": "t1", "tag": "instrumental"},
    {"profile": "short", "phase": "settle", "tag": "genre=x", "not_heard": "2"},
    {"profile": "short", "phase": "deep", "not_heard": "-1"},
    {"format": "csv"},
    {"format": "html"},
    {"failed": "1"},
    {"wait": "30"},
]
ACTIONS = [*USER_ACTIONS, "dance", "", "STOP", "note "]


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of the strategies, each drawn about as often as its weight says."""
    return st.sampled_from([s for weight, s in choices for _ in range(weight)]).flatmap(lambda s: s)


def segments(known: list[str]) -> st.SearchStrategy[str]:
    """A path segment or query value: mostly one that names something in the room."""
    return weighted(
        (3, st.sampled_from(known)), (1, st.sampled_from(HOSTILE)), (1, st.text(max_size=40))
    )


segment = segments(KNOWN)
header_value = st.one_of(
    st.sampled_from(HEADER_VALUES),
    st.text(
        st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
        max_size=120,
    ),
)
json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(KNOWN + HOSTILE)
    | st.text(max_size=60),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=12,
)


def usually(good: list[Any], other: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a value the API takes, sometimes anything else."""
    return weighted((3, st.sampled_from(good)), (1, other))


# Every key every route reads, so a body can be right for whichever route it meets.
api_shaped = st.fixed_dictionaries(
    {
        "patient": usually(["P-0042", "default"], segment),
        "profile": usually(["still", "short"], segment),
        "path": usually(["music/t0.flac", "music/t1.flac", "music/none.flac"], segment),
        "title": usually([None, "A title"], json_value),
        "from": usually([0, 1, 5, -1], json_value),
        "to": usually([0, 1, 5, -1], json_value),
        "avoid": usually(
            [[], ["*x*"], ["music/t0.flac"]], st.lists(segment, max_size=5) | json_value
        ),
        "token": usually([TOKEN, "wrong", ""], json_value),
    }
)
CONTROLS = [  # an action with a value it takes
    *[(action, None) for action in ("pause", "resume", "quiet", "skip", "next", "ack", "stop")],
    ("extend", "5m"),
    ("level", "+5%"),
    ("level", "-6dB"),
    ("level", "40%"),
    ("note", "eyes closed"),
]
control = usually(
    CONTROLS,
    st.tuples(
        st.sampled_from(ACTIONS) | json_value,
        st.sampled_from([None, "", "5m", "40%"]) | json_value | st.text(max_size=5000),
    ),
)
api_shaped = st.builds(lambda body, c: {**body, "action": c[0], "value": c[1]}, api_shaped, control)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


body = weighted(
    (5, api_shaped.map(_json)),
    (1, st.none()),
    (1, api_shaped.map(lambda d: urlencode({k: str(v) for k, v in d.items()}).encode())),
    (1, json_value.map(_json)),
    (1, st.binary(max_size=600)),
    (
        1,
        st.sampled_from(
            [
                b"[" * 100_000,  # deeper than any parser's recursion
                b"[" * 5_000 + b"]" * 5_000,
                b'{"action": "note", "value": "\xff\xfe"}',
                b'{"action": "note", "value": "\\ud800"}',
                b'{"action": "level", "value": 1e999}',
                b'{"from": 123456789012345678901234567890, "to": 0}',
                b'{"action": "note", "value": "' + b"n" * 4097 + b'"}',
                b"x" * 70_000,
                b"token=" + b"t" * 66_000,
            ]
        ),
    ),
    (
        1,
        st.integers(min_value=60_000, max_value=140_000).map(
            lambda n: b'{"value": "' + b"v" * n + b'"}'
        ),
    ),
)


def leaf_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, frozenset[str]]]:
    """(path template, methods) of every route, however the app nests its routers."""
    for route in routes:
        if isinstance(route, Mount):
            yield prefix + route.path + "/{path:path}", frozenset({"GET", "HEAD"})
        elif isinstance(route, Route):
            yield prefix + route.path, frozenset(route.methods or ())
        elif hasattr(route, "original_router"):  # FastAPI's included routers
            yield from leaf_routes(
                route.original_router.routes, prefix + route.include_context.prefix
            )
        else:
            raise AssertionError(f"a kind of route the fuzz test cannot enumerate: {route!r}")


@st.composite
def requests(
    draw: st.DrawFn, template: str, methods: frozenset[str], known: dict[str, list[str]]
) -> dict[str, Any]:
    """A request at the route `template`; `known` names things in the room, by parameter."""
    named = segments(known[""])
    others = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    method = draw(weighted((6, st.sampled_from(sorted(methods))), (1, st.sampled_from(others))))
    path = template
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        param = path[start + 1 : end].split(":")[0]
        value = draw(segments(known.get(param, known[""])))
        safe = draw(st.sampled_from(["", "/", "/%"]))  # sometimes slashes and escapes raw
        path = path[:start] + quote(value, safe=safe) + path[end + 1 :]
    query = draw(st.sampled_from(QUERIES)) | draw(
        st.dictionaries(
            st.sampled_from(["q", "patient", "profile", "format", "failed", "wait", "x"])
            | st.text(max_size=8),
            named,
            max_size=3,
        )
    )
    if query:
        path += "?" + urlencode(query)
    names = draw(st.sampled_from([PLAIN_HEADERS] * 3 + [HEADERS] * 2))  # most pass the guard
    headers = draw(st.dictionaries(st.sampled_from(names), header_value, max_size=4))
    return {
        "route": template,
        "method": method,
        "path": path or "/",
        "headers": headers,
        "body": draw(body),
        "chunked": draw(st.booleans()),
        "logged_out": draw(st.sampled_from([False] * 6 + [True])),
    }


def send(port: int, request: dict[str, Any]) -> tuple[int, str]:
    """One request over a fresh connection; an event stream is read only to its first part."""
    data = request["body"]
    headers = {"Cookie": "sas_csrf=csrf-1", "X-CSRF-Token": "csrf-1"}  # as the pages send
    if data is not None:
        headers["Content-Type"] = "application/json"
    headers.update(request["headers"])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        if data is not None and request["chunked"]:
            conn.request(
                request["method"], request["path"], iter([data]), headers, encode_chunked=True
            )
        else:
            conn.request(request["method"], request["path"], data, headers)
        response = conn.getresponse()
        if response.getheader("content-type", "").startswith("text/event-stream"):
            text = response.read1(65536)
        else:
            text = response.read()
        return response.status, text.decode("utf-8", "replace")
    except (ConnectionError, http.client.RemoteDisconnected):
        return -1, ""  # no answer at all: as much a failure as a 500
    finally:
        conn.close()


def weighed(status: int, text: str) -> list[str]:
    """What a refused request may have journaled: nothing, unless it was a control the engine
    weighed and refused (409, its answer says so): the control and the refusal are part of
    the session's record."""
    if status != 409:
        return []
    try:
        events = json.loads(text).get("events", [])
    except ValueError:
        return []
    refused = [e["type"] for e in events] == ["control_refused"]
    return ["control", "control_refused"] if refused else []


def tree(root: Path, skip: Path) -> dict[str, tuple[int, int]]:
    """Every file under root but not under skip: path -> (size, mtime)."""
    found = {}
    for folder, dirs, files in os.walk(root):
        if Path(folder) == skip:
            dirs.clear()
            continue
        for name in files + [d + "/" for d in dirs]:
            path = Path(folder) / name
            stat = path.stat()
            found[str(path.relative_to(root))] = (
                stat.st_size,
                stat.st_mtime_ns if name[-1] != "/" else 0,
            )
    return found


def test_hostile_requests_at_every_route_never_break_the_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = tmp_path / "world"  # the room and its neighbours: nothing but the room may change
    (world / "cwd").mkdir(parents=True)
    (world / "neighbour.yaml").write_text("tracks: []\n")
    monkeypatch.chdir(world / "cwd")
    room_root = world / "room"
    with daemon(room_root) as room:
        # every session anyone starts is the still one
        (room_root / "profiles" / "short.yaml").write_text(STILL_PROFILE)
        (room_root / "profiles" / "still.yaml").write_text(STILL_PROFILE)
        closed = create_app(room.folder, room.runner, ServerSettings(token=TOKEN, host="0.0.0.0"))
        journal = room.runner.journal
        table = sorted(set(leaf_routes(room.app.routes)))
        assert len(table) >= 30 and ("/api/control", frozenset({"POST"})) in table
        room.runner.start(room.folder.profile_path("still"), "P-0042")
        session_id = str(room.runner.session_id)
        known = {"": [*KNOWN, session_id], "session_id": [session_id], **KNOWN_BY_PARAM}
        before_tree = tree(world, room_root)
        statuses: Counter[int] = Counter()
        answered: dict[str, Counter[int]] = {template: Counter() for template, _ in table}

        def rows() -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
            """Every journaled event; every session with how it ended."""
            events = journal.query("SELECT session_id, seq, type FROM events")
            return set(events), set(journal.query("SELECT id, end_reason FROM sessions"))

        def settle() -> None:
            """After an accepted change, let whatever it started finish writing."""
            last, deadline = rows(), time.monotonic() + 5
            while time.monotonic() < deadline:
                time.sleep(0.03)
                if (now := rows()) == last:
                    return
                last = now

        with served(room.app) as open_url, served(closed) as closed_url:
            ports = {
                False: int(open_url.rsplit(":", 1)[1]),
                True: int(closed_url.rsplit(":", 1)[1]),
            }

            @settings(
                max_examples=PER_ROUTE,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(st.data())
            def fire(template: str, methods: frozenset[str], data: st.DataObject) -> None:
                request = data.draw(requests(template, methods, known), label="request")
                # mostly during a session; now and then with none (once one was stopped)
                if not room.runner.running and data.draw(st.booleans(), label="restart"):
                    room.runner.start(room.folder.profile_path("still"), "P-0042")
                    settle()
                before = rows()
                status, text = send(ports[request["logged_out"]], request)
                statuses[status] += 1
                answered[request["route"]][status] += 1
                shown = {**request, "body": (request["body"] or b"")[:200]}
                assert 0 < status < 500, (shown, status, text[:500])
                assert "Traceback" not in text and 'File "/' not in text, (shown, text[:500])
                if status >= 400:
                    events, sessions = rows()
                    added = [row[2] for row in sorted(events - before[0])]
                    assert added == weighed(status, text), (shown, status, text[:500])
                    assert sessions == before[1], (shown, status, text[:500])
                elif request["method"] not in ("GET", "HEAD"):
                    settle()

            for template, methods in table:
                fire(template, methods)
        after_tree = tree(world, room_root)
    changed = {
        k for k in before_tree.keys() | after_tree.keys() if before_tree.get(k) != after_tree.get(k)
    }
    assert changed == set(), sorted(changed)
    with capsys.disabled():
        total = sum(statuses.values())
        shown = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
        never = [t for t, seen in sorted(answered.items()) if not any(s < 400 for s in seen)]
        print(f"\nfuzz: {total} requests at {len(table)} routes; statuses {shown}; 0 >= 500")
        print(f"fuzz: routes that refused every request: {', '.join(never) or 'none'}")
    assert all(sum(seen.values()) >= PER_ROUTE for seen in answered.values()), answered
    assert not [s for s in statuses if s >= 500]
