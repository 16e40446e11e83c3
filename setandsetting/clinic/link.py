"""The room's link to the clinic hub: its outbox pushed on a thread of its own.

Nothing in a session waits for it: the link reads the journal through a connection of its
own (SQLite's WAL lets it read while the journal writer writes), on its own thread, and the
engine never calls it. The hub down, slow or unreachable costs the room nothing but a line
in its status ("clinic link down since …"); the link retries with back-off (doubling from
BACKOFF_MIN_S to BACKOFF_MAX_S, with jitter, so twenty rooms do not return in step) and,
when the hub answers again, asks how far it holds each session and goes on from there.
New events are noticed within POLL_S (SQLite's data_version changes when the writer has
committed, a cheap question to ask).
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from setandsetting.clinic.outbox import Outbox
from setandsetting.clinic.patients import VERSION_FILE, local_version, read_folder, write_folder
from setandsetting.clinic.settings import LinkSettings
from setandsetting.core.types import check_patient_id
from setandsetting.journal.store import Journal, JournalError
from setandsetting.room.folder import RoomFolder
from setandsetting.room.yamlfile import write_atomic

log = logging.getLogger(__name__)

POLL_S = 0.05
KEEPALIVE_S = 1.0  # the room asks for commands this often (so the hub sees its link)
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0
TIMEOUT_S = 5.0


class LinkDown(Exception):
    """The hub cannot be reached, or refused the room; one sentence saying which."""


class HubRefused(Exception):
    """The hub answered, and refused this request (4xx): `status`, and why in one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HubClient:
    """HTTP to the hub, one kept-alive connection, reopened after any failure."""

    def __init__(self, settings: LinkSettings, timeout_s: float = TIMEOUT_S) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        parts = urlsplit(settings.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        self._con: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        if self._con is None:
            self._con = kind(self._host, self._port, timeout=self.timeout_s)
        headers = {"Authorization": f"Bearer {self.settings.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        try:
            self._con.request(method, self._base + path, body=data, headers=headers)
            response = self._con.getresponse()
            text = response.read()
        except (OSError, http.client.HTTPException) as err:
            self.close()
            why = getattr(err, "strerror", None) or str(err) or type(err).__name__
            raise LinkDown(
                f"the clinic hub at {self.settings.url} cannot be reached ({why})"
            ) from None
        if response.status != 200:
            self.close()
            try:
                why = json.loads(text).get("error", "")
            except (ValueError, AttributeError):
                why = text[:200].decode(errors="replace")
            message = f"the clinic hub at {self.settings.url} answered {response.status}: {why}"
            if 400 <= response.status < 500 and response.status != 401:
                raise HubRefused(response.status, message)
            raise LinkDown(message)
        return json.loads(text)

    def held(self) -> dict[str, int]:
        return dict(self.request("GET", "/api/room/held")["held"])

    def push(self, batch: dict[str, Any]) -> dict[str, int]:
        return dict(self.request("POST", "/api/room/events", batch)["held"])

    def patient(self, patient: str) -> dict[str, Any] | None:
        """The hub's copy of a patient's folder, or None when it has none."""
        try:
            return dict(self.request("GET", f"/api/room/patients/{patient}"))
        except HubRefused as err:
            if err.status == 404:
                return None
            raise

    def save_patient(self, patient: str, base: int, files: dict[str, str]) -> int:
        body = {"base_version": base, "files": files}
        return int(self.request("PUT", f"/api/room/patients/{patient}", body)["version"])

    def commands(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/api/room/commands")["commands"])

    def done(self, command_id: int, outcome: str) -> None:
        self.request("POST", f"/api/room/commands/{int(command_id)}", {"outcome": outcome})


def push_all(outbox: Outbox, client: HubClient) -> int:
    """Send batches until the hub holds everything; how many events were sent."""
    if not outbox.known:
        outbox.reset(client.held())
    sent = 0
    while (batch := outbox.next_batch()) is not None:
        answer = client.push(batch)
        before = outbox.held
        moved = sum(answer.get(s, 0) > before.get(s, 0) for s in answer)
        outbox.confirm(answer)
        sent += sum(len(item["events"]) for item in batch["sessions"])
        if not moved:  # the hub took nothing: never loop on a batch it will not take
            raise LinkDown(f"the clinic hub at {client.settings.url} stored none of a batch")
    return sent


def sync_once(
    journal_path: Path, settings: LinkSettings, timeout_s: float = TIMEOUT_S
) -> tuple[int, int]:
    """`clinic sync`: push everything; (events sent now, events the hub holds)."""
    if not journal_path.exists():
        return 0, 0
    client = HubClient(settings, timeout_s)
    with Journal.open(journal_path, create=False) as journal:
        outbox = Outbox(journal)
        try:
            sent = push_all(outbox, client)
        finally:
            client.close()
        return sent, sum(outbox.held.values())


def pull_patient(client: HubClient, folder: RoomFolder, patient: str) -> int | None:
    """This room's copy of the patient's folder made the hub's; its version (None: the hub
    has none, and the room's own copy stays as it is)."""
    check_patient_id(patient)
    held = client.patient(patient)
    if held is None:
        return None
    write_folder(folder, patient, held["files"], int(held["version"]))
    return int(held["version"])


def push_patient(client: HubClient, folder: RoomFolder, patient: str) -> int:
    """Send this room's copy as an edit of the version it was fetched at; the new version.
    HubRefused (409) when the hub holds a newer one: nothing is overwritten."""
    check_patient_id(patient)
    version = client.save_patient(
        patient, local_version(folder, patient), read_folder(folder, patient)
    )
    write_atomic(folder.patient_dir(patient) / VERSION_FILE, f"{version}\n")
    return version


def patient_fetcher(
    settings: LinkSettings, folder: RoomFolder, timeout_s: float = 2.0
) -> Callable[[str], None]:
    """For the runner: before a session starts, the patient's folder from the hub; the hub
    away (or slow, past `timeout_s`) leaves the room's own copy, and says so in the log."""

    def fetch(patient: str) -> None:
        client = HubClient(settings, timeout_s)
        try:
            version = pull_patient(client, folder, patient)
            if version is not None:
                log.warning("clinic: %s's folder is the hub's version %d", patient, version)
        except (LinkDown, HubRefused, ValueError, OSError) as err:
            log.warning(
                "clinic: %s's folder not fetched, the room's copy is used: %s", patient, err
            )
        finally:
            client.close()

    return fetch


class FailedLink:
    """A link room.yaml asks for that cannot be set up (no token): its status says why."""

    def __init__(self, url: str, room: str, why: str) -> None:
        since = datetime.now(UTC).isoformat(timespec="seconds")
        self._status = {
            "url": url,
            "room": room,
            "up": False,
            "since": since,
            "why": why,
            "pending": None,
        }

    def status(self) -> dict[str, Any]:
        return dict(self._status)

    def close(self) -> None:
        pass


class ClinicLink:
    """The daemon's link thread. `status()` is what the room's status shows."""

    def __init__(
        self,
        journal_path: Path,
        settings: LinkSettings,
        *,
        timeout_s: float = TIMEOUT_S,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        apply: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        """`apply(command) -> outcome` carries out what the dashboard asked (an ack);
        without it the link only pushes."""
        self.journal_path = journal_path
        self.apply = apply
        self.settings = settings
        self.client = HubClient(settings, timeout_s)
        self._now = now
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        since = now().isoformat(timespec="seconds")
        self._state: dict[str, Any] = {"up": False, "since": since, "why": "not yet connected"}
        self._pending = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="setandsetting-clinic", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.client.timeout_s + 2)
        self.client.close()

    def status(self) -> dict[str, Any]:
        with self._lock:
            state = dict(self._state)
        return {
            "url": self.settings.url,
            "room": self.settings.room,
            **state,
            "pending": self._pending,
        }

    def _mark(self, up: bool, why: str | None) -> None:
        with self._lock:
            if self._state["up"] != up or self._state["since"] is None:
                since = self._now().isoformat(timespec="seconds")
                self._state = {"up": up, "since": since, "why": why}
                if up:
                    log.warning("clinic link up: %s", self.settings.url)
                else:
                    log.warning("clinic link down: %s", why)
            else:
                self._state["why"] = why

    def _run(self) -> None:
        journal: Journal | None = None
        backoff = BACKOFF_MIN_S
        try:
            while not self._stop.is_set():
                try:
                    if journal is None:  # a room with no session yet reports in too
                        journal = Journal.open(self.journal_path)
                        outbox = Outbox(journal)
                    # Read before the push: a commit during it is news, not missed.
                    version = journal.data_version()
                    push_all(outbox, self.client)
                    self._pending = 0
                    self._mark(True, None)
                    self._carry_out()
                    backoff = BACKOFF_MIN_S
                    self._wait_for_news(journal, version)
                except (LinkDown, HubRefused, JournalError) as err:
                    if journal is not None:
                        outbox.forget()
                        self._pending = outbox.pending()
                    self._mark(False, str(err))
                    self._stop.wait(backoff * random.uniform(0.8, 1.2))
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
        finally:
            if journal is not None:
                journal.close()

    def _wait_for_news(self, journal: Journal, version: int) -> None:
        """Until the journal has changed since `version` (read before the last push), or
        KEEPALIVE_S (then the hub hears from the room)."""
        deadline = time.monotonic() + KEEPALIVE_S
        while journal.data_version() == version:
            if self._stop.wait(POLL_S):
                return
            if time.monotonic() >= deadline:
                return  # the next round asks for commands: the hub sees the room

    def _carry_out(self) -> None:
        """Fetch the dashboard's requests and answer each with its outcome."""
        for command in self.client.commands():
            outcome = "refused: this room takes no commands" if self.apply is None else ""
            if self.apply is not None:
                try:
                    outcome = self.apply(command)
                except Exception as err:  # one bad command must not stop the link
                    log.exception("clinic command failed: %r", command)
                    outcome = f"refused: {err}"
            self.client.done(command["id"], outcome)
