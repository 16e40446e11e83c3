"""The clinic hub for tests: in this process on a thread (quick, stoppable and startable
again on the same port), and a room folder set up to report to it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from setandsetting.clinic.hub import create_hub
from setandsetting.clinic.store import ClinicStore


@dataclass
class HubThread:
    """A hub serving `store` on 127.0.0.1:port until stop(); start() again on that port."""

    store: ClinicStore
    port: int = 0
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _sock: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as cli/serve.py's _bind
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_hub(self.store),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the hub did not start"
            time.sleep(0.01)
        self._sock = sock

    def stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(10)
        if self._sock is not None:
            self._sock.close()


@contextmanager
def hub_thread(db_url: str) -> Iterator[HubThread]:
    store = ClinicStore.open(db_url)
    hub = HubThread(store)
    hub.start()
    try:
        yield hub
    finally:
        if hub._thread is not None and hub._thread.is_alive():
            hub.stop()
        store.close()


def clinic_room(root: Path, url: str, name: str, token: str) -> Path:
    """`root` set up as a room that reports to the hub at `url` as `name`."""
    root.mkdir(parents=True, exist_ok=True)
    token_file = root / ".clinic-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    (root / "room.yaml").write_text(
        f"clinic:\n  url: {url}\n  room: {name!r}\n  token_file: .clinic-token\n"
    )
    return root
