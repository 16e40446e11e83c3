"""`status`, `pause`, `resume`, `extend`, `next`, `skip`, `level`, `quiet`, `ack`,
`dismiss`, `note`, `stop`, `dose`, `ready`: steer the running session through the room
daemon's HTTP API.

The daemon is found where the room's daemon wrote its address beside the room lock
(room/lock.py), whatever port it chose; --url overrides. The CLI is a plain HTTP client
(stdlib only, so it starts fast): it sends the double-submit CSRF pair itself, and the
room's session cookie when it can read the room token. A control is parsed here first (the
one grammar, core/controls.py), so a mistyped one is refused without a daemon. Every failure
is one line and exit 2: the daemon is not running, no session is running, a control was
refused.
"""

from __future__ import annotations

import argparse
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from setandsetting.cli.common import CommandError
from setandsetting.core.controls import LEVEL_STEP_DB, parse_control
from setandsetting.core.events import describe
from setandsetting.core.units import format_clock, format_duration, format_level

TIMEOUT_S = 10.0
WITH_VALUE = {
    "extend": ("DURATION", "extend the current phase, e.g. 10m"),
    "level": (
        "CHANGE",
        f"change the music level: up or down (one {LEVEL_STEP_DB:g}dB step, as the Live page's "
        "buttons and the foot switch), -6dB, +3dB, -5%%, or set it: 40%%",
    ),
    "note": ("TEXT", "write a note into the session journal"),
    "dose": ("NAME AMOUNT [route=R] [lot=L]", "record a dose given, e.g. esketamine 56mg lot=A1"),
}
WITHOUT_VALUE = {
    "pause": "hold the music (fade out; the session clock goes on)",
    "resume": "bring the music back after pause or quiet",
    "next": "move on to the next phase (if its floor allows)",
    "skip": "skip to the next track",
    "quiet": "QUIET: music and chimes fade out at once, quiet cues are sent",
    "ready": "record that the patient is judged ready to leave",
}


def register(sub: argparse._SubParsersAction) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--url", help="the daemon (default: the one running this room)")

    p = sub.add_parser("status", help="the running session: phase, times, music, check-ins")
    common(p)
    p.add_argument("--json", action="store_true", help="the full status as JSON")
    p.set_defaults(func=status)
    for action, help_text in WITHOUT_VALUE.items():
        p = sub.add_parser(action, help=help_text)
        common(p)
        p.set_defaults(func=control, action=action, value=None)
    for action, (metavar, help_text) in WITH_VALUE.items():
        p = sub.add_parser(action, help=help_text)
        common(p)
        if action == "level":  # `level -6dB`: argparse takes -6dB for an option; main gives
            p.add_argument("value", metavar=metavar, nargs="?")  # it back as the value
            p.set_defaults(dashed_value=True)
        else:
            words = "+" if action in ("note", "dose") else None
            p.add_argument("value", metavar=metavar, nargs=words)
        p.set_defaults(func=control, action=action)
    p = sub.add_parser(
        "ack", help="acknowledge the waiting check-in (or the one named), with readings"
    )
    common(p)
    p.add_argument(
        "value",
        metavar="[ID] [bp=S/D hr=N spo2=N rr=N sedation=0-5 dissociation=yes|no note=TEXT]",
        nargs="*",
        help="a check-in id from `status`, then the readings taken",
    )
    p.set_defaults(func=control, action="ack")
    p = sub.add_parser("stop", help="end the session gently (before its floor: say why)")
    common(p)
    p.add_argument("value", metavar="REASON", nargs="*", help="why it ends before its floor")
    p.set_defaults(func=control, action="stop")
    p = sub.add_parser(
        "dismiss",
        help="take a waiting check-in off the screens undone, with the reason (journaled)",
    )
    common(p)
    p.add_argument(
        "value", metavar="[ID] REASON", nargs="+", help="e.g. peak.0.1 vitals taken by hand"
    )
    p.set_defaults(func=control, action="dismiss")


def daemon_url(args: argparse.Namespace) -> str:
    """--url, checked; else the address of the daemon running the room."""
    if args.url:
        return checked_url(str(args.url))
    from setandsetting.room.lock import running_daemon

    root = Path(args.room).resolve()
    holder = running_daemon(root)
    if holder is None:
        raise CommandError(
            f"the room daemon is not running in {root}; start it with `setandsetting serve`"
        )
    if holder.url is None and holder.command == "run":
        raise CommandError(
            f"this room is run by `setandsetting run` (PID {holder.pid}) in a terminal, "
            "which takes no commands from here: steer it there, or use `setandsetting serve`"
        )
    if holder.url is None:
        raise CommandError(f"the room daemon (PID {holder.pid}) is starting; try again")
    return holder.url


def checked_url(url: str) -> str:
    """An http(s)://HOST[:PORT] address, without its trailing slash (CommandError if not)."""
    try:
        parts = urllib.parse.urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        ok = False
    if not ok:
        raise CommandError(
            f"--url {url}: not a daemon's address; write http://HOST:PORT, "
            "e.g. http://127.0.0.1:8700"
        )
    return url.rstrip("/")


def request(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    """One API call; returns the decoded JSON or raises CommandError with the daemon's words."""
    from setandsetting.server.security import CSRF_COOKIE, read_token

    url = daemon_url(args)
    csrf = secrets.token_urlsafe(16)
    token = read_token(Path(args.room))
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Accept", "application/json")
    req.add_header("Cookie", f"{CSRF_COOKIE}={csrf}")
    if token:  # the room token itself: a daemon bound beyond loopback needs it from us too
        req.add_header("Authorization", f"Bearer {token}")
    req.add_header("X-CSRF-Token", csrf)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        raise CommandError(_error_text(err)) from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
        reason = getattr(err, "reason", err)
        raise CommandError(
            f"the room daemon is not running at {url} ({reason}); start it with "
            "`setandsetting serve`"
        ) from None


def _error_text(err: urllib.error.HTTPError) -> str:
    try:
        payload = json.loads(err.read() or b"{}")
    except ValueError:
        payload = {}
    message = payload.get("error") if isinstance(payload, dict) else None
    return str(message or f"the daemon answered {err.code} {err.reason}")


def control(args: argparse.Namespace) -> int:
    value = " ".join(args.value) if isinstance(args.value, list) else args.value
    value = value or None
    try:  # the daemon parses it again: this only refuses a mistyped control without it
        parse_control(args.action if value is None else f"{args.action} {value}")
    except ValueError as err:
        raise CommandError(str(err)) from None
    result = request(args, "POST", "/api/control", {"action": args.action, "value": value})
    events = [e for e in result.get("events", []) if e.get("type") != "control"]
    for event in events:
        print(f"{format_clock(event['t']):>9}  {describe(event)}")
    if args.action in ("next", "ack", "dismiss") and events:
        print("\n".join(waiting_lines(result.get("pending", []))))
    return 0


def waiting_lines(pending: list[dict[str, Any]]) -> list[str]:
    """The check-ins still waiting: they stay on every screen until acknowledged or
    dismissed, whatever phase the session has moved to."""
    if not pending:
        return ["no check-in is waiting"]
    return [
        f"STILL WAITING  {p['kind']}: {p['message']} (due {format_clock(p['due_t'])} in "
        f"{p['phase']}, {format_duration(p['overdue_s'])} overdue; ack {p['id']} or "
        f"dismiss {p['id']} REASON)"
        for p in pending
    ]


def status(args: argparse.Namespace) -> int:
    snap = request(args, "GET", "/api/status")
    if args.json:
        print(json.dumps(snap, indent=2, ensure_ascii=False))
    if not snap.get("running"):
        if snap.get("ended"):
            raise CommandError(f"the session has ended ({snap['ended']})")
        raise CommandError("no session is running")
    if not args.json:
        print("\n".join(status_lines(snap)))
    return 0


def clinic_link_text(link: dict[str, Any]) -> str:
    """The room's link to the clinic hub in a few words, as status and the Live page say it."""
    if link.get("up"):
        return f"up: {link.get('room')} at {link.get('url')}"
    waiting = link.get("pending") or 0
    held = f"; {waiting} event(s) kept for it" if waiting else ""
    return f"clinic link down since {link.get('since') or 'start'} ({link.get('why')}){held}"


def status_lines(snap: dict[str, Any]) -> list[str]:
    """The session at a glance, one fact a line."""
    index, phases = snap.get("phase_index", 0), snap.get("phases", [])
    who = snap["patient"] + (f" ({snap['display_name']})" if snap.get("display_name") else "")
    profile = f"{snap['profile']} ({snap['profile_name']})" if "profile_name" in snap else ""
    lines = [
        ("session", f"{snap['session_id']}  patient {who}  profile {profile or snap['profile']}"),
        ("phase", f"{snap['phase_name']} ({snap['phase']}), {index + 1} of {len(phases)}"),
        ("elapsed", format_clock(snap["t"])),
        (
            "remaining",
            "open (ends when you move on)"
            if snap["remaining"] is None
            else f"{format_duration(snap['remaining'])} in this phase",
        ),
    ]
    playing = snap.get("now_playing")
    silent = {f["output"]: f["why"] for f in snap["audio_faults"]}
    if "music" in silent:  # never silence reported as playing
        lines.append(("music", f"NO SOUND ({silent.pop('music')})"))
    elif snap["music"] != "playing":
        lines.append(("now playing", f"nothing (music {snap['music']})"))
    else:
        lines.append(("now playing", playing["title"] if playing else "silence"))
    lines += [(output.replace("_", " "), f"NO SOUND ({why})") for output, why in silent.items()]
    nudge = snap.get("nudge_pct") or 0.0
    level = format_level(snap["level"]) + (f" (nudged {nudge:+g}%)" if nudge else "")
    lines.append(("level", level))
    clinical = snap.get("clinical") or {}
    for alert in (clinical.get("alerts") or [])[-3:]:  # the latest: the rest are journaled
        lines.append(("ALERT", f"{alert['message']} (at {format_clock(alert['t'])})"))
    for item in snap.get("pending", []):
        late = f", {format_duration(item['overdue_s'])} overdue" if item.get("overdue_s") else ""
        lines.append(("WAITING", f"{item['kind']}: {item['message']} (ack {item['id']}{late})"))
    nxt = snap.get("next_checkin")
    if nxt:
        wait = format_duration(max(0.0, nxt["t"] - snap["t"]))
        where = f", in {nxt['phase']}" if nxt.get("phase", snap["phase"]) != snap["phase"] else ""
        lines.append(("next check-in", f"{nxt['kind']} in {wait} ({nxt['audience']}{where})"))
    else:
        lines.append(("next check-in", "none planned"))
    dose = snap.get("dose_t")
    lines.append(("since the dose", "not yet" if dose is None else format_clock(snap["t"] - dose)))
    up = snap.get("next_phase")
    lines.append(
        ("up next", "last phase" if not up else f"{up['name']} at {format_clock(up['t'])}")
    )
    end = snap.get("session_end")
    lines.append(("session ends", "open (when you stop)" if end is None else format_clock(end)))
    if snap.get("journal_degraded"):
        lines.append(("JOURNAL", str(snap["journal_degraded"])))
    if snap.get("clinic"):
        link = snap["clinic"]
        lines.append(("clinic" if link.get("up") else "CLINIC", clinic_link_text(link)))
    width = max(len(label) for label, _ in lines)
    return [f"{label:<{width}}  {text}" for label, text in lines]
