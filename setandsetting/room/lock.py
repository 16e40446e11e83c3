"""One daemon per room folder, and where the CLI finds it.

`serve` and `run` hold an exclusive `flock` on `.room.lock` for their whole life, taken
before they touch the journal or a device. The kernel drops it when the process ends,
however it ends, so a second daemon is refused exactly while the first one lives (a PID
file alone outlives a SIGKILL and lies). The lock file is removed by the daemon that ends
cleanly, while it still holds the lock; a daemon that locked a file removed meanwhile
takes the new one, so two never hold "the" lock at once.

Beside it `.room.daemon` says who holds it, `{"pid", "command", "url"}`: written (temp
file and rename, mode 0600) as the lock is taken, again with the address once the daemon
listens, and removed as it ends. `status` and the controls read the address there,
whatever port the daemon chose. After a crash the file outlives its daemon, so a reader
believes it only while its PID lives.

Standard library only: `status` reads this on every call and must start fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from setandsetting.room.errors import RoomError

LOCK_FILE = ".room.lock"
DAEMON_FILE = ".room.daemon"


class RoomBusy(RoomError):
    """Another process runs this room: its PID, and its address if it has one."""


@dataclass(frozen=True)
class Holder:
    """The process running a room, as its `.room.daemon` file says."""

    pid: int
    command: str  # serve | run
    url: str | None  # None: not listening (yet, or ever: `run`)

    def where(self) -> str:
        """`at http://…`, or what the process is when it has no address."""
        if self.url:
            return f"at {self.url}"
        if self.command == "run":
            return "(`setandsetting run`, in its terminal)"
        return f"(`setandsetting {self.command}`, starting)"


def read_holder(root: Path) -> Holder | None:
    """What `.room.daemon` says, or None (no file, or not one a daemon wrote)."""
    try:
        data = json.loads((root / DAEMON_FILE).read_text(encoding="utf-8"))
        holder = Holder(int(data["pid"]), str(data["command"]), data.get("url"))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if holder.pid <= 0 or not (holder.url is None or isinstance(holder.url, str)):
        return None
    return holder


def running_daemon(root: Path) -> Holder | None:
    """The process running the room, or None when none does (its file gone or stale)."""
    holder = read_holder(root)
    return holder if holder is not None and _alive(holder.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


class RoomLock:
    """The room held by this process; `publish` its address, `release` it (or exit)."""

    def __init__(self, root: Path, fd: int, command: str) -> None:
        self.root = root
        self._fd: int | None = fd
        self.command = command

    @classmethod
    def take(cls, root: Path, command: str) -> RoomLock:
        """Hold the room for `command`, or raise RoomBusy naming its holder (RoomError when
        the folder cannot hold a lock file at all)."""
        path = root / LOCK_FILE
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as err:
                raise RoomError(f"cannot lock the room folder {root}: {_why(err)}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = read_holder(root)
                where = f"PID {holder.pid} {holder.where()}" if holder else "another process"
                raise RoomBusy(f"this room is already run by {where}") from None
            except OSError as err:
                os.close(fd)
                raise RoomError(f"cannot lock the room folder {root}: {_why(err)}") from None
            if _same_file(path, fd):
                break
            os.close(fd)  # the daemon before us removed it as it ended: lock the new one
        lock = cls(root, fd, command)
        try:
            lock._write(None)
        except OSError as err:
            lock.release()
            raise RoomError(f"cannot write {root / DAEMON_FILE}: {_why(err)}") from None
        return lock

    def publish(self, url: str) -> None:
        """Say where this daemon listens (once it does)."""
        self._write(url)

    def release(self) -> None:
        """Remove both files while still holding the lock, then let it go."""
        if self._fd is None:
            return
        for name in (DAEMON_FILE, LOCK_FILE):
            with contextlib.suppress(FileNotFoundError):
                (self.root / name).unlink()
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RoomLock:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        err: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()

    def _write(self, url: str | None) -> None:
        data = {"pid": os.getpid(), "command": self.command, "url": url}
        temp = self.root / (DAEMON_FILE + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(fd, 0o600)  # also a temp file a crash left behind
            handle.write(json.dumps(data) + "\n")
        os.replace(temp, self.root / DAEMON_FILE)


def _same_file(path: Path, fd: int) -> bool:
    try:
        on_disk, held = os.stat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _why(err: OSError) -> str:
    return (err.strerror or str(err)).lower()
