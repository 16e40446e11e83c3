"""Chime onset accuracy through real PulseAudio capture, idle and with both cores busy.

    python benchmarks/bench_chime_timing.py [--chimes N]

Plays N wood blocks 0.5 s apart through PygameChimes into a private PulseAudio pipe sink,
finds each onset in the captured stream, and prints the error against plan (both measured
from their first, so fixed output latency cancels): p50, p99 and max, first without load,
then while two busy processes (started here, stopped by PID) load both cores.
Goal: p99 <= 15 ms under load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.backends.test_pygame_chimes import (
    onset_errors_ms,
    onsets,
    record_schedule,
)
from tests.support.pulse import PulseCapture

INTERVAL_S = 0.5
BUSY = "while True:\n    pass\n"


def measure(pulse: PulseCapture, count: int) -> list[float]:
    """Absolute onset errors (ms) of chimes 2..count; the first is the reference."""
    planned = [0.2 + INTERVAL_S * i for i in range(count)]
    pcm, reports = record_schedule(pulse, planned, 0.8)
    if reports:
        raise SystemExit(f"the chime backend reported problems: {reports}")
    found = onsets(pcm, pulse.rate)
    if len(found) != count:
        raise SystemExit(f"expected {count} onsets, found {len(found)}: chimes lost or doubled")
    return [abs(e) for e in onset_errors_ms(planned, found)[1:]]


def show(label: str, errors: list[float]) -> None:
    p50, p99 = np.percentile(errors, [50, 99])
    print(
        f"{label:<28} n={len(errors) + 1:<3} p50 {p50:5.1f} ms   p99 {p99:5.1f} ms"
        f"   max {max(errors):5.1f} ms   {'ok' if p99 <= 15.0 else 'ABOVE GOAL (15 ms)'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chimes", type=int, default=40, help="chimes per run (default 40)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-chimes-") as tmp:
        pulse = PulseCapture(Path(tmp))
        try:
            pulse.start()
            os.environ.update(pulse.env)
            show("idle", measure(pulse, args.chimes))
            busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(2)]
            try:
                time.sleep(0.5)
                show("two busy processes (2 cores)", measure(pulse, args.chimes))
            finally:
                for proc in busy:
                    proc.kill()
                    proc.wait()
        finally:
            pulse.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
