"""`setandsetting library scan`: every track's loudness and gain, errors named, exit 0."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from setandsetting.cli import main


def tone(path: Path, dbfs: float) -> None:
    t = np.arange(3 * 44100) / 44100
    s = 10 ** (dbfs / 20) * np.sin(2 * np.pi * 1000 * t)
    soundfile.write(path, np.stack([s, s], axis=1), 44100, subtype="PCM_24")


def test_scan_lists_loudness_and_gain_and_names_the_corrupt_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    music = tmp_path / "music"
    (music / "more").mkdir(parents=True)
    tone(music / "loud.flac", -20.0)
    tone(music / "more" / "quiet.wav", -30.0)
    (music / "broken.ogg").write_bytes(b"OggS" + bytes(300))
    (music / "notes.txt").write_text("not audio, not listed")
    room = tmp_path / "room"

    assert main(["--room", str(room), "library", "scan", str(music), "--target", "-23"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[1]: line for line in out.splitlines() if ".flac" in line or ".wav" in line}
    assert rows.keys() == {"loud.flac", "more/quiet.wav"}
    assert "0:00:03" in rows["loud.flac"] and "-20.0" in rows["loud.flac"]
    assert "-3.0" in rows["loud.flac"]  # gain down to -23
    assert "-30.0" in rows["more/quiet.wav"] and "+7.0" in rows["more/quiet.wav"]
    broken = next(line for line in out.splitlines() if "broken.ogg" in line)
    assert "error" in broken
    assert "notes.txt" not in out
    assert "2 measured, 1 unreadable" in out

    cached = json.loads((room / ".cache" / "loudness.json").read_text())
    assert sorted(Path(k).name for k in cached) == ["loud.flac", "quiet.wav"]


def test_scan_of_a_missing_folder_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--room", str(tmp_path), "library", "scan", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err
