"""A private, real PostgreSQL server for the clinic hub's tests.

PostgreSQL refuses to run as root, and the tests run as root (CI does): the server's folder
is a temporary one owned by the `postgres` user, and `initdb` and `pg_ctl` run as that user
through `runuser -u postgres --`. It listens on 127.0.0.1 on a port of its own, with its
socket in its own folder, so it never meets another PostgreSQL on the machine. One server
serves the whole test session (initdb costs a second or two); each test takes a database
of its own from it (`database()`), so tests share nothing but the server. It is stopped with
`pg_ctl -m fast stop` when the session ends, also when a test failed.

fsync is off: nothing here survives a power cut, and a clean stop (the partition tests stop
and start the server) writes everything anyway.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.unavailable import unavailable

USER = "postgres"


def _bin_dir() -> Path | None:
    """Debian's newest PostgreSQL server binaries (/usr/lib/postgresql/N/bin)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Postgres:
    """A running server: `url` reaches its `postgres` database as the `postgres` superuser."""

    bin: Path
    folder: Path
    port: int
    _names: Iterator[int] = field(default_factory=itertools.count)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{dbname}"

    def _as_postgres(self, *argv: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run(
            [*prefix, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.folder,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "server.log")
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-w", "-D", str(self.data), "-l", log, "-o", options, "start"
        )

    def stop(self) -> None:
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-w", "-D", str(self.data), "-m", "fast", "stop"
        )

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    @property
    def pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def database(self) -> str:
        """A new, empty database of its own; its URL."""
        import psycopg

        name = f"t{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name} STRATEGY FILE_COPY")
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """A PostgreSQL server running in a temporary folder until the block ends."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        unavailable("PostgreSQL server binaries are not installed (Debian postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        unavailable("runuser (util-linux) is not installed")
    try:
        owner = pwd.getpwnam(USER)
    except KeyError:
        unavailable(f"no {USER!r} user (Debian postgresql creates it)")
    folder = Path(tempfile.mkdtemp(prefix="sns-pg-"))
    try:
        if os.geteuid() == 0:
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        server = Postgres(bin_dir, folder, free_port())
        server._as_postgres(
            str(bin_dir / "initdb"),
            "-A",
            "trust",
            "-U",
            USER,
            "-E",
            "UTF8",
            "--no-sync",
            "-D",
            str(server.data),
        )
        server.start()
        try:
            yield server
        finally:
            if server.running:
                server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
