"""A quick command starts quickly: `validate` and `status` load only what they need.

Each check runs in a fresh interpreter, the only place that shows what a command imports.
benchmarks/bench_startup.py measures the times; here a generous bound catches a command
that starts loading the whole program again, and the imports are checked exactly.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from setandsetting.room.lock import DAEMON_FILE

ROOT = Path(__file__).parents[2]

# What neither command needs: the audio stack, the server, the rich console, MIDI, the
# journal's SQLite (status asks the daemon; it never opens the journal).
HEAVY = (
    "numpy",
    "scipy",
    "soundfile",
    "pyloudnorm",
    "mutagen",
    "vlc",
    "pygame",
    "fastapi",
    "starlette",
    "uvicorn",
    "rich",
    "rtmidi",
    "mido",
    "sqlite3",
    "apscheduler",
)

# What `status` and the controls need not even load: they never read room.yaml.
LIGHT = ("pydantic", "ruamel")

LOADED_AFTER = """
import json, sys
from setandsetting.cli import build_parser, main
argv = json.loads(sys.argv[2])
exec(sys.argv[1])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[3])))))
"""


def loaded_after(
    action: str, argv: list[str], cwd: Path, watched: tuple[str, ...] = HEAVY
) -> list[str]:
    """The `watched` modules a fresh interpreter holds after `action` (Python, given argv)."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER, action, json.dumps(argv), json.dumps(watched)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_parsing_status_imports_nothing_heavy() -> None:
    assert loaded_after("build_parser(argv).parse_args(argv)", ["status"], ROOT) == []


def test_status_without_a_daemon_imports_nothing_heavy(tmp_path: Path) -> None:
    """Its address read beside the room lock (this test's PID, alive), the daemon asked."""
    with socket.socket() as held:  # bound, never listening: the connection is refused
        held.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{held.getsockname()[1]}"
        holder = {"pid": os.getpid(), "command": "serve", "url": url}
        (tmp_path / DAEMON_FILE).write_text(json.dumps(holder))
        assert loaded_after("assert main(argv) == 2", ["status"], tmp_path) == []
        # Nor is room.yaml read (pydantic, ruamel.yaml): the daemon's address is elsewhere.
        assert loaded_after("assert main(argv) == 2", ["status"], tmp_path, LIGHT) == []


def test_validating_a_room_imports_nothing_heavy() -> None:
    """Profiles, playlists and room.yaml are checked, and every track's header read
    (mutagen, which reads tags without decoding): no decoder, server or numpy."""
    assert loaded_after("assert main(argv) == 0", ["validate", "."], ROOT) == ["mutagen"]


def test_making_a_room_imports_neither_the_heavy_nor_the_formats(tmp_path: Path) -> None:
    """`init` copies files: it parses none of them."""
    argv = ["init", str(tmp_path / "room")]
    assert loaded_after("assert main(argv) == 0", argv, tmp_path, HEAVY + LIGHT) == []


def test_validating_a_profile_answers_well_within_a_second_and_a_half() -> None:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "setandsetting", "validate", "profiles/demo.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert (done.returncode, done.stdout, done.stderr) == (0, "1 file OK\n", "")
    assert elapsed < 1.5
