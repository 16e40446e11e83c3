"""How fast a command answers, as a whole process. Goal: each <= 150 ms median.

    .venv/bin/python benchmarks/bench_startup.py [--runs N]

Runs `validate profiles/demo.yaml` (in this repository's room) and `status` (no daemon
running: it must still answer at once with its usual one line) N times each (default 10),
both through the `setandsetting` console script beside this Python and through
`python -m setandsetting`, alternating with `python -c pass` in the same run so the
machine's load of the moment weighs on both alike. Prints median and p90 of each, and each
median's ratio to `python -c pass`; and, for reference, those of a process that only
imports pydantic and ruamel.yaml and defines one model, which is what validating a profile
or reading room.yaml needs before any code of this package runs.
Every run's output is checked: a command that fails differently from how it should is an
error, not a fast figure.

The children import this checkout (PYTHONPATH is set to it), not whatever the venv has
installed, and may cache their bytecode as an installed package does (one untimed round
first writes it): PYTHONDONTWRITEBYTECODE would make every run compile the package anew.
`status` runs in a scratch room whose daemon file (written beside the room lock, as a
daemon writes it, with this benchmark's PID) names a port held bound here but never
listened on, so no daemon (of this machine or another checkout's) can answer it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from setandsetting.room.lock import DAEMON_FILE  # noqa: E402

GOAL_MS = 150.0
# Not a command: what any command reading a YAML file through its pydantic models pays
# before it runs a line of its own (pydantic builds its machinery with the first model),
# for reading the figures below it.
FLOOR = "(pydantic, ruamel.yaml, 1 model)"
FLOOR_CODE = "import ruamel.yaml\nimport pydantic\nclass M(pydantic.BaseModel):\n    x: int = 0"


def reserved_port() -> socket.socket:
    """A loopback port bound but not listening: connecting to it is refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def timed(argv: Sequence[str], cwd: Path, env: dict[str, str], expect: tuple[int, str]) -> float:
    """Milliseconds one whole process takes; its exit code and output must be as expected."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    code, text = expect
    if done.returncode != code or text not in done.stdout + done.stderr:
        raise SystemExit(
            f"{' '.join(argv)}: exit {done.returncode}, expected {code} and {text!r}\n"
            f"{done.stdout}{done.stderr}"
        )
    return elapsed


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs

    python = sys.executable
    script = str(Path(python).parent / "setandsetting")
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as scratch, reserved_port() as sock:
        room = Path(scratch)
        port = sock.getsockname()[1]
        holder = {"pid": os.getpid(), "command": "serve", "url": f"http://127.0.0.1:{port}"}
        (room / DAEMON_FILE).write_text(json.dumps(holder))
        validate = ("validate", "profiles/demo.yaml")
        ok, refused = (0, "1 file OK"), (2, "the room daemon is not running")
        cases: list[tuple[str, list[str], Path, tuple[int, str]]] = [
            ("python -c pass", [python, "-c", "pass"], ROOT, (0, "")),
            (FLOOR, [python, "-c", FLOOR_CODE], ROOT, (0, "")),
            ("setandsetting validate", [script, *validate], ROOT, ok),
            (
                "python -m setandsetting validate",
                [python, "-m", "setandsetting", *validate],
                ROOT,
                ok,
            ),
            ("setandsetting status", [script, "status"], room, refused),
            (
                "python -m setandsetting status",
                [python, "-m", "setandsetting", "status"],
                room,
                refused,
            ),
        ]
        times: dict[str, list[float]] = {name: [] for name, *_ in cases}
        for round_ in range(runs + 1):
            for name, argv, cwd, expect in cases:
                elapsed = timed(argv, cwd, env, expect)
                if round_:  # round 0 writes the bytecode caches
                    times[name].append(elapsed)

    base = statistics.median(times["python -c pass"])
    print(f"{'whole process, ' + str(runs) + ' runs':<36}{'median':>10}{'p90':>10}{'ratio':>8}")
    failed = []
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<36}{median:>7.0f} ms{p90(values):>7.0f} ms{median / base:>7.1f}x")
        if name not in ("python -c pass", FLOOR) and median > GOAL_MS:
            failed.append(name)
    print(
        f"goal: each command <= {GOAL_MS:.0f} ms median",
        "MISSED: " + ", ".join(failed) if failed else "(met)",
    )


if __name__ == "__main__":
    main()
