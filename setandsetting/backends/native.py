"""Keep the C libraries under our backends from writing to the terminal by themselves.

libasound (under libVLC, SDL and rtmidi) and libjack (under rtmidi) print every failed probe
to stderr: a room without a sound card or a JACK server gets a screenful of "ALSA lib …
cannot find card" and "Cannot connect to server socket" around the status line, although
each backend already reports the same fault once, clearly, as a journaled `error`.

Their error handlers are pointed at a C function that only reads its first argument
(`strlen`), not at a Python callback: the libraries call them from their own threads, also
while the interpreter shuts down. wheels bundle private copies (pygame's libasound,
python-rtmidi's libjack), so every copy mapped into the process is found in
/proc/self/maps — read again only after glibc has loaded another shared object (reading
it costs ~7 ms with libVLC's plugins mapped, and a MIDI retry or a chime mixer's opening
asks again). Set SETANDSETTING_NATIVE_LOGS=1 to leave them printing (sound-card
debugging).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import re
import threading
from pathlib import Path
from typing import Any

DEBUG_ENV = "SETANDSETTING_NATIVE_LOGS"
# library file name -> the functions that set its message handlers
_SETTERS = {
    re.compile(r"^libasound(-[0-9a-f]+)?\.so"): ("snd_lib_error_set_handler",),
    re.compile(r"^libjack(-[0-9a-f]+)?\.so"): ("jack_set_error_function", "jack_set_info_function"),
}
_SYSTEM = ("libasound.so.2", "libjack.so.0")  # kept loaded so plugins opened later share them
_done: set[str] = set()  # paths whose handlers are set
_kept: list[ctypes.CDLL] = []  # a library whose handler is set must stay loaded
_lock = threading.Lock()
_scanned_at: list[int | None] = [None]  # glibc's count of loaded objects at the last scan


class _PhdrInfo(ctypes.Structure):
    """The head of glibc's struct dl_phdr_info, up to its load counter."""

    _fields_ = [
        ("addr", ctypes.c_void_p),
        ("name", ctypes.c_char_p),
        ("phdr", ctypes.c_void_p),
        ("phnum", ctypes.c_uint16),
        ("adds", ctypes.c_ulonglong),  # objects loaded so far, over the process's life
        ("subs", ctypes.c_ulonglong),
    ]


_PhdrCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(_PhdrInfo), ctypes.c_size_t, ctypes.c_void_p
)
_count: list[int | None] = [None]


@_PhdrCallback
def _read_count(info: Any, size: int, _data: Any) -> int:
    _count[0] = info.contents.adds if size >= ctypes.sizeof(_PhdrInfo) else None
    return 1  # the first object carries the counter: stop there


@functools.cache
def _iterate() -> Any:
    """dl_iterate_phdr through PyDLL, which keeps the GIL: the function holds the loader's
    lock while it calls back, and a callback waiting there for the GIL could deadlock
    with a Python thread inside dlopen. None where there is none (not glibc)."""
    try:
        iterate = ctypes.PyDLL(None).dl_iterate_phdr
    except AttributeError:
        return None
    iterate.argtypes = [_PhdrCallback, ctypes.c_void_p]
    return iterate


def _loads() -> int | None:
    """How many shared objects glibc has loaded so far (dlpi_adds), None if unknown."""
    iterate = _iterate()
    if iterate is None:
        return None
    _count[0] = None
    iterate(_read_count, None)
    return _count[0]


def _mapped() -> set[str]:
    """Paths of the shared libraries mapped into this process."""
    try:
        text = Path("/proc/self/maps").read_text()
    except OSError:
        return set()
    fields = (line.split(None, 5) for line in text.splitlines())
    return {f[5] for f in fields if len(f) == 6 and f[5].startswith("/")}


@functools.cache
def _sink() -> int | None:
    """The C no-op handler; loads the system copies once so they stay resident."""
    for soname in _SYSTEM:
        with contextlib.suppress(OSError):
            _kept.append(ctypes.CDLL(soname))
    return ctypes.cast(ctypes.CDLL(None).strlen, ctypes.c_void_p).value


def quiet_native_libraries() -> None:
    """Silence every loaded copy of libasound and libjack; cheap to call again."""
    if os.environ.get(DEBUG_ENV):
        return
    with _lock:
        sink = _sink()
        loads = _loads()
        if loads is not None and loads == _scanned_at[0]:
            return  # nothing loaded since the last scan
        _scanned_at[0] = loads
        for path in sorted(_mapped() - _done):
            setters = next((s for rx, s in _SETTERS.items() if rx.match(Path(path).name)), None)
            if setters is None:
                continue
            _done.add(path)
            try:
                library = ctypes.CDLL(path)
            except OSError:
                continue
            for name in setters:
                setter = getattr(library, name, None)
                if setter is not None:
                    setter.argtypes = [ctypes.c_void_p]
                    setter.restype = None
                    setter(sink)
            _kept.append(library)
