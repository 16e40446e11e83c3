"""Real `setandsetting serve` and `run` processes for tests: on 127.0.0.1, with no sound
device (SDL's dummy driver, no PulseAudio server), found through the room's lock file as the
CLI finds them, and killed by PID when the test ends, also when it fails."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from setandsetting.room.lock import read_holder

ENV = {**os.environ, "SDL_AUDIODRIVER": "dummy", "PULSE_SERVER": "unix:/nonexistent"}


def command(room: Path, *args: str) -> list[str]:
    """`setandsetting --room ROOM ARGS...` in this Python."""
    return [sys.executable, "-m", "setandsetting", "--room", str(room), *args]


@dataclass
class Proc:
    """A started process; its stdout and stderr go to files (a pipe could fill and block it)."""

    popen: subprocess.Popen[bytes]
    out: Path
    err: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()

    def wait(self, limit_s: float = 30.0) -> int:
        return self.popen.wait(limit_s)


class Processes:
    """Starts processes with logs under `logs`; `kill_all` ends those still running."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[Proc] = []

    def spawn(self, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        n = len(self.started)
        out, err = self.logs / f"proc{n}.out", self.logs / f"proc{n}.err"
        with out.open("wb") as o, err.open("wb") as e:
            popen = subprocess.Popen(
                argv, stdout=o, stderr=e, stdin=subprocess.DEVNULL, env=env or ENV
            )
        proc = Proc(popen, out, err)
        self.started.append(proc)
        return proc

    def kill_all(self) -> None:
        for proc in self.started:
            if proc.popen.poll() is None:
                proc.popen.kill()
            proc.popen.wait()


def stop_gently(popen: subprocess.Popen[bytes], limit_s: float = 15.0) -> None:
    """SIGTERM, as systemd stops the daemon; SIGKILL only if it has not ended in time."""
    if popen.poll() is not None:
        return
    popen.send_signal(signal.SIGTERM)
    try:
        popen.wait(limit_s)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(5)


@contextmanager
def spawned(logs: Path) -> Iterator[Processes]:
    logs.mkdir(parents=True, exist_ok=True)
    started = Processes(logs)
    try:
        yield started
    finally:
        started.kill_all()


def status(url: str) -> dict:
    with urllib.request.urlopen(url + "/api/status", timeout=2) as response:
        return json.load(response)  # type: ignore[no-any-return]


def wait_served(room: Path, proc: Proc, limit_s: float = 30.0) -> str:
    """The URL `proc` (a `serve`) published beside the room lock, once it answers there."""
    deadline = time.monotonic() + limit_s
    while True:
        assert proc.popen.poll() is None, f"serve exited: {proc.stdout()}{proc.stderr()}"
        holder = read_holder(room)
        if holder is not None and holder.pid == proc.pid and holder.url:
            try:
                status(holder.url)
                return holder.url
            except OSError:
                pass
        assert time.monotonic() < deadline, f"serve did not come up: {proc.stderr()}"
        time.sleep(0.05)
