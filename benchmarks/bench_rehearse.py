"""Rehearse a 6-hour session: 100 tracks, 30 check-ins, 50 controls. Goal: <= 0.3 s a run.

Run: .venv/bin/python benchmarks/bench_rehearse.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from setandsetting.core.controls import parse_control
from setandsetting.engine.rehearsal import rehearse
from tests.support.timelines import timeline

PHASES = 6
TRACKS_PER_PHASE = [17, 17, 17, 17, 16, 16]  # 100 tracks


def six_hour_profile() -> tuple[dict, dict[str, list[float]]]:
    phases = []
    slots = {}
    for i in range(PHASES):
        pid = f"phase{i}"
        phases.append(
            {
                "id": pid,
                "duration": "1h",
                "extendable": "30m",
                "music": pid,
                "level": {"from": "30%", "to": "60%", "shape": "s-curve"},
                "checkins": [
                    {
                        "at": ["5m", "15m", "25m", "35m", "45m"],
                        "kind": "vitals",
                        "audience": "staff",
                        "ack": "required",
                        "escalate_after": "2m",
                    }
                ],
                "cues": [{"at": "start", "osc": {"address": "/scene", "args": [i]}}],
            }
        )
        slots[pid] = [200.0 + 7 * k for k in range(TRACKS_PER_PHASE[i])]
    return {"name": "six hours", "defaults": {"crossfade": "8s"}, "phases": phases}, slots


def fifty_controls() -> list:
    actions = [
        "level +5%",
        "ack",
        "note feeling calm",
        "skip",
        "pause",
        "resume",
        "level -5%",
        "ack",
        "quiet",
        "resume",
    ]
    return [(600.0 + k * 400.0, parse_control(actions[k % len(actions)])) for k in range(50)]


def main() -> None:
    profile, slots = six_hour_profile()
    tl = timeline(profile, slots)
    controls = fifty_controls()
    runs = []
    for _ in range(7):
        t0 = time.perf_counter()
        result = rehearse(tl, controls)
        runs.append(time.perf_counter() - t0)
    tracks = sum(1 for e in result.events if e.type == "track_started")
    checkins = sum(1 for e in result.events if e.type == "checkin_due")
    print(
        f"rehearse 6h session: {len(result.events)} events, {tracks} track starts, "
        f"{checkins} check-ins, {len(controls)} controls"
    )
    print(
        f"  wall time per run: median {statistics.median(runs) * 1000:.1f} ms, "
        f"max {max(runs) * 1000:.1f} ms (goal <= 300 ms)"
    )


if __name__ == "__main__":
    main()
