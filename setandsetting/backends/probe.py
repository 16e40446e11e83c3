"""Which sound outputs this machine has, as libVLC and SDL see them (for the preflight).

The probe runs in a short child process (`python -m setandsetting.backends.probe`): SDL's
audio subsystem is one per process and the engine thread of a running session owns it, and
a sound server that hangs must not hang the daemon. The child opens SDL's default device
once (silence, then closed) — the very call the chimes will make — and asks libVLC, on the
output the music uses, for its devices. It prints one JSON object.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from typing import Any

PROBE_TIMEOUT_S = 10.0


def _sdl_outputs() -> dict[str, Any]:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame
    import pygame._sdl2.audio as sdl_audio

    from setandsetting.backends.native import quiet_native_libraries

    quiet_native_libraries()
    try:
        pygame.mixer.init()
    except pygame.error as exc:
        return {"names": [], "default_opens": False, "error": str(exc)}
    try:
        names = [str(n) for n in sdl_audio.get_audio_device_names(False)]
    finally:
        pygame.mixer.quit()
    return {"names": names, "default_opens": True}


def _vlc_outputs(aout: str | None) -> dict[str, Any]:
    import vlc

    args = ["--no-video", "--quiet"] + ([f"--aout={aout}"] if aout else [])
    instance = vlc.Instance(*args)
    if instance is None:
        return {"devices": [], "error": "libVLC could not start"}
    player = instance.media_player_new()
    found = []
    head = node = player.audio_output_device_enum()
    while node:
        found.append(
            {
                "id": node.contents.device.decode(errors="replace"),
                "name": node.contents.description.decode(errors="replace"),
            }
        )
        node = node.contents.next
    if head:
        vlc.libvlc_audio_output_device_list_release(head)
    player.release()
    instance.release()
    return {"devices": found}


def probe_here(aout: str | None = None) -> dict[str, Any]:
    """The probe itself (in this process): SDL's outputs and libVLC's."""
    out: dict[str, Any] = {}
    for key, probe in (("sdl", _sdl_outputs), ("vlc", lambda: _vlc_outputs(aout))):
        try:
            out[key] = probe()
        except Exception as exc:  # a missing library is a finding, not a crash
            out[key] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def probe(aout: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> dict[str, Any]:
    """The probe in a child process; {"error": ...} when it fails or hangs."""
    cmd = [sys.executable, "-m", __name__] + ([aout] if aout else [])
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"the sound system did not answer within {timeout:g} s"}
    with contextlib.suppress(ValueError):
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    return {"error": f"the device probe failed (exit status {done.returncode})"}


def audio_findings(audio: Any, found: dict[str, Any]) -> dict[str, Any]:
    """Each output room.yaml names, with whether this machine has it now.

    `audio` is the room's audio settings; "default" is found when SDL could open its
    default device (chimes) or libVLC lists any device (music)."""
    sdl, vlc_found = found.get("sdl", {}), found.get("vlc", {})
    sdl_names = list(sdl.get("names", []))
    vlc_devices = list(vlc_found.get("devices", []))
    vlc_names = {d["id"] for d in vlc_devices} | {d["name"] for d in vlc_devices}

    def check(wanted: str | None, names: set[str], default_ok: bool) -> dict[str, Any]:
        if wanted in (None, "default"):
            return {"wanted": "default", "found": default_ok}
        return {"wanted": wanted, "found": wanted in names}

    outputs = {
        "music_output": check(audio.music_output, vlc_names, bool(vlc_devices)),
        "patient_chimes": check(
            audio.patient_chimes, set(sdl_names), bool(sdl.get("default_opens"))
        ),
    }
    if audio.staff_chimes is not None:
        outputs["staff_chimes"] = check(
            audio.staff_chimes, set(sdl_names), bool(sdl.get("default_opens"))
        )
    errors = [e for e in (found.get("error"), sdl.get("error"), vlc_found.get("error")) if e]
    return {
        "outputs": outputs,
        "chime_devices": sdl_names,
        "music_devices": [d["name"] for d in vlc_devices],
        "errors": errors,
    }


if __name__ == "__main__":
    print(json.dumps(probe_here(sys.argv[1] if len(sys.argv) > 1 else None)), flush=True)
