"""Demo music: exact lengths and format, loudness really differs, re-runs rewrite nothing."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from setandsetting.audio import demo_music
from setandsetting.audio.demo_music import PIECES, Piece, generate, render
from setandsetting.audio.loudness import TrackLoudness, measure
from setandsetting.audio.tags import probe
from setandsetting.core.catalogue import vocals_from_tags

EXPECTED_SECONDS = {
    "arrival-1": 90,
    "arrival-2": 75,
    "dosing-1": 60,
    "onset-1": 120,
    "onset-2": 100,
    "peak-1": 180,
    "peak-2": 150,
    "peak-3": 200,
    "return-1": 120,
    "return-2": 90,
    "integration-1": 120,
}


def test_the_catalogue_is_the_published_one() -> None:
    assert {p.name: p.seconds for p in PIECES} == EXPECTED_SECONDS
    lufs = [p.lufs for p in PIECES]
    assert min(lufs) == -30.0 and max(lufs) == -16.0


def test_two_files_exact_length_spread_loudness_and_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["dosing-1", "arrival-2"]  # -20 LUFS and -30 LUFS
    paths = generate(tmp_path, names)
    assert paths == [tmp_path / f"{n}.flac" for n in names]
    for path, seconds in zip(paths, (60, 75), strict=True):
        info = soundfile.info(str(path))
        assert (info.format, info.samplerate, info.channels) == ("FLAC", 44100, 2)
        assert info.frames == seconds * 44100
        samples, _ = soundfile.read(path, dtype="float32")
        assert np.all(samples[0] == 0) and np.all(samples[-1] == 0)  # faded, no clicks
    assert dict(probe(paths[0]).tags) == {
        "title": "Demo Dosing 1",
        "album": "setandsetting demo music",
        "language": "zxx",
        "instrumental": "1",
    }
    assert vocals_from_tags(dict(probe(paths[1]).tags)) == "instrumental"
    loud = [measure(p) for p in paths]
    assert all(isinstance(m, TrackLoudness) for m in loud)
    assert [round(m.lufs, 1) for m in loud] == [-20.0, -30.0]  # type: ignore[union-attr]
    assert not list(tmp_path.glob(".*"))  # no temp files left behind

    before = {p: p.stat().st_mtime_ns for p in paths}

    def must_not_render(piece: Piece) -> np.ndarray:
        raise AssertionError(f"{piece.name} rendered again")

    monkeypatch.setattr(demo_music, "render", must_not_render)
    t0 = time.perf_counter()
    assert generate(tmp_path, names) == paths
    assert time.perf_counter() - t0 < 1.0
    assert {p: p.stat().st_mtime_ns for p in paths} == before


def test_a_truncated_file_is_rewritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo_music, "PIECES", (Piece("tiny", 12, -20.0, 40, (0, 3, 7)),))
    monkeypatch.setattr(demo_music, "ALL_NAMES", ("tiny",))
    path = tmp_path / "tiny.flac"
    soundfile.write(path, np.zeros((1000, 2), np.float32), 44100)
    generate(tmp_path, ["tiny"])
    assert soundfile.info(str(path)).frames == 12 * 44100


def test_no_chime_is_made_among_the_tracks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown demo files \\['bowl'\\]"):
        generate(tmp_path, ["bowl"])  # the built-in `sound: bowl` is the chime


def test_rendering_is_deterministic() -> None:
    piece = Piece("test", 12, -20.0, 40, (0, 3, 7))
    assert np.array_equal(render(piece), render(piece))


def test_unknown_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown demo files \\['peak-9'\\]"):
        generate(tmp_path, ["peak-9"])
