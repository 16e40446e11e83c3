"""Integrated loudness of tracks (EBU R128 / ITU-R BS.1770), cached, and the gain to a target.

Tracks differ in loudness by 10 dB and more; without normalisation a new track can start
far louder than the one before it. pyloudnorm supplies the K-weighting filters; the
gating runs here over the file read block by block, so memory stays bounded for hour-long
files (pyloudnorm's own meter wants the whole file as float64 in memory).

Peaks are sample peaks (not true peaks): good enough to keep a boost from clipping.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# pyloudnorm, scipy.signal and soundfile are imported where a file is measured: a session
# whose tracks are all in the cache never loads them (about 40 MB and a second less).

DEFAULT_TARGET_LUFS = -23.0
# Why +12 dB at most: a track quieter than target - 12 LU is almost always one whose quiet
# passages or long silences fool the gate, or a noisy field recording; lifting it further
# raises its noise floor and its loud moments towards clipping. The level chain's
# max_level cap still applies on top of whatever gain this returns.
MAX_GAIN_DB = 12.0
# A boost never pushes the sample peak above this (headroom for inter-sample peaks).
PEAK_CEILING_DB = -1.0

_BLOCK_S = 0.4  # gating block (BS.1770)
_HOPS_PER_BLOCK = 4  # 75 % overlap: blocks start every 100 ms
_ABSOLUTE_GATE = -70.0
_RELATIVE_GATE = -10.0
_CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)  # L, R, C, Ls, Rs
_READ_FRAMES = 1 << 18


@dataclass(frozen=True, slots=True)
class TrackLoudness:
    """lufs is -inf for digital silence (nothing passes the absolute gate)."""

    lufs: float
    peak_db: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class LoudnessError:
    """A file that could not be measured, and why, in words a clinician can act on."""

    path: Path
    message: str


class _Meter:
    """Streaming BS.1770 integrated loudness: feed blocks of (frames, channels) samples."""

    def __init__(self, rate: int, channels: int) -> None:
        if not 1 <= channels <= len(_CHANNEL_WEIGHTS):
            raise ValueError(f"{channels} channels; loudness is defined for 1 to 5")
        import pyloudnorm
        import scipy.signal

        self._lfilter = scipy.signal.lfilter
        self._hop = round(rate * _BLOCK_S / _HOPS_PER_BLOCK)
        self._weights = np.array(_CHANNEL_WEIGHTS[:channels])
        self._stages = []
        for stage in pyloudnorm.Meter(rate)._filters.values():
            b, a = stage.b, stage.a
            zi = np.zeros((max(len(a), len(b)) - 1, channels))
            self._stages.append((b, a, stage.passband_gain, zi))
        self._carry = np.zeros(0)
        self._hop_energy: list[np.ndarray] = []
        self.peak = 0.0
        self.frames = 0

    def feed(self, block: np.ndarray) -> None:
        if not len(block):
            return
        self.frames += len(block)
        self.peak = max(self.peak, float(np.max(np.abs(block))))
        y = block.astype(np.float64)
        for i, (b, a, gain, zi) in enumerate(self._stages):
            y, zf = self._lfilter(b, a, y, axis=0, zi=zi)
            y *= gain
            self._stages[i] = (b, a, gain, zf)
        energy = np.concatenate([self._carry, (y * y) @ self._weights])
        whole = len(energy) // self._hop * self._hop
        self._hop_energy.append(energy[:whole].reshape(-1, self._hop).sum(axis=1))
        self._carry = energy[whole:]

    def integrated(self) -> float:
        hops = np.concatenate(self._hop_energy) if self._hop_energy else np.zeros(0)
        if len(hops) < _HOPS_PER_BLOCK:
            raise ValueError("shorter than 0.4 s, too short to measure")
        window = np.ones(_HOPS_PER_BLOCK) / (_HOPS_PER_BLOCK * self._hop)
        z = np.convolve(hops, window, mode="valid")  # mean square of each 400 ms block
        with np.errstate(divide="ignore"):
            block_lufs = -0.691 + 10.0 * np.log10(z)
        gated = z[block_lufs >= _ABSOLUTE_GATE]
        if not len(gated):
            return -math.inf
        relative = -0.691 + 10.0 * math.log10(float(gated.mean())) + _RELATIVE_GATE
        gated = z[(block_lufs > relative) & (block_lufs > _ABSOLUTE_GATE)]
        return -0.691 + 10.0 * math.log10(float(gated.mean()))


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """LUFS of samples in memory, (frames,) or (frames, channels)."""
    block = samples.reshape(len(samples), -1)
    meter = _Meter(rate, block.shape[1])
    meter.feed(block)
    return meter.integrated()


def measure(path: Path) -> TrackLoudness | LoudnessError:
    """Loudness, sample peak and duration of an audio file, read in bounded blocks."""
    import soundfile

    try:
        # Opened here, not by libsndfile, so a missing or unreadable file is named as such
        # instead of libsndfile's "System error."
        with open(path, "rb") as raw, soundfile.SoundFile(raw) as f:
            meter = _Meter(f.samplerate, f.channels)
            for block in f.blocks(_READ_FRAMES, dtype="float32", always_2d=True):
                meter.feed(block)
            lufs = meter.integrated()
            duration_s = meter.frames / f.samplerate
    except (soundfile.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        return LoudnessError(path, _reason(exc))
    peak_db = 20.0 * math.log10(meter.peak) if meter.peak > 0 else -math.inf
    return TrackLoudness(lufs=lufs, peak_db=peak_db, duration_s=duration_s)


def _reason(exc: Exception) -> str:
    """libsndfile's words, without the repeated path, e.g. 'Format not recognised.'"""
    import soundfile

    text = str(exc)
    if isinstance(exc, soundfile.LibsndfileError) and exc.error_string:
        text = exc.error_string
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return text.strip() or type(exc).__name__


def gain_to_target(
    lufs: float,
    target_lufs: float = DEFAULT_TARGET_LUFS,
    max_gain_db: float = MAX_GAIN_DB,
    peak_db: float | None = None,
) -> float:
    """dB to add so the track sits at `target_lufs`: cuts freely, boosts at most
    `max_gain_db` and, when the peak is known, never past PEAK_CEILING_DB."""
    if not math.isfinite(lufs):
        return 0.0  # silence: nothing to normalise, and never boost it
    gain = target_lufs - lufs
    if gain > 0:
        ceiling = max_gain_db
        if peak_db is not None and math.isfinite(peak_db):
            ceiling = min(ceiling, max(0.0, PEAK_CEILING_DB - peak_db))
        gain = min(gain, ceiling)
    return gain


class LoudnessCache:
    """Measurements kept in `<cache_dir>/loudness.json`, keyed by absolute path and valid
    while the file's mtime_ns and size are unchanged. Only a cache: a damaged file is
    ignored and rebuilt. Failures are not cached (the file may be fixed or remounted)."""

    FILE_NAME = "loudness.json"

    def __init__(self, cache_dir: Path) -> None:
        self.path = cache_dir / self.FILE_NAME
        self._entries = self._load()
        self._dirty = False

    def _load(self) -> dict[str, dict[str, float | int | None]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def measure(self, path: Path) -> TrackLoudness | LoudnessError:
        key = str(path.resolve())
        try:
            st = path.stat()
        except OSError as exc:
            return LoudnessError(path, _reason(exc))
        entry = self._entries.get(key)
        if entry and entry.get("mtime_ns") == st.st_mtime_ns and entry.get("size") == st.st_size:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                return TrackLoudness(
                    lufs=_from_json(entry["lufs"]),
                    peak_db=_from_json(entry["peak_db"]),
                    duration_s=float(entry["duration_s"]),  # type: ignore[arg-type]
                )
        result = measure(path)
        if isinstance(result, TrackLoudness):
            values = {k: (v if math.isfinite(v) else None) for k, v in asdict(result).items()}
            self._entries[key] = {"mtime_ns": st.st_mtime_ns, "size": st.st_size, **values}
            self._dirty = True
        return result

    def measure_all(self, paths: Iterable[Path]) -> dict[Path, TrackLoudness | LoudnessError]:
        results = {p: self.measure(p) for p in paths}
        self.save()
        return results

    def save(self) -> None:
        """Write atomically (temp file + rename), merged with what another process saved."""
        if not self._dirty:
            return
        merged = {**self._load(), **self._entries}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".loudness-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(merged, f, indent=0, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes it private; the daemon may run as another user
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._entries = merged
        self._dirty = False


def _from_json(value: object) -> float:
    """None stands for -inf (silence), which JSON cannot hold."""
    return -math.inf if value is None else float(value)  # type: ignore[arg-type]
