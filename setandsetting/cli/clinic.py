"""`setandsetting clinic serve|add-room|sync|status|log`: the clinic hub over PostgreSQL.

The hub's commands take `--db URL` (a PostgreSQL URL), or SETANDSETTING_CLINIC_DB.
`add-room NAME` prints the room's token and nothing else on stdout (scripts capture it).
`sync` runs in a room folder: it pushes what the room's outbox holds and exits 0 when the
hub holds everything, 1 with one line when the hub cannot be reached (the outbox is kept,
as it always is: it is the journal), 2 for a room not set up for a clinic.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from setandsetting.cli.common import CommandError, room_of
from setandsetting.journal.export import FORMATS

if TYPE_CHECKING:
    from setandsetting.clinic.store import ClinicStore

DB_ENV = "SETANDSETTING_CLINIC_DB"
TOKEN_FILE = ".clinic-token"


def register(subparsers: argparse._SubParsersAction) -> None:
    clinic = subparsers.add_parser("clinic", help="the clinic hub: many rooms over PostgreSQL")
    clinic.set_defaults(error_prefix="setandsetting clinic: ")
    sub = clinic.add_subparsers(dest="clinic_command", metavar="ACTION", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--db", help=f"PostgreSQL URL (default: ${DB_ENV})")
        return p

    p = with_db(sub.add_parser("serve", help="the hub: the rooms' link and the dashboard"))
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8800, help="port (8800; 0: any free)")
    p.add_argument(
        "--token-file",
        type=Path,
        default=Path(TOKEN_FILE),
        help=f"the clinic token for the dashboard's login ({TOKEN_FILE}, made 0600)",
    )
    p.set_defaults(func=_serve)

    p = with_db(sub.add_parser("add-room", help="register a room; prints its token"))
    p.add_argument("name", help='the room\'s name, e.g. "Room 2"')
    p.set_defaults(func=_add_room)

    p = sub.add_parser("sync", help="in a room folder: push what the outbox holds to the hub")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (10)")
    p.set_defaults(func=_sync)

    p = sub.add_parser("patient", help="in a room folder: a patient's folder from or to the hub")
    p.add_argument(
        "direction",
        choices=("pull", "push"),
        help="pull: the hub's copy here; "
        "push: this room's edit to the hub (refused if the hub's is newer)",
    )
    p.add_argument("patient", help="the patient ID")
    p.set_defaults(func=_patient)

    p = with_db(sub.add_parser("status", help="every room: link, last event, session, phase"))
    p.add_argument("--json", action="store_true", help="as JSON")
    p.set_defaults(func=_status)

    log = sub.add_parser("log", help="the clinic record: sessions of every room")
    logs = log.add_subparsers(dest="clinic_log", metavar="ACTION", required=True)
    p = with_db(logs.add_parser("list", help="every room's sessions, newest first"))
    p.add_argument("--json", action="store_true", help="as JSON")
    p.add_argument("--patient", help="one patient's sessions across rooms")
    p.set_defaults(func=_log_list)
    p = with_db(logs.add_parser("export", help="one session as the room exports it"))
    p.add_argument("id", type=int, help="the hub's session id (clinic log list)")
    p.add_argument("--format", choices=tuple(FORMATS), required=True)
    p.set_defaults(func=_log_export)


def _db(args: argparse.Namespace) -> str:
    url = args.db or os.environ.get(DB_ENV)
    if not url:
        raise CommandError(f"name the clinic database: --db postgresql://… or ${DB_ENV}")
    return str(url)


def _store(args: argparse.Namespace) -> ClinicStore:
    from setandsetting.clinic.schema import SchemaError
    from setandsetting.clinic.store import ClinicDown, ClinicStore

    try:
        return ClinicStore.open(_db(args), timeout_s=2)
    except (ClinicDown, SchemaError) as err:
        raise CommandError(str(err)) from None


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from setandsetting.cli.serve import MAX_PORT, _bind
    from setandsetting.clinic.hub import create_hub
    from setandsetting.clinic.staff import StaffAccess

    if not 0 <= args.port <= MAX_PORT:
        raise CommandError(f"--port {args.port}: a port is a number from 0 to {MAX_PORT}")
    token, created = _clinic_token(args.token_file)
    if created:
        print(f"clinic token (shown once; stored 0600 in {args.token_file}): {token}", flush=True)
    store = _store(args)
    try:
        sock = _bind(args.host, args.port)
        port = sock.getsockname()[1]
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(f"clinic hub on http://{shown}:{port}/", flush=True)
        staff = StaffAccess(host=args.host, token=token)
        config = uvicorn.Config(
            create_hub(store, staff),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        store.close()
    return 0


def _clinic_token(path: Path) -> tuple[str, bool]:
    """The dashboard's login token: read, or made 0600 on the first serve."""
    import secrets

    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fd = None
    except OSError as err:
        raise CommandError(f"{path}: cannot create the clinic token ({err.strerror})") from None
    if fd is None:
        try:
            token = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise CommandError(f"{path}: cannot read the clinic token ({err})") from None
        if not token:
            raise CommandError(f"{path}: the clinic token file is empty")
        return token, False
    token = secrets.token_urlsafe(24)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(token + "\n")
    return token, True


def _add_room(args: argparse.Namespace) -> int:
    from setandsetting.clinic.store import ClinicDown, RoomTaken

    store = _store(args)
    try:
        token = store.add_room(args.name)
    except (ValueError, RoomTaken, ClinicDown) as err:
        raise CommandError(str(err)) from None
    finally:
        store.close()
    print(token)
    return 0


def _sync(args: argparse.Namespace) -> int:
    from setandsetting.clinic.link import LinkDown, sync_once
    from setandsetting.clinic.settings import link_settings

    folder = room_of(args)
    settings = link_settings(folder)
    try:
        sent, held = sync_once(folder.journal_path, settings, timeout_s=args.timeout)
    except LinkDown as err:
        print(f"setandsetting clinic: {err}; the outbox is kept", file=sys.stderr)
        return 1
    print(f"the hub holds all {held} event(s) of this room ({sent} sent now)")
    return 0


def _patient(args: argparse.Namespace) -> int:
    from setandsetting.clinic.link import (
        HubClient,
        HubRefused,
        LinkDown,
        pull_patient,
        push_patient,
    )
    from setandsetting.clinic.settings import link_settings
    from setandsetting.core.types import check_patient_id

    folder = room_of(args)
    patient = check_patient_id(args.patient)
    client = HubClient(link_settings(folder))
    try:
        if args.direction == "pull":
            version = pull_patient(client, folder, patient)
            if version is None:
                print(f"the hub holds no folder for {patient}; this room's copy is unchanged")
            else:
                print(f"{patient}: this room's copy is the hub's version {version}")
        else:
            version = push_patient(client, folder, patient)
            print(f"{patient}: the hub holds this room's copy as version {version}")
    except (LinkDown, HubRefused) as err:
        print(f"setandsetting clinic: {err}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds")
    raise TypeError(f"not JSON: {value!r}")


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=_json_default))


def _log_list(args: argparse.Namespace) -> int:
    from setandsetting.core.types import check_patient_id

    patient = check_patient_id(args.patient) if args.patient else None
    store = _store(args)
    try:
        sessions = store.sessions(patient)
    finally:
        store.close()
    listed = [{k: v for k, v in s.items() if k != "plan"} for s in sessions]
    if args.json:
        _print_json(listed)
        return 0
    from setandsetting.journal.review import text_table

    rows = [["id", "room", "session", "patient", "started (UTC)", "ended", "events"]]
    for s in listed:
        rows.append(
            [
                str(s["id"]),
                s["room"],
                s["session"],
                s["patient"],
                f"{s['started']:%Y-%m-%d %H:%M}",
                s["reason"] or "not ended",
                str(s["events"]),
            ]
        )
    print("\n".join(text_table(rows)) if listed else "no sessions in the clinic record")
    return 0


def _log_export(args: argparse.Namespace) -> int:
    from setandsetting.clinic.review import export

    store = _store(args)
    try:
        sys.stdout.write(export(store, args.id, args.format))
    except KeyError as err:
        raise CommandError(str(err.args[0])) from None
    finally:
        store.close()
    return 0


def _status(args: argparse.Namespace) -> int:
    from setandsetting.clinic.review import clinic_status

    store = _store(args)
    try:
        rooms = clinic_status(store, datetime.now(UTC))
    finally:
        store.close()
    if args.json:
        _print_json(rooms)
        return 0
    for room in rooms:
        pending = len(room["pending_checkins"])
        print(
            f"{room['room']}: link {room['link']}, session {room['session'] or '-'}, "
            f"phase {room['phase'] or '-'}, {pending} check-in(s) waiting"
        )
    if not rooms:
        print("no rooms registered (clinic add-room NAME)")
    return 0
