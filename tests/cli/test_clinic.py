"""`setandsetting clinic …` as an administrator and a script use it, against a real
PostgreSQL and hub: exact output, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from setandsetting.journal.export import export, to_csv, to_json
from setandsetting.journal.store import Journal
from tests.journal.synthetic import journal_session, session_events
from tests.support.clinic import clinic_room, hub_thread

pytestmark = pytest.mark.postgres


def clinic(
    *args: str, room: Path | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "setandsetting"]
    if room is not None:
        argv += ["--room", str(room)]
    return subprocess.run(
        [*argv, "clinic", *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_add_room_prints_the_token_and_nothing_else(clinic_db: str) -> None:
    done = clinic("add-room", "Room 2", "--db", clinic_db)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert done.stdout == token + "\n" and len(token) >= 40
    again = clinic("add-room", "Room 2", "--db", clinic_db)
    assert (again.returncode, again.stdout) == (2, "")
    assert again.stderr == "setandsetting clinic: a room named 'Room 2' is registered already\n"


def test_without_a_database_the_command_says_how_to_name_one(tmp_path: Path) -> None:
    env = {k: v for k, v in __import__("os").environ.items() if k != "SETANDSETTING_CLINIC_DB"}
    done = clinic("log", "list", "--json", env=env)
    assert done.returncode == 2
    assert done.stderr == (
        "setandsetting clinic: name the clinic database: --db postgresql://… or "
        "$SETANDSETTING_CLINIC_DB\n"
    )


def test_sync_then_log_list_and_export_give_the_rooms_record(
    clinic_db: str, tmp_path: Path
) -> None:
    import os

    env = {**os.environ, "SETANDSETTING_CLINIC_DB": clinic_db}
    with hub_thread(clinic_db) as hub:
        token = clinic("add-room", "Room 2", env=env).stdout.strip()
        room = clinic_room(tmp_path / "room", hub.url, "Room 2", token)
        started = datetime(2026, 11, 26, 16, 5, 1, tzinfo=UTC)
        with Journal.open(room / "sessions.db") as journal:
            sid = journal_session(journal, started)
            expected = to_json(journal.session(sid), journal.events(sid))
            expected_csv = to_csv(journal.session(sid), journal.events(sid))
            expected_rems = export("rems", journal.session(sid), journal.events(sid))
            expected_fhir = export("fhir", journal.session(sid), journal.events(sid))
        synced = clinic("sync", room=room, env=env)
        assert synced.returncode == 0, synced.stderr
        n = len(session_events())
        assert synced.stdout == f"the hub holds all {n} event(s) of this room ({n} sent now)\n"

        listed = clinic("log", "list", "--json", env=env)
        [entry] = json.loads(listed.stdout)
        assert entry == {
            "id": entry["id"],
            "room": "Room 2",
            "session": sid,
            "patient": "P0042",
            "profile": "IM ketamine, 60-minute journey",
            "profile_path": "profiles/im-60.yaml",
            "started": "2026-11-26T16:05:01.000+00:00",
            "ended": "2026-11-26T17:00:01.250+00:00",
            "reason": "completed",
            "events": n,
        }
        exported = clinic("log", "export", str(entry["id"]), "--format", "json", env=env)
        assert exported.returncode == 0, exported.stderr
        assert exported.stdout == expected
        as_csv = clinic("log", "export", str(entry["id"]), "--format", "csv", env=env)
        assert as_csv.stdout == expected_csv
        as_rems = clinic("log", "export", str(entry["id"]), "--format", "rems", env=env)
        assert as_rems.stdout == expected_rems and "REMS" in as_rems.stdout
        as_fhir = clinic("log", "export", str(entry["id"]), "--format", "fhir", env=env)
        assert as_fhir.stdout == expected_fhir
        bundle = Bundle.model_validate_json(as_fhir.stdout)
        kinds = [e.resource.get_resource_type() for e in bundle.entry]
        assert (bundle.type, kinds) == ("collection", ["Encounter", "Procedure"])

        status = json.loads(clinic("status", "--json", env=env).stdout)
        assert [(r["room"], r["link"], r["session"], r["running"]) for r in status] == [
            ("Room 2", "up", sid, False)
        ]
        hub.stop()
        down = clinic("sync", room=room, env=env)
        assert down.returncode == 1 and down.stdout == ""
        assert down.stderr.startswith(f"setandsetting clinic: the clinic hub at {hub.url} ")
        assert down.stderr.endswith("; the outbox is kept\n") and down.stderr.count("\n") == 1


def test_sync_in_a_room_without_a_clinic_is_refused(tmp_path: Path) -> None:
    done = clinic("sync", room=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"setandsetting clinic: {tmp_path / 'room.yaml'}: no `clinic:` section, "
        "so this room reports nowhere\n"
    )
