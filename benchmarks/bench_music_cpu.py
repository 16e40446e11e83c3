"""CPU time and peak RSS of VlcMusic against `cvlc --play-and-exit` on the same files.

Both play the same tones, one after another, for about SECONDS each, into a private
PulseAudio pipe sink (the real output path). Each player runs in its own child process so
getrusage(RUSAGE_CHILDREN) measures it alone.

    .venv/bin/python benchmarks/bench_music_cpu.py [SECONDS]
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.audio_analysis import write_tone
from tests.support.pulse import PulseCapture


def child_vlcmusic(files: list[Path]) -> None:
    """Play the files back to back on alternating voices, polling like the engine."""
    from setandsetting.backends.vlc_music import VlcMusic

    ended: list[object] = []
    music = VlcMusic(ended.append, aout="pulse")
    try:
        for i, path in enumerate(files):
            voice = i % 2
            music.play(voice, path, 0.0, None)
            music.set_level(voice, 0.5)
            while not ended:
                music.poll()
                time.sleep(0.1)
            ended.clear()
    finally:
        music.close()


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(cpu seconds, wall seconds, peak RSS MB) of one child command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, after.ru_maxrss / 1024.0


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child_vlcmusic([Path(p) for p in sys.argv[2:]])
        return 0
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
    root = Path(tempfile.mkdtemp(prefix="sas-bench-"))
    capture = PulseCapture(root)
    try:
        capture.start()
        env = {**os.environ, **capture.env}
        files = [
            write_tone(root / f"tone{i}.flac", freq=f, seconds=seconds / 3)
            for i, f in enumerate((330.0, 440.0, 550.0))
        ]
        # cvlc refuses to run as root: run it as `nobody`, who needs to reach the socket.
        for path in (root, capture.runtime, *files):
            path.chmod(0o755)
        as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        # cvlc first: ru_maxrss of children is a running maximum, so the smaller goes first.
        cvlc = measure(
            [*as_user, "cvlc", "--play-and-exit", "--no-video", "--aout=pulse", *map(str, files)],
            env,
        )
        ours = measure([sys.executable, __file__, "--child", *map(str, files)], env)
    finally:
        capture.close()
        shutil.rmtree(root, ignore_errors=True)
    print(f"cvlc      cpu {cvlc[0]:6.2f} s  wall {cvlc[1]:6.1f} s  peak RSS {cvlc[2]:6.1f} MB")
    print(f"VlcMusic  cpu {ours[0]:6.2f} s  wall {ours[1]:6.1f} s  peak RSS {ours[2]:6.1f} MB")
    print(f"CPU ratio VlcMusic/cvlc: {ours[0] / cvlc[0]:.2f} (goal <= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
