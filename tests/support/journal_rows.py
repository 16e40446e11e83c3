"""The journal as the disk has it, read by a separate read-only connection while a real
`run` or `serve` process writes it: its rows, its events, and waiting for one; and a
journal file damaged as a failing disk would damage it."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from setandsetting.engine.resume import IDENTITY

Row = tuple[int, str, float, str, str]


def rows(db: Path) -> list[Row]:
    """Every event row, in order per session."""
    if not db.exists():
        return []
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(
            "SELECT seq, type, t, wall, data FROM events ORDER BY session_id, seq"
        ).fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        con.close()


def events(of: list[Row]) -> list[dict[str, Any]]:
    return [{"type": r[1], "t": r[2], "wall": r[3], **json.loads(r[4])} for r in of]


def wait_for(db: Path, kind: str, after: int, limit_s: float) -> list[Row]:
    """Poll the journal until an event of `kind` appears past row `after`."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        found = rows(db)
        if any(r[1] == kind for r in found[after:]):
            return found
        time.sleep(0.02)
    raise AssertionError(f"no {kind} within {limit_s} s")


def assert_no_event_twice(journaled: list[dict[str, Any]]) -> None:
    """No event of the session engine appears twice (same type and identity, same time)."""
    seen: dict[tuple, float] = {}
    for event in journaled:
        if event["type"] == "error":
            continue
        key = (event["type"], *(event.get(k) for k in IDENTITY))
        assert abs(seen.get(key, -1.0) - event["t"]) > 0.01, f"twice: {event}"
        seen[key] = event["t"]


def corrupt(path: Path) -> None:
    """Scribble over every page but the first, as a failing disk would."""
    with path.open("r+b") as handle:
        for page in range(1, path.stat().st_size // 4096):
            handle.seek(page * 4096 + 8)
            handle.write(b"\x07" * 64)
