"""`setandsetting serve`: the room daemon — engine and HTTP (API, SSE, web UI) in one process.

On start it resumes an interrupted session by itself; `--start PROFILE --patient ID` begins
one (for the demo). The room token is created 0600 on the first run and printed once; a
non-loopback bind is refused without it, and beyond loopback every request needs the login.
uvicorn trusts X-Forwarded-For only from room.yaml's `server.trusted_proxies` (none by
default), never by its own default. SIGINT/SIGTERM stop the HTTP side, then end the
session gently (the music fades out, `session_ended` is journaled).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from setandsetting.cli.common import CommandError, room_of
from setandsetting.core.problems import FormatError
from setandsetting.core.types import check_patient_id
from setandsetting.core.units import format_duration
from setandsetting.room.errors import RoomError

if TYPE_CHECKING:
    import uvicorn

    from setandsetting.room.folder import RoomFolder

SHUTDOWN_GRACE_S = 2  # open SSE streams never end by themselves: cut them after this
# The engine thread shares the GIL with the web side: hand it over every 0.5 ms (not 5 ms),
# so a busy event loop (many pages open) delays a chime by at most about that.
GIL_SWITCH_S = 0.0005


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="the room daemon: HTTP API and web UI with the engine")
    p.add_argument("--host", help="address to listen on (default: room.yaml, else 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: room.yaml, else 8700)")
    p.add_argument("--start", metavar="PROFILE", help="begin a session at once (name or file)")
    p.add_argument("--patient", help="the patient ID for --start")
    p.set_defaults(func=serve)


def _profile(folder: RoomFolder, name: str) -> Path:
    path = Path(name)
    if path.is_file():
        return path
    try:
        return folder.profile_path(name)
    except RoomError as err:
        raise CommandError(f"--start: {err}") from None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise CommandError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from setandsetting.engine.runner import SessionRunner
    from setandsetting.journal.store import JournalError
    from setandsetting.server.app import ServerSettings, create_app
    from setandsetting.server.security import (
        is_loopback_bind,
        load_or_create_token,
        proxy_options,
    )

    folder = room_of(args)
    try:
        room = folder.room()
    except FormatError as err:
        raise CommandError("\n".join(str(p) for p in err.problems)) from None
    host = args.host or room.server.host
    port = args.port if args.port is not None else room.server.port
    if args.start and not args.patient:
        raise CommandError("--start needs --patient ID")
    if args.patient:
        try:
            check_patient_id(args.patient)
        except ValueError as err:
            raise CommandError(f"--patient: {err}") from None
    try:
        token, created = load_or_create_token(folder.root)
    except OSError as err:
        raise CommandError(f"cannot create the room token in {folder.root}: {err}") from None
    if not token and not is_loopback_bind(host):
        raise CommandError(f"refusing to listen on {host}: the room token is missing or empty")
    if created:
        print(f"room token (shown once; stored 0600 in {folder.root / '.room-token'}): {token}")
    sock = _bind(host, port)
    sys.setswitchinterval(GIL_SWITCH_S)
    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # MIDI probing must not spawn jackd
    runner = SessionRunner(folder)
    stopping: list[int] = []

    def note_signal(sig: int, _frame: FrameType | None) -> None:
        stopping.append(sig)

    signal.signal(signal.SIGINT, note_signal)
    signal.signal(signal.SIGTERM, note_signal)
    try:
        try:
            resumed = runner.resume_interrupted()
            if resumed is not None:
                gap = format_duration(resumed.gap_s)
                print(f"resumed session {resumed.session_id} after {gap}", flush=True)
            elif args.start:
                runner.start(_profile(folder, args.start), args.patient)
                print(f"started session {runner.session_id} for {args.patient}", flush=True)
        except FormatError as err:
            raise CommandError("\n".join(str(p) for p in err.problems)) from None
        except JournalError as err:
            raise CommandError(str(err)) from None
        settings = ServerSettings(
            host=host,
            port=port,
            token=token or None,
            trusted_proxies=tuple(room.server.trusted_proxies),
            login_idle_s=room.server.login_idle,
            login_max_s=room.server.login_max,
        )
        config = uvicorn.Config(
            create_app(folder, runner, settings),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            **proxy_options(settings.trusted_proxies),
        )
        server = uvicorn.Server(config)
        shown = f"[{host}]" if ":" in host else host
        asyncio.run(_serve(server, sock, f"http://{shown}:{port}/"))
    finally:
        sock.close()
        if runner.running:
            print("stopping: the music fades out…", flush=True)
        runner.close()
    return 0


async def _serve(server: uvicorn.Server, sock: socket.socket, url: str) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        print(f"serving {url}  (live session: {url}live)", flush=True)
    await task
