"""`setandsetting serve`: the room daemon — engine and HTTP (API, SSE, web UI) in one process.

One per room folder: it holds the room's lock (room/lock.py) before it touches the journal
or a device, so a second `serve` or `run` there is refused naming this one, and it writes
its address beside the lock once it listens, for the CLI controls to find.
On start it resumes an interrupted session by itself; `--start PROFILE --patient ID` begins
one (for the demo). The room token is created 0600 on the first run and printed once; a
non-loopback bind is refused without it. SIGINT/SIGTERM (Ctrl-C, systemd, a reboot) stop
the daemon, not the session: the HTTP side stops, the music fades out, `daemon_stopped` is
journaled, and the next `serve` resumes the session (within the room's `resume_window`).
Beyond loopback every request needs the login, and uvicorn trusts X-Forwarded-For only
from room.yaml's `server.trusted_proxies` (none by default), never by its own default.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from setandsetting.cli.common import (
    CommandError,
    add_facts_options,
    facts_of,
    patient_of,
    print_line,
    profile_of,
    room_of,
    warn_unknown_patient,
)
from setandsetting.room.lock import DAEMON_FILE, RoomLock

if TYPE_CHECKING:
    import uvicorn

    from setandsetting.clinic.link import ClinicLink, FailedLink
    from setandsetting.core.room import Room
    from setandsetting.engine.runner import SessionRunner
    from setandsetting.room.folder import RoomFolder


SHUTDOWN_GRACE_S = 2  # open SSE streams never end by themselves: cut them after this
# The engine thread shares the GIL with the web side: hand it over every 0.5 ms (not 5 ms),
# so a busy event loop (many pages open) delays a chime by at most about that.
GIL_SWITCH_S = 0.0005
MAX_PORT = 65535


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="the room daemon: HTTP API and web UI with the engine")
    p.add_argument("--host", help="address to listen on (default: room.yaml, else 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: room.yaml, else 8700; 0: any free)")
    p.add_argument("--start", metavar="PROFILE", help="begin a session at once (name or file)")
    p.add_argument("--patient", help="the patient ID for --start")
    add_facts_options(p)
    p.set_defaults(func=serve)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, ValueError) as err:  # ValueError: a host with a NUL in it
        sock.close()
        why = getattr(err, "strerror", None) or err
        raise CommandError(f"cannot listen on {host}:{port}: {why}") from None
    sock.listen(128)
    # Accepted connections inherit this. Without it, a kept-alive client waited 40 ms for
    # every answer (uvicorn writes the head and the body apart, Nagle holds the body back
    # until the client's delayed ACK): measured 46 ms per request, 1.3 ms with it.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.set_inheritable(True)
    return sock


def serve(args: argparse.Namespace) -> int:
    from setandsetting.server.security import is_loopback_bind, load_or_create_token

    if args.port is not None and not 0 <= args.port <= MAX_PORT:
        raise CommandError(f"--port {args.port}: a port is a number from 0 to {MAX_PORT}")
    folder = room_of(args)
    room = folder.room()
    host = args.host or room.server.host
    port = args.port if args.port is not None else room.server.port
    if args.start and not args.patient:
        raise CommandError("--start needs --patient ID")
    if args.patient:
        patient_of(args)
    args.facts = facts_of(args)  # checked before the room is taken
    with RoomLock.take(folder.root, "serve") as lock:  # before the journal or any device
        try:
            token, created = load_or_create_token(folder.root)
        except OSError as err:
            raise CommandError(f"cannot create the room token in {folder.root}: {err}") from None
        if not token and not is_loopback_bind(host):
            raise CommandError(f"refusing to listen on {host}: the room token is missing or empty")
        if created:
            print(f"room token (shown once; stored 0600 in {folder.root / '.room-token'}): {token}")
        sock = _bind(host, port)
        try:
            _run_daemon(args, folder, room, sock, host, token, lock)
        finally:
            sock.close()
    return 0


def _run_daemon(
    args: argparse.Namespace,
    folder: RoomFolder,
    room: Room,
    sock: socket.socket,
    host: str,
    token: str,
    lock: RoomLock,
) -> None:
    """The session resumed or started, then the HTTP side until a signal; then the session's
    music fades out and it stays open in the journal (`daemon_stopped`)."""
    import uvicorn

    from setandsetting.engine.runner import SessionRunner
    from setandsetting.server.app import ServerSettings, create_app
    from setandsetting.server.security import proxy_options

    port = sock.getsockname()[1]  # --port 0: the port the system chose
    sys.setswitchinterval(GIL_SWITCH_S)
    os.environ.setdefault("JACK_NO_START_SERVER", "1")  # MIDI probing must not spawn jackd
    runner = SessionRunner(folder, prepare=_patient_fetcher(folder, room))
    link = _clinic_link(folder, room, runner)
    stopping: list[int] = []
    servers: list[uvicorn.Server] = []

    def note_signal(sig: int, _frame: FrameType | None) -> None:
        """Before uvicorn takes the signals (and after, when it passes them on)."""
        stopping.append(sig)
        for server in servers:
            server.should_exit = True

    signal.signal(signal.SIGINT, note_signal)
    signal.signal(signal.SIGTERM, note_signal)
    try:
        start = functools.partial(profile_of, args, args.start, "--start: ") if args.start else None
        say_no_sound = sound_sayer(room.audio.outputs())
        early: list[dict[str, Any]] | None = []  # the watch's word, after the session's line
        order = threading.Lock()

        def say_in_order(event: dict[str, Any]) -> None:
            with order:
                if early is not None:
                    early.append(event)
                    return
            say_no_sound(event)

        runner.subscribe(say_in_order)
        resumed = runner.start_or_resume(start, args.patient, args.facts)
        if resumed is not None:
            print_line(resumed)
        elif args.start:
            print_line(f"started session {runner.session_id} for {args.patient}")
            warn_unknown_patient(args, args.patient)
        with order:
            held, early = early or [], None
        for event in held:
            say_no_sound(event)
        say_preflight(say_no_sound, room.audio.outputs())
        settings = ServerSettings(
            host=host,
            port=port,
            token=token or None,
            trusted_proxies=tuple(room.server.trusted_proxies),
            login_idle_s=room.server.login_idle,
            login_max_s=room.server.login_max,
        )
        config = uvicorn.Config(
            create_app(folder, runner, settings, clinic_link=link and link.status),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            **proxy_options(settings.trusted_proxies),
        )
        servers.append(uvicorn.Server(config))
        if not stopping:
            asyncio.run(_serve(servers[0], sock, host, lock))
    finally:
        if runner.session_open:
            print(
                "stopping: the music fades out; the session resumes with the next "
                "`setandsetting serve`",
                flush=True,
            )
        runner.close()
        if link is not None:
            link.close()


def sound_sayer(outputs: dict[str, str]) -> Callable[[dict[str, Any]], None]:
    """The console's word on an output no sound reaches, as the status line says it: each
    change the watch reports (a session event) and the preflight's verdict (say_preflight),
    each said once."""
    from setandsetting.core.events import describe

    said: dict[str, str | None] = dict.fromkeys(outputs)

    def say(event: dict[str, Any]) -> None:
        if event["type"] not in ("audio_fault", "audio_restored"):
            return
        why = event["why"] if event["type"] == "audio_fault" else None
        if said.get(event["output"]) != why:
            said[event["output"]] = why
            print_line(describe(event))

    return say


def say_preflight(say: Callable[[dict[str, Any]], None], outputs: dict[str, str]) -> None:
    """The preflight's verdict on each output, through `say`: where PulseAudio never
    started the watch stays quiet, and this is the console's only word on it."""
    from setandsetting.backends.pulse import sink_verdicts

    for output, why in (sink_verdicts(outputs) or {}).items():
        if why is not None:
            say({"type": "audio_fault", "output": output, "why": why})


def _clinic_link(
    folder: RoomFolder, room: Room, runner: SessionRunner
) -> ClinicLink | FailedLink | None:
    """The room's link to its clinic hub, started (on a thread of its own), when room.yaml
    names one; a link that cannot be set up is said at once, and the room serves anyway."""
    if room.clinic is None:
        return None
    from setandsetting.clinic.commands import command_applier
    from setandsetting.clinic.link import ClinicLink, FailedLink
    from setandsetting.clinic.settings import ClinicSetupError, link_settings

    try:
        link = ClinicLink(folder.journal_path, link_settings(folder), apply=command_applier(runner))
    except ClinicSetupError as err:
        print(f"clinic link: {err}", file=sys.stderr, flush=True)
        return FailedLink(room.clinic.url, room.clinic.room, str(err))
    link.start()
    return link


def _patient_fetcher(folder: RoomFolder, room: Room) -> Callable[[str], None] | None:
    """With a clinic: each new session's patient folder from the hub first (its own copy
    when the hub is away)."""
    if room.clinic is None:
        return None
    from setandsetting.clinic.link import patient_fetcher
    from setandsetting.clinic.settings import ClinicSetupError, link_settings

    try:
        return patient_fetcher(link_settings(folder), folder)
    except ClinicSetupError:
        return None  # said once, by the link


def local_url(host: str, port: int) -> str:
    """Where a client on this machine reaches a daemon listening on host:port."""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _serve(server: uvicorn.Server, sock: socket.socket, host: str, lock: RoomLock) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        port = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{port}/"
        print_line(f"serving {url}  (live session: {url}live)")
        try:
            lock.publish(local_url(host, port))
        except OSError as err:
            print(
                f"cannot write {lock.root / DAEMON_FILE} ({err.strerror or err}): the CLI will "
                "not find this daemon by itself; give it --url",
                file=sys.stderr,
                flush=True,
            )
    await task
