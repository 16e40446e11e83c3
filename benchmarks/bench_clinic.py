"""The clinic hub's figures: 20 rooms pushing to one hub with 50 dashboards watching.

    .venv/bin/python benchmarks/bench_clinic.py [--rooms 20] [--dashboards 50] [--speed 60]

Everything is real: a private PostgreSQL (initdb and pg_ctl as in the tests), the hub as
its own `clinic serve` process, each room a SQLite journal with its own ClinicLink thread
(the daemon's code), the rooms in worker processes of five (as rooms are separate
machines, they must not share one GIL), and the dashboards as 50 SSE clients in one
asyncio process reading /api/stream.

(a) Live: every room rehearses the IM ketamine profile at --speed (60x): each event is
    appended to the room's journal when its moment comes, stamped with the real wall time
    of the append; each dashboard notes when the room's update carrying it arrives.
    Latency room -> dashboard p50 / p99 (goal p99 <= 250 ms).
(b) Catch-up: with the hub stopped, each room journals 30 minutes of its session (what a
    30-minute outage leaves in the outboxes); then the hub starts and the time until it
    holds every event of every room is measured, with the ingest rate it reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from setandsetting.clinic.link import ClinicLink
from setandsetting.clinic.settings import LinkSettings
from setandsetting.clinic.store import ClinicStore
from setandsetting.core.plan import build_plan
from setandsetting.engine.rehearsal import rehearse
from setandsetting.journal.store import Journal
from setandsetting.room.folder import RoomFolder
from tests.support.postgres import free_port, postgres_server

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "profiles" / "im-ketamine.yaml"
PER_WORKER = 5
OUTAGE_S = 1800.0
LAST_WALL = re.compile(rb'"last_event":\{"type":"[a-z_]+","wall":"([^"]+)"')


def session_events() -> tuple[dict, list[dict]]:
    """The IM profile rehearsed instantly: its plan and every event (session times)."""
    compiled = RoomFolder(REPO).compile(PROFILE, "P-0042")
    result = rehearse(compiled.timeline)
    return build_plan(compiled.timeline), [e.to_dict() for e in result.events]


# ---------------------------------------------------------------- room workers (processes)


def worker(args: argparse.Namespace) -> int:
    """Rooms args.first..args.first+count-1: live at --speed, or the outage's backlog."""
    plan, events = session_events()
    rooms = json.loads(args.rooms_json)
    threads = []
    links = []
    for name, token in rooms.items():
        root = Path(args.dir) / name.replace(" ", "-")
        root.mkdir(parents=True, exist_ok=True)
        journal = Journal.open(root / "sessions.db")
        started = datetime.now(UTC)
        sid = journal.begin_session("P-0042", str(PROFILE), "IM", started, plan)
        if args.mode == "backlog":  # what 30 minutes with no hub leave in the outbox
            journal.append_many(
                (sid, e | {"wall": (started + timedelta(seconds=e["t"])).isoformat()})
                for e in events
                if e["t"] < OUTAGE_S
            )
            journal.close()
            continue
        link = ClinicLink(root / "sessions.db", LinkSettings(args.url, name, token))
        link.start()
        links.append(link)

        def play(journal: Journal = journal, sid: str = sid) -> None:
            t0 = time.monotonic()
            for event in events:
                delay = t0 + event["t"] / args.speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if time.monotonic() - t0 > args.live_s:
                    return
                wall = datetime.now(UTC).isoformat(timespec="milliseconds")
                journal.append(sid, event | {"wall": wall})

        threads.append(threading.Thread(target=play))
    if args.mode == "live":  # every room starts at once, when the dashboards are connected
        print("ready", flush=True)
        sys.stdin.readline()
    if args.mode == "live":  # every room starts at once, once the dashboards are connected
        print("ready", flush=True)
        sys.stdin.readline()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(1.0)  # the last pushes
    for link in links:
        link.close()
    return 0


def spawn_workers(
    mode: str, url: str, tokens: dict[str, str], folder: Path, args: argparse.Namespace
) -> list[subprocess.Popen[str]]:
    """Room processes of PER_WORKER rooms; live ones wait, ready, for `go`."""
    names = sorted(tokens)
    procs = []
    for i in range(0, len(names), PER_WORKER):
        chunk = {n: tokens[n] for n in names[i : i + PER_WORKER]}
        argv = [sys.executable, __file__, "--worker", "--mode", mode, "--url", url]
        argv += ["--dir", str(folder), "--rooms-json", json.dumps(chunk)]
        argv += ["--speed", str(args.speed), "--live-s", str(args.live_s)]
        procs.append(
            subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        )
    if mode == "live":
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return procs


def go(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()


# ---------------------------------------------------------------- dashboards (asyncio)


async def dashboards(
    url: str, count: int, workers: list[subprocess.Popen[str]], latencies: list[float]
) -> int:
    """SSE clients, connected before the rooms start, reading until the rooms are done."""
    host, port = url.removeprefix("http://").split(":")
    until = float("inf")
    dropped: list[int] = []

    async def one() -> int:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            f"GET /api/stream HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        got: list[tuple[float, bytes]] = []  # parsed after the run: the client stays cheap
        while time.monotonic() < until:
            try:
                line = await asyncio.wait_for(reader.readline(), max(0.1, until - time.monotonic()))
            except TimeoutError:
                break
            if not line:
                dropped.append(1)  # the hub found this dashboard too slow
                break
            if line.startswith(b'data: {"room"'):
                got.append((time.time(), line))
        writer.close()
        for received, line in got:
            found = LAST_WALL.search(line)
            if found:
                sent = datetime.fromisoformat(found.group(1).decode()).timestamp()
                latencies.append(received - sent)
        return len(got)

    clients = [asyncio.create_task(one()) for _ in range(count)]
    await asyncio.sleep(1.0)  # connected, the first snapshot read
    go(workers)
    while any(proc.poll() is None for proc in workers):
        await asyncio.sleep(0.1)
    until = time.monotonic() + 0.5
    seen = sum(await asyncio.gather(*clients))
    if dropped:
        print(f"  {len(dropped)} dashboard stream(s) were dropped by the hub as too slow")
    return seen


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# ---------------------------------------------------------------- the run


class Hub:
    def __init__(self, db: str, folder: Path) -> None:
        self.db, self.port, self.folder = db, free_port(), folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        import urllib.error
        import urllib.request

        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "setandsetting",
                "clinic",
                "serve",
                "--db",
                self.db,
                "--port",
                str(self.port),
                "--token-file",
                str(self.folder / ".clinic-token"),
            ],
            stdout=subprocess.DEVNULL,
            cwd=REPO,
        )
        while True:
            try:
                urllib.request.urlopen(self.url + "/api/room/held", timeout=1)
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def held_total(store: ClinicStore) -> int:
    return sum(s["events"] for s in store.sessions())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--dashboards", type=int, default=50)
    parser.add_argument("--speed", type=float, default=60.0)
    parser.add_argument("--live-s", type=float, default=40.0, help="seconds of live pushing")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="live", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--rooms-json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the links' "up" and "down" lines
    if args.worker:
        return worker(args)
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    with postgres_server() as pg, tempfile.TemporaryDirectory(prefix="bench-clinic-") as tmp:
        folder = Path(tmp)
        db = pg.database()
        store = ClinicStore.open(db)
        _plan, events = session_events()
        # (a) live
        tokens = {f"Room {n:02d}": store.add_room(f"Room {n:02d}") for n in range(args.rooms)}
        hub = Hub(db, folder)
        hub.start()
        try:
            latencies: list[float] = []
            workers = spawn_workers("live", hub.url, tokens, folder / "live", args)
            seen = asyncio.run(dashboards(hub.url, args.dashboards, workers, latencies))
            sent = held_total(store)
            p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
            print(
                f"live: {args.rooms} rooms at {args.speed:g}x for {args.live_s:g} s, "
                f"{sent} events pushed, {args.dashboards} dashboards saw {seen} room updates"
            )
            verdict = "ok" if p99 <= 0.25 else "ABOVE GOAL (250 ms)"
            print(
                f"  latency room -> dashboard: p50 {p50 * 1000:.0f} ms, "
                f"p99 {p99 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms   {verdict}"
            )
        finally:
            hub.stop()
        # (b) catch-up after a 30-minute outage
        backlog_tokens = {
            f"Ward {n:02d}": store.add_room(f"Ward {n:02d}") for n in range(args.rooms)
        }
        for proc in spawn_workers("backlog", hub.url, backlog_tokens, folder / "outage", args):
            proc.wait()
        before = held_total(store)
        expected = args.rooms * sum(1 for e in events if e["t"] < OUTAGE_S)
        hub.start()
        try:
            begun = time.monotonic()
            links = []
            for name, token in backlog_tokens.items():
                path = folder / "outage" / name.replace(" ", "-") / "sessions.db"
                link = ClinicLink(path, LinkSettings(hub.url, name, token))
                link.start()
                links.append(link)
            while held_total(store) - before < expected:
                time.sleep(0.02)
            took = time.monotonic() - begun
            for link in links:
                link.close()
        finally:
            hub.stop()
        print(
            f"catch-up after a 30-minute outage: {args.rooms} rooms, {expected} events "
            f"in {took:.2f} s ({expected / took:.0f} events/s ingested)"
        )
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
