"""Procedural demo music: soft ambient pads at deliberately different loudness.

The demo profile and other engineers' tests need real tracks with known names and lengths,
and the loudness normalisation needs tracks that differ (about -30 to -16 LUFS). Output is
deterministic (seeded per file), stereo FLAC at 44100 Hz, written atomically; files that
already exist with the right length are left alone, so re-running is fast.

    python -m setandsetting.audio.demo_music OUTDIR
"""

from __future__ import annotations

import os
import sys
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from setandsetting.audio.loudness import integrated_loudness
from setandsetting.audio.synth import RATE, raised_cosine


@dataclass(frozen=True, slots=True)
class Piece:
    name: str
    seconds: int
    lufs: float  # integrated loudness the piece is scaled to
    root_midi: int  # the drone's note
    mode: tuple[int, ...]  # scale steps the chords are built from


_MAJOR = (0, 2, 4, 7, 9)  # pentatonic: no semitone clashes between overlapping chords
_MINOR = (0, 3, 5, 7, 10)

PIECES: tuple[Piece, ...] = (
    Piece("arrival-1", 90, -24.0, 45, _MAJOR),
    Piece("arrival-2", 75, -30.0, 43, _MAJOR),
    Piece("dosing-1", 60, -20.0, 41, _MINOR),
    Piece("onset-1", 120, -27.0, 38, _MINOR),
    Piece("onset-2", 100, -18.0, 40, _MINOR),
    Piece("peak-1", 180, -16.0, 36, _MINOR),
    Piece("peak-2", 150, -22.0, 38, _MINOR),
    Piece("peak-3", 200, -28.0, 33, _MINOR),
    Piece("return-1", 120, -19.0, 43, _MAJOR),
    Piece("return-2", 90, -25.0, 45, _MAJOR),
    Piece("integration-1", 120, -29.0, 48, _MAJOR),
)
# Music only: the chimes are the built-in sounds (`sound: bowl`, synthesized when played);
# a chime's file among the tracks was listed by the library as music to add to playlists.
ALL_NAMES: tuple[str, ...] = tuple(p.name for p in PIECES)

_CHORD_S = 16.0  # each chord swells in and out over about this long
_FADE_IN_S = 4.0
_FADE_OUT_S = 8.0
_BLOCK = 4096  # sines are built from a per-block coarse phase and a shared fine phase


def _midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def _sine(hz: float, n: int, phase0: float) -> np.ndarray:
    """sin(2*pi*hz*t + phase0) for n samples, float32, exact over long pieces.

    sin(a + b) = sin a cos b + cos a sin b with `a` per 4096-sample block (float64) and
    `b` within a block: far cheaper than n float64 sines, without the phase drift that a
    float32 time axis would give after minutes.
    """
    blocks = -(-n // _BLOCK)
    w = 2.0 * np.pi * hz / RATE
    a = phase0 + w * _BLOCK * np.arange(blocks)
    b = w * np.arange(_BLOCK)
    sa, ca = np.sin(a).astype(np.float32)[:, None], np.cos(a).astype(np.float32)[:, None]
    sb, cb = np.sin(b).astype(np.float32)[None, :], np.cos(b).astype(np.float32)[None, :]
    return (sa * cb + ca * sb).reshape(-1)[:n]


def render(piece: Piece) -> np.ndarray:
    """The piece as (frames, 2) float32, scaled to its loudness, silent at both ends."""
    rng = np.random.default_rng(zlib.crc32(piece.name.encode()))
    n = piece.seconds * RATE
    out = np.zeros((n, 2), np.float32)

    # A low drone (root + fifth) breathing slowly for the whole piece.
    t_slow = np.linspace(0.0, piece.seconds, n, dtype=np.float32)
    for note, amp, pan in ((piece.root_midi, 1.0, 0.45), (piece.root_midi + 7, 0.5, 0.55)):
        lfo = 0.75 + 0.25 * np.sin(2 * np.pi * t_slow / rng.uniform(17, 29) + rng.uniform(0, 6))
        voice = _sine(_midi_hz(note), n, rng.uniform(0, 6)) * (amp * lfo)
        out[:, 0] += voice * np.float32(np.cos(pan * np.pi / 2))
        out[:, 1] += voice * np.float32(np.sin(pan * np.pi / 2))

    # Overlapping chords: each swells in and out (raised cosine), so changes are seamless.
    start = -_CHORD_S / 2
    while start < piece.seconds:
        length = _CHORD_S * rng.uniform(1.4, 2.0)
        s0, span = round(start * RATE), round(length * RATE)
        a, b = max(0, s0), min(n, s0 + span)
        degrees = rng.choice(len(piece.mode), size=3, replace=False)
        swell = np.sin(np.linspace(0.0, np.pi, span, dtype=np.float32)) ** 2
        swell = swell[a - s0 : b - s0]
        for degree in degrees:
            note = piece.root_midi + 12 + piece.mode[degree] + 12 * rng.integers(0, 2)
            pan = rng.uniform(0.2, 0.8)
            # Two copies 0.3-0.8 Hz apart: the slow chorus that makes a pad feel alive.
            detune = rng.uniform(0.3, 0.8)
            voice = _sine(_midi_hz(note), b - a, rng.uniform(0, 6))
            voice += _sine(_midi_hz(note) + detune, b - a, rng.uniform(0, 6))
            voice *= swell * np.float32(0.22)
            out[a:b, 0] += voice * np.float32(np.cos(pan * np.pi / 2))
            out[a:b, 1] += voice * np.float32(np.sin(pan * np.pi / 2))
        start += length * 0.55

    fade_in, fade_out = round(_FADE_IN_S * RATE), round(_FADE_OUT_S * RATE)
    out[:fade_in] *= raised_cosine(fade_in)[:, None]
    out[n - fade_out :] *= raised_cosine(fade_out)[::-1, None]
    out *= np.float32(10 ** ((piece.lufs - integrated_loudness(out, RATE)) / 20))
    return out


def _is_complete(path: Path, frames: int) -> bool:
    try:
        info = soundfile.info(str(path))
    except (soundfile.LibsndfileError, RuntimeError, OSError):
        return False
    return info.frames == frames and info.samplerate == RATE and info.channels == 2


def tags_of(name: str) -> dict[str, str]:
    """A piece's Vorbis comments: a title, and no words (`zxx`, `instrumental`), so the
    library's voice filter (`--tag instrumental`) finds the demo music."""
    return {
        "title": f"Demo {name.replace('-', ' ').title()}",
        "album": "setandsetting demo music",
        "language": "zxx",
        "instrumental": "1",
    }


def _write_atomic(path: Path, samples: np.ndarray, tags: dict[str, str] | None = None) -> None:
    from mutagen.flac import FLAC

    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".flac", dir=path.parent)
    os.close(fd)
    try:
        soundfile.write(tmp, samples, RATE, format="FLAC", subtype="PCM_16")
        if tags:
            tagged = FLAC(tmp)
            tagged.update(tags)
            tagged.save()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def generate(outdir: Path, names: Iterable[str] | None = None) -> list[Path]:
    """Write the demo files (all, or only `names`) into `outdir`; return their paths.

    Existing files with the right length are kept as they are.
    """
    wanted = list(ALL_NAMES if names is None else names)
    unknown = sorted(set(wanted) - set(ALL_NAMES))
    if unknown:
        raise ValueError(f"unknown demo files {unknown}; known: {', '.join(ALL_NAMES)}")
    outdir.mkdir(parents=True, exist_ok=True)
    pieces = {p.name: p for p in PIECES}
    paths = []
    for name in wanted:
        path = outdir / f"{name}.flac"
        if not _is_complete(path, pieces[name].seconds * RATE):
            _write_atomic(path, render(pieces[name]), tags_of(name))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m setandsetting.audio.demo_music OUTDIR", file=sys.stderr)
        return 2
    try:
        for path in generate(Path(args[0])):
            print(path)
    except OSError as exc:
        print(f"cannot write demo music: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
