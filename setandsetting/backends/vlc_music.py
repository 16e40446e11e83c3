"""Music through libVLC: one instance, one media player per voice.

Thread rules: every libVLC call happens on the engine's device thread (the caller of the
public methods). libVLC's own callbacks (player events, log messages) never call libVLC:
they read the event struct, update plain Python fields under a lock and call `report`.
The engine calls `poll()` once a second, and at every fade step while `settling()`
(position() also runs it); it re-applies levels, watches for stalls and recovers a lost
sound server. What silences the music as far as libVLC can see — its audio output failing,
a named output it does not list, the server muting our stream — is reported as an
audio_fault of the music output, and its end as audio_restored.

Level precision: libVLC's volume is an int 0..100 on the same cubic scale as our level
(audio_set_volume(v) -> gain (v/100)^3, applied by PulseAudio as a cubic sink-input
volume). With fine gain (the default) each player also has a flat equalizer whose preamp
trims the level in 0.1 dB steps (backends.vlc_gain: the chain, and why no step above
-40 dB is larger than 0.35 dB). Without it levels are rounded to the nearest volume step,
an error of up to half a step: 60*log10((v+1)/v)/2 dB, i.e. 1.2 dB at 10 %, 0.25 dB at 50 %.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import vlc

from setandsetting.audio.tags import probe
from setandsetting.backends.base import (
    BackendReport,
    MusicBackend,
    Report,
    audio_report,
    level_step,
)
from setandsetting.backends.native import quiet_native_libraries
from setandsetting.backends.pulse import APP_NAMES
from setandsetting.backends.vlc_gain import PREAMP_MIN_DB, fine_gain

# Measured here (VLC 3.0 + PulseAudio pipe sink): with 300 ms the end event arrives within
# ~0.1 s of the last sample heard and the whole file is heard; more caching only delays
# a start, less risks underruns on a busy 2-core machine.
FILE_CACHING_MS = 300
# libVLC corrects the drift between the file's clock and the sound server's by resampling
# each stream slightly, usually for most of a track (it starts late and catches up). Its
# default resampler (libsamplerate's sinc) made that a third of all the CPU libVLC spends
# playing (measured here: 0.63 s against 0.44 s per 30 s of one stream). Speex at quality
# 1 is what PulseAudio itself resamples with by default (speex-float-1).
RESAMPLER_ARGS = ("--audio-resampler=speex_resampler,any", "--speex-resampler-quality=1")
# The equalizer's preamp acts as libVLC decodes, which it does a file caching ahead of
# what is heard, plus its output's buffer: measured here (500 Hz tone, PulseAudio pipe
# sink) 456-482 ms after the call, against 10-14 ms for the volume (the sound server's).
# Reckoned a little short: a trim heard late makes a rising fade a hair late, never loud.
TRIM_LEAD_S = FILE_CACHING_MS / 1000.0 + 0.14
STALL_S = 2.5  # no progress for this long while playing -> error
NEW_STREAM_S = 2.0  # a stream this young has its volume checked at every fade step
RETRY_S = (1.0, 2.0, 5.0, 10.0)  # back-off while the audio output is gone
SETTLE_S = 1.5  # a recreated output must run this long without errors to count as back
_LOG_ERROR = 4  # libvlc_log_level: LIBVLC_ERROR
VLC_ARGS = (
    "--no-video",
    "--quiet",
    "--no-stats",
    f"--file-caching={FILE_CACHING_MS}",
    *RESAMPLER_ARGS,
)

_libc = ctypes.CDLL(None)
_libc.vsnprintf.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_void_p]
_log_get_object = ctypes.CFUNCTYPE(
    None,
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_char_p),
    ctypes.POINTER(ctypes.c_char_p),
    ctypes.POINTER(ctypes.c_uint),
)(("libvlc_log_get_object", vlc.dll))


@dataclass
class _Voice:
    """One player and what the engine asked of it. Fields below `lock` are shared with
    libVLC's callback threads and only touched under the backend's lock."""

    index: int
    player: Any = None  # vlc.MediaPlayer
    path: Path | None = None
    offset_s: float = 0.0
    end_s: float | None = None
    wanted: int = 0  # volume 0..100
    applied: int | None = None  # what libVLC confirmed, None = unknown
    trim: float = PREAMP_MIN_DB  # the equalizer's preamp (fine gain)
    trimmed: float | None = None  # the preamp last given to the player
    equalizer: Any = None  # the player's flat equalizer (fine gain), a ctypes handle
    started_at: float = 0.0  # monotonic time of play() (also for the silent clock)
    duration_s: float | None = None  # only known in silent mode
    # shared with callbacks:
    active: bool = False  # playing (or should be); cleared exactly once when it ends
    progressed: bool = False  # libVLC reported a time > 0 (garbage files end without)
    time_s: float | None = None  # last position libVLC reported
    progress_at: float = 0.0  # monotonic time of the last advance


class VlcMusic(MusicBackend):
    """libVLC music on `voices` players; never crashes on a missing or lost device."""

    def __init__(
        self,
        report: Report,
        output: str = "default",
        aout: str | None = None,
        voices: int = 2,
        fine: bool = True,
    ) -> None:
        self._report = report
        self._output = output
        self._fine = fine  # the equalizer's preamp trims each level between volume steps
        self.lead_s = TRIM_LEAD_S if fine else 0.0
        self._lock = threading.Lock()
        self._voices = [_Voice(i) for i in range(voices)]
        self._aout_error: tuple[float, str] | None = None  # (monotonic, message), newest
        self._errors_seen_until = 0.0  # errors logged before this are already handled
        self._outage = False  # audio_fault reported, audio_restored not yet
        self._missing: str | None = None  # the named output libVLC does not list, said once
        self._muted = False  # the server mutes a stream of ours: said once
        self._down = False  # players released, waiting for _retry_at to rebuild them
        self._retry_at = 0.0
        self._retries = 0
        self._rebuilt_at = 0.0
        self._log_cb = vlc.CallbackDecorators.LogCb(self._on_log)  # keep a reference
        args = [*VLC_ARGS]
        if aout:
            args.append(f"--aout={aout}")
        quiet_native_libraries()  # output faults are reported through the log callback
        try:
            self._instance: Any = vlc.Instance(args)
        except Exception as exc:  # a broken libVLC install raises from ctypes/NameError
            self._instance = None
            self._device_lost(f"libVLC could not start: {exc}")
            return
        if self._instance is None:
            self._device_lost("libVLC could not start (are VLC's plugins installed?)")
            return
        self._instance.log_set(self._log_cb, None)
        # The sound server names our streams after this (PulseAudio's application.name).
        self._instance.set_user_agent(APP_NAMES["music"], "setandsetting")
        for voice in self._voices:
            voice.player = self._new_player(voice)
        if any(v.player is None for v in self._voices):
            self._device_lost("libVLC could not create a media player")
        else:
            self._check_device()

    # -- engine-facing API -------------------------------------------------------------

    def play(self, voice: int, path: Path, offset_s: float, end_s: float | None) -> None:
        v = self._voice(voice)
        self._halt(v)
        v.path, v.offset_s, v.end_s = Path(path), max(0.0, offset_s), end_s
        v.wanted, v.trim = 0, PREAMP_MIN_DB  # every track starts silent; the engine raises it
        v.started_at = time.monotonic()
        if not v.path.is_file():
            self._report(
                BackendReport("music", "error", voice=voice, message=f"file not found: {path}")
            )
            return
        with self._lock:
            v.active, v.progressed, v.time_s, v.progress_at = True, False, None, v.started_at
        if self._silent:
            v.duration_s = probe(v.path).length  # None: the silent clock never ends it
        elif v.player is None:  # output lost: the rebuild starts it
            v.time_s = v.offset_s
        else:
            # A fresh player per track: a reused one starts its new stream at the previous
            # track's volume for ~40 ms (measured) whatever was set before play().
            v.player.release()
            v.player = self._new_player(v)
            if v.player is None:
                self._finish(v, "error", "libVLC could not create a media player")
            else:
                self._start(v, v.offset_s, volume=0)

    level_steps = 100  # libVLC's volume is a whole percent (what a level is without trim)

    def level_key(self, level: float, ahead: float) -> Hashable:
        if not self._fine:
            return level_step(level, self.level_steps)
        return fine_gain(level)[0], fine_gain(ahead)[1]

    def set_level(self, voice: int, level: float, ahead: float | None = None) -> None:
        """The volume plays `level` now; the trim, heard TRIM_LEAD_S later, plays `ahead`
        (the level planned for then), so the two sound together."""
        v = self._voice(voice)
        if self._fine:
            v.wanted = fine_gain(level)[0]
            v.trim = fine_gain(level if ahead is None else ahead)[1]
        else:
            v.wanted = level_step(level, self.level_steps)
        if v.player is not None:
            if self._fine and v.trimmed != v.trim:
                self._apply_trim(v)
            if v.applied != v.wanted:
                self._apply_volume(v)

    def settling(self) -> bool:
        # A new stream's audio output can come up at another volume than was set: during
        # its first NEW_STREAM_S the volume is checked at every fade step, not once a second.
        now = time.monotonic()
        return not self._silent and any(
            v.active and v.player is not None and now - v.started_at < NEW_STREAM_S
            for v in self._voices
        )

    def position(self, voice: int) -> float | None:
        v = self._voice(voice)
        self.poll()
        with self._lock:
            if not v.active:
                return None
            known = v.time_s
        if self._silent:
            return v.offset_s + time.monotonic() - v.started_at
        if v.player is None:  # output lost: the track resumes from here
            return known if known is not None else v.offset_s
        ms = v.player.get_time()
        if ms is None or ms <= 0:  # not started yet (libVLC says 0 until the seek is done)
            return known if known is not None else v.offset_s
        return ms / 1000.0

    def stop(self, voice: int) -> None:
        self._halt(self._voice(voice))

    def close(self) -> None:
        for v in self._voices:
            self._halt(v)
            if v.player is not None:
                v.player.release()
                v.player = None
            if v.equalizer is not None:
                vlc.libvlc_audio_equalizer_release(v.equalizer)
                v.equalizer = None
        if self._instance is not None:
            self._instance.log_unset()
            self._instance.release()
            self._instance = None

    def poll(self) -> None:
        """Cheap upkeep from the engine thread: levels, trims, stalls, lost output."""
        now = time.monotonic()
        if self._silent:
            self._poll_silent(now)
            return
        self._poll_device(now)
        if self._down:
            return
        muted = False
        for v in self._voices:
            with self._lock:
                active, progress_at, time_s = v.active, v.progress_at, v.time_s
            if not active or v.player is None:
                continue
            muted = muted or v.player.audio_get_mute() == 1
            if v.applied != v.wanted or v.player.audio_get_volume() != v.wanted:
                self._apply_volume(v)
            if self._fine and v.trimmed != v.trim:
                self._apply_trim(v)
            if v.end_s is not None and time_s is not None and time_s >= v.end_s:
                self._finish(v, "ended")
                v.player.stop()
            elif now - progress_at > STALL_S:
                self._finish(v, "error", f"playback stalled for {now - progress_at:.1f} s")
                v.player.stop()
        self._say_muted(muted)

    def _say_muted(self, muted: bool) -> None:
        """A stream the sound server mutes (a person did, or it remembered a mute for our
        name) plays into nothing: libVLC learns it from the server, and it is said once,
        and again when it is unmuted."""
        if muted == self._muted:
            return
        self._muted = muted
        why = (
            "the sound server has the music's stream muted"
            if muted
            else "the music's stream is unmuted"
        )
        self._report(audio_report("music", "music", "mute", why, restored=not muted))

    # -- internals (engine thread) -----------------------------------------------------

    @property
    def _silent(self) -> bool:
        return self._instance is None

    def _voice(self, voice: int) -> _Voice:
        if not 0 <= voice < len(self._voices):
            raise ValueError(f"voice {voice} does not exist (0..{len(self._voices) - 1})")
        return self._voices[voice]

    def _new_player(self, v: _Voice) -> Any:
        player = self._instance.media_player_new()
        if player is None:
            return None
        if self._output != "default":
            player.audio_output_device_set(None, self._output)
        player.audio_set_volume(0)
        if self._fine:
            # Before the first play, so the equalizer is in the audio filter chain from the
            # start: setting it later would restart the chain (a gap); its preamp alone
            # then changes on the fly.
            if v.equalizer is None:
                v.equalizer = vlc.libvlc_audio_equalizer_new()
            v.trimmed = None
            self._apply_trim(v, player)
        manager = player.event_manager()
        for kind, handler in (
            (vlc.EventType.MediaPlayerEndReached, self._on_end),
            (vlc.EventType.MediaPlayerEncounteredError, self._on_error),
            (vlc.EventType.MediaPlayerTimeChanged, self._on_time),
        ):
            manager.event_attach(kind, handler, v)
        return player

    def _start(self, v: _Voice, at_s: float, volume: int) -> None:
        """Open the file on the voice's player at `at_s`, starting at `volume`."""
        media = self._instance.media_new_path(str(v.path))
        media.add_option(f":start-time={at_s:.3f}")
        if v.end_s is not None:
            media.add_option(f":stop-time={v.end_s:.3f}")
        v.player.set_media(media)
        media.release()
        # The output exists from player creation on VLC 3, so this sticks before the first
        # sample; where it does not (-1), poll() keeps re-applying until it does.
        v.applied = volume if v.player.audio_set_volume(volume) == 0 else None
        if v.player.play() != 0:
            self._finish(v, "error", f"libVLC cannot play {v.path}")
            return
        if v.applied is None:
            self._apply_volume(v)

    def _apply_trim(self, v: _Voice, player: Any = None) -> None:
        vlc.libvlc_audio_equalizer_set_preamp(v.equalizer, v.trim)
        if (player or v.player).set_equalizer(v.equalizer) == 0:
            v.trimmed = v.trim

    def _apply_volume(self, v: _Voice) -> None:
        ok = v.player.audio_set_volume(v.wanted) == 0
        v.applied = v.wanted if ok else None

    def _halt(self, v: _Voice) -> None:
        with self._lock:
            v.active = False
        if v.player is not None and v.player.get_state() not in (
            vlc.State.NothingSpecial,
            vlc.State.Stopped,
        ):
            v.player.stop()

    def _finish(self, v: _Voice, kind: str, message: str = "") -> None:
        """Report the end of the voice's track exactly once (any thread)."""
        with self._lock:
            if not v.active:
                return
            v.active = False
        self._report(BackendReport("music", kind, voice=v.index, message=message))

    def _device_lost(self, message: str) -> None:
        self._report(audio_report("music", "music", "libvlc", message, restored=False))

    def _check_device(self) -> None:
        """A named output libVLC does not list plays nowhere it was meant to: say so (and
        when a rebuilt output lists it again)."""
        player = next((v.player for v in self._voices if v.player is not None), None)
        if self._output == "default" or player is None:
            return
        found: list[str] = []
        head = node = player.audio_output_device_enum()
        while node:
            found += [node.contents.device.decode(errors="replace")]
            found += [node.contents.description.decode(errors="replace")]
            node = node.contents.next
        if head:
            vlc.libvlc_audio_output_device_list_release(head)
        missing = None if self._output in found else self._output
        if missing == self._missing:
            return
        self._missing = missing
        listed = ", ".join(found[::2]) or "none"
        why = (
            f"libVLC lists the music output {self._output!r} again"
            if missing is None
            else f"libVLC has no audio device {self._output!r} (it has: {listed})"
        )
        self._report(audio_report("music", "music", "device", why, restored=missing is None))

    def _poll_device(self, now: float) -> None:
        """Notice audio output errors; tear the players down and rebuild them where they
        were, with back-off, until the output runs SETTLE_S without a new error."""
        with self._lock:
            error = self._aout_error
        fresh = error is not None and error[0] > self._errors_seen_until
        if not self._down:
            if fresh and error is not None:
                for v in self._voices:
                    self._remember_position(v)
                    if v.player is not None:
                        v.player.stop()
                        v.player.release()
                        v.player = None
                self._errors_seen_until = time.monotonic()
                self._down = True
                self._retry_at = now + RETRY_S[min(self._retries, len(RETRY_S) - 1)]
                self._retries += 1
                if not self._outage:
                    self._outage = True
                    self._device_lost(f"libVLC's audio output failed: {error[1]}")
            elif self._outage and now - self._rebuilt_at > SETTLE_S:
                self._outage = False
                self._retries = 0
                why = "libVLC's audio output plays again"
                self._report(audio_report("music", "music", "libvlc", why, restored=True))
            return
        if now < self._retry_at:
            return
        self._down = False
        self._errors_seen_until = self._rebuilt_at = time.monotonic()
        for v in self._voices:
            v.player = self._new_player(v)
            with self._lock:
                resume = v.active
                v.progress_at = time.monotonic()
            if v.player is not None and resume:
                self._start(v, v.time_s if v.time_s is not None else v.offset_s, v.wanted)
        self._check_device()

    def _remember_position(self, v: _Voice) -> None:
        if v.player is None:
            return
        ms = v.player.get_time()
        with self._lock:
            if ms is not None and ms > 0:
                v.time_s = ms / 1000.0

    def _poll_silent(self, now: float) -> None:
        for v in self._voices:
            with self._lock:
                active = v.active
            if not active:
                continue
            end = v.end_s if v.end_s is not None else v.duration_s
            if end is not None and v.offset_s + now - v.started_at >= end:
                self._finish(v, "ended")

    # -- libVLC callbacks (libVLC threads: no libVLC calls here) -----------------------

    def _on_end(self, event: Any, v: _Voice) -> None:
        with self._lock:
            decoded = v.progressed
        if decoded:
            self._finish(v, "ended")
        else:
            self._finish(v, "error", f"cannot decode {v.path}")

    def _on_error(self, event: Any, v: _Voice) -> None:
        self._finish(v, "error", f"libVLC could not play {v.path}")

    def _on_time(self, event: Any, v: _Voice) -> None:
        seconds = event.u.new_time / 1000.0
        with self._lock:
            if v.time_s is None or seconds > v.time_s:
                v.progress_at = time.monotonic()
            v.progressed = v.progressed or seconds > 0
            v.time_s = seconds

    def _on_log(self, data: Any, level: int, ctx: Any, fmt: bytes, args: Any) -> None:
        if level < _LOG_ERROR:
            return
        name = ctypes.c_char_p()
        header = ctypes.c_char_p()
        object_id = ctypes.c_uint()
        _log_get_object(ctx, ctypes.byref(name), ctypes.byref(header), ctypes.byref(object_id))
        if name.value != b"audio output":
            return
        text = ctypes.create_string_buffer(256)
        _libc.vsnprintf(text, len(text), fmt, args)
        with self._lock:
            self._aout_error = (time.monotonic(), text.value.decode(errors="replace"))
