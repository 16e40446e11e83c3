"""quiet_native_libraries: the real libasound copies (system and pygame's) and rtmidi's libjack
stop printing failed probes to stderr; with SETANDSETTING_NATIVE_LOGS set they print again."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import ctypes, os, pathlib, rtmidi
from setandsetting.backends import native
from setandsetting.backends.native import _mapped, quiet_native_libraries
quiet_native_libraries()
scans = []
native._mapped = lambda: scans.append(1) or _mapped()
quiet_native_libraries()
assert scans == [], "nothing was loaded since: /proc/self/maps is not read again"
import pygame  # its own libasound arrives after the first call, and is silenced too
quiet_native_libraries()
assert scans == ([] if os.environ.get("SETANDSETTING_NATIVE_LOGS") else [1]), scans
asound = [p for p in _mapped() if pathlib.Path(p).name.startswith("libasound")]
assert len(asound) >= 2, asound  # the system's (rtmidi) and pygame's own copy
for path in sorted(asound):
    pcm = ctypes.c_void_p()
    assert ctypes.CDLL(path).snd_pcm_open(ctypes.byref(pcm), b"sas-no-such-pcm", 0, 0) < 0
try:
    rtmidi.MidiOut(rtmidi.API_UNIX_JACK)
except rtmidi.SystemError:
    pass
print("probed", len(asound))
"""


def _probe(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "SETANDSETTING_NATIVE_LOGS"}
    environ.update(JACK_DEFAULT_SERVER="sas-no-such-server", JACK_NO_START_SERVER="1", **env)
    environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
    return subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=environ, timeout=60
    )


@pytest.mark.parametrize("loud", [False, True])
def test_failed_probes_stay_off_the_terminal(loud: bool) -> None:
    done = _probe(**({"SETANDSETTING_NATIVE_LOGS": "1"} if loud else {}))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("probed ")
    copies = int(done.stdout.split()[1])
    alsa = [line for line in done.stderr.splitlines() if "sas-no-such-pcm" in line]
    jack = [line for line in done.stderr.splitlines() if "Cannot connect to server" in line]
    if loud:
        assert len(alsa) == copies and jack, done.stderr
    else:
        assert alsa == [] and jack == [], done.stderr
