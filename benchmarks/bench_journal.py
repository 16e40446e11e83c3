"""Journal figures: `log stats` over 1,000 sessions (goal <= 1 s) and append latency
with synchronous=FULL (goal p99 <= 5 ms).

    .venv/bin/python benchmarks/bench_journal.py [--dir DIR] [--sessions N]

DIR must be on the disk the room will live on (not tmpfs: fsync would be free).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from setandsetting.cli import log as log_command
from setandsetting.core.events import Event
from setandsetting.journal.store import Journal

PHASES = ("arrival", "dosing", "onset", "peak", "return", "integration")


def session_events(rng: random.Random, started: datetime) -> list[dict[str, Any]]:
    """About 200 events shaped like a real session's."""
    out: list[Event] = [Event("session_started", 0.0, {"profile": "IM", "patient": "P1"})]
    t = 0.0
    for phase in PHASES:
        out.append(Event("phase_started", t, {"phase": phase, "planned_t": t}))
        if rng.random() < 0.3:
            out.append(Event("phase_extended", t + 60, {"phase": phase, "by_s": 300.0}))
        for n in range(8):
            path = f"music/{phase}-{n}.flac"
            level = round(rng.uniform(0.2, 0.7), 3)
            out.append(
                Event(
                    "track_started",
                    t,
                    {"path": path, "title": path, "offset": 0.0, "phase": phase, "level": level},
                )
            )
            t += rng.uniform(60, 200)
            out.append(Event("track_ended", t, {"path": path, "reason": "finished"}))
            out.append(Event("level_changed", t, {"nudge_pct": 5, "level": level}))
        for n in range(4):
            ident = f"{phase}-{n}"
            out.append(Event("checkin_due", t, {"id": ident, "kind": "vitals", "phase": phase}))
            if rng.random() < 0.9:
                lat = rng.uniform(3, 120)
                out.append(Event("checkin_acknowledged", t + lat, {"id": ident, "latency_s": lat}))
            else:
                out.append(Event("checkin_missed", t + 300, {"id": ident}))
        out.append(Event("note", t, {"text": "calm"}))
        if rng.random() < 0.05:
            out.append(Event("error", t, {"source": "music", "message": "decode error"}))
    out.append(Event("session_ended", t, {"reason": "completed"}))
    return [e.to_dict(started) for e in out]


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--sessions", type=int, default=1000)
    args = parser.parse_args()
    room = Path(tempfile.mkdtemp(prefix="bench-journal-", dir=args.dir))
    try:
        rng = random.Random(7)
        path = room / "sessions.db"
        start = time.perf_counter()
        total = 0
        with Journal.open(path) as journal:
            base = datetime(2026, 1, 1, 9, tzinfo=UTC)
            for i in range(args.sessions):
                started = base + timedelta(hours=3 * i)
                sid = journal.begin_session(f"P{i % 40:04d}", "p.yaml", "IM", started, {})
                events = session_events(rng, started)
                journal.append_many((sid, e) for e in events)
                total += len(events)
        print(
            f"generated {args.sessions} sessions, {total} events "
            f"({total / args.sessions:.0f}/session) in {time.perf_counter() - start:.1f} s; "
            f"journal {path.stat().st_size / 1e6:.1f} MB"
        )

        # The `log` command's own parser: times `log stats`, not other commands' imports.
        parser = argparse.ArgumentParser()
        parser.add_argument("--room", type=Path)
        log_command.register(parser.add_subparsers())
        stats_args = parser.parse_args(["--room", str(room), "log", "stats"])
        runs = []
        for _ in range(5):
            sink = io.StringIO()
            start = time.perf_counter()
            with contextlib.redirect_stdout(sink):
                code = stats_args.func(stats_args)
            runs.append(time.perf_counter() - start)
            assert code == 0, sink.getvalue()
        print(
            f"log stats (open + check + aggregate): median {statistics.median(runs):.3f} s, "
            f"max {max(runs):.3f} s (goal <= 1 s)"
        )

        with Journal.open(path) as journal:
            sid = journal.sessions(limit=1)[0].id
            latencies = []
            for n in range(2000):
                event = Event("note", 20000.0 + n, {"text": f"append {n}"}).to_dict(base)
                start = time.perf_counter()
                journal.append(sid, event)
                latencies.append(time.perf_counter() - start)
        latencies.sort()
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print(
            f"append (synchronous=FULL, WAL): p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
            f"max {latencies[-1] * 1000:.2f} ms over 2000 appends (goal p99 <= 5 ms)"
        )
    finally:
        shutil.rmtree(room)


if __name__ == "__main__":
    main_bench()
