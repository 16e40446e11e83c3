"""The room folder on disk: profiles, playlists (default and per patient), the journal.

This is the shell around the pure timeline compiler: it finds each slot's playlist file
(the patient's overrides the default, slot by slot), probes every track's real length and
hands the compiler plain values. Every path that comes from a request is checked here:
patient IDs match one strict pattern and slot names are slugs, so nothing outside the room
is ever reached through them; a name that does not pass is the room's EditError, one that
names nothing its NotFound.
"""

from __future__ import annotations

import contextlib
import difflib
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from setandsetting.audio.tags import probe
from setandsetting.core.loader import load_patient, load_playlist, load_profile, load_room
from setandsetting.core.playlist import PLAYLIST_SUFFIXES, Patient, Playlist
from setandsetting.core.problems import FormatError
from setandsetting.core.profile import Profile
from setandsetting.core.room import Room
from setandsetting.core.timeline import SlotSource, Timeline, TrackInfo, compile_timeline
from setandsetting.core.types import SLUG, check_patient_id
from setandsetting.room.errors import EditError, NotFound, RoomError
from setandsetting.room.normalise import normalised

DEFAULT_OWNER = "default"
JOURNAL_NAME = "sessions.db"
CACHE_NAME = ".cache"


@dataclass(frozen=True)
class Compiled:
    profile: Profile
    profile_path: Path
    timeline: Timeline


class RoomFolder:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.profiles_dir = self.root / "profiles"
        self.playlists_dir = self.root / "playlists"
        self.journal_path = self.root / JOURNAL_NAME
        self.cache_dir = self.root / CACHE_NAME  # measured loudness, by file version

    def room(self) -> Room:
        return load_room(self.root / "room.yaml")

    # ---------------------------------------------------------------- profiles

    def profiles(self) -> list[Path]:
        return sorted(self.profiles_dir.glob("*.yaml")) if self.profiles_dir.is_dir() else []

    def profile_path(self, name: str) -> Path:
        """A profile named by a request: a file name inside profiles/, nothing else."""
        stem = name.removesuffix(".yaml")
        if not SLUG.fullmatch(stem.lower()) or "/" in name:
            raise EditError(f"{name!r} is not a profile name")
        path = self.profiles_dir / f"{stem}.yaml"
        if not path.is_file():
            raise NotFound(f"no profile {stem!r} in {self.profiles_dir}")
        return path

    def profile_file(self, name: str) -> Path:
        """A profile a command line names, the same way in every command: a file path as
        given, else one inside the room folder, else a name in profiles/ (`demo`)."""
        for path in (Path(name), self.root / name):
            if path.is_file():
                return path
        with contextlib.suppress(RoomError):  # not a profile's name either: say so below
            return self.profile_path(name)
        names = [p.stem for p in self.profiles()]
        close = difflib.get_close_matches(Path(name).stem, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if not close and names:
            hint = f" (profiles: {', '.join(names)})"
        raise NotFound(
            f"no profile {name!r}: no such file, nor a name in {self.profiles_dir}{hint}"
        )

    # ---------------------------------------------------------------- patients

    def patient_dir(self, patient_id: str) -> Path:
        """The patient's own folder; an ID outside the pattern is an EditError."""
        try:
            return self.playlists_dir / check_patient_id(patient_id)
        except ValueError as err:
            raise EditError(str(err)) from None

    def patients(self) -> list[str]:
        if not self.playlists_dir.is_dir():
            return []
        return sorted(
            p.name
            for p in self.playlists_dir.iterdir()
            if p.is_dir() and p.name != DEFAULT_OWNER and _is_patient(p.name)
        )

    def unknown_patient(self, patient_id: str) -> str | None:
        """The warning for an ID with no folder here (a typo, or a new patient): its session
        would play the room's default music with no avoid list, journaled under that ID."""
        if self.patient_dir(patient_id).is_dir():
            return None
        known = difflib.get_close_matches(patient_id, self.patients(), n=1)
        typo = f" (did you mean {known[0]}?)" if known else ""
        return (
            f"no patient {patient_id} in this room{typo}: the default music and no avoid "
            "list; check the ID unless this is a new patient"
        )

    def patient(self, patient_id: str) -> Patient | None:
        path = self.patient_dir(patient_id) / "patient.yaml"
        return load_patient(path) if path.is_file() else None

    def slots(self, patient_id: str | None) -> list[str]:
        """The slots that have a playlist for the patient (if any) or the room default."""
        owners = [self.patient_dir(patient_id)] if patient_id else []
        owners.append(self.playlists_dir / DEFAULT_OWNER)
        return sorted(
            {
                f.stem
                for folder in owners
                if folder.is_dir()
                for f in folder.iterdir()
                if f.is_file()
                and f.suffix.lower() in PLAYLIST_SUFFIXES
                and SLUG.fullmatch(f.stem)
                and f.stem != "patient"
            }
        )

    def slot_file(self, patient_id: str | None, slot: str) -> tuple[Path, str] | None:
        """The file that plays for `slot`: the patient's own, else the room default."""
        check_slot(slot)
        owners = [(self.patient_dir(patient_id), "patient")] if patient_id else []
        owners.append((self.playlists_dir / DEFAULT_OWNER, DEFAULT_OWNER))
        for folder, owner in owners:
            for suffix in PLAYLIST_SUFFIXES:
                path = folder / f"{slot}{suffix}"
                if path.is_file():
                    return path, owner
        return None

    def slot_source(self, patient_id: str | None, slot: str) -> SlotSource:
        found = self.slot_file(patient_id, slot)
        if found is None:
            return SlotSource(slot)
        path, owner = found
        try:
            playlist = load_playlist(path)
        except FormatError as err:
            return SlotSource(slot, path, owner, problem=str(err.problems[0]))  # type: ignore[arg-type]
        return SlotSource(slot, path, owner, tuple(_track_infos(path, playlist)))  # type: ignore[arg-type]

    # ---------------------------------------------------------------- compiling

    def compile(self, profile_path: Path, patient_id: str, *, seed: int | None = None) -> Compiled:
        """Profile + playlists + patient -> Timeline. Raises FormatError on broken files."""
        from setandsetting.audio.sounds import sound_length  # numpy: only when compiling

        patient_dir = self.patient_dir(patient_id)
        profile = load_profile(profile_path)
        room = self.room()
        slots = {
            phase.music.slot: self.slot_source(patient_id, phase.music.slot)
            for phase in profile.phases
            if phase.music is not None
        }
        if room.audio.loudness_target is not None:
            slots = normalised(self.cache_dir, slots, room.audio.loudness_target)
        base = profile_path.resolve().parent
        timeline = compile_timeline(
            profile,
            slots,
            patient_id=patient_id,
            patient=_with_resolved_avoid(self.patient(patient_id), patient_dir, self.root),
            patient_dir=patient_dir,
            on_quiet=tuple(room.on_quiet),
            room_alerts=room.alerts,
            seed=seed if seed is not None else zlib.crc32(f"{patient_id}:{profile.name}".encode()),
            sound_length=lambda sound: sound_length(sound, base),
        )
        unknown = self.unknown_patient(patient_id)
        if unknown is not None:
            timeline = replace(timeline, warnings=(unknown, *timeline.warnings))
        return Compiled(profile, profile_path, timeline)


def check_slot(slot: str) -> str:
    """A slot name from a request: a slug, so it names a file inside a playlist folder."""
    if not SLUG.fullmatch(slot):
        raise EditError(f"{slot!r} is not a playlist slot name")
    return slot


def _is_patient(name: str) -> bool:
    try:
        check_patient_id(name)
    except ValueError:
        return False
    return True


def track_file(playlist_path: Path, track_path: str) -> Path:
    """The file a playlist entry names: absolute, or relative to the playlist's folder."""
    path = Path(track_path)
    return path if path.is_absolute() else (playlist_path.parent / path).resolve()


def _with_resolved_avoid(patient: Patient | None, patient_dir: Path, root: Path) -> Patient | None:
    """The patient with each avoided path also as the file it resolves to.

    Track paths are resolved (symlinks followed) and the compiler compares paths as written,
    so `music/x.flac` would not match where `music/` is a symlink, and the avoided track
    would play. Each relative entry is resolved from the patient's folder and from the room,
    as `is_avoided` reads it; bare names and title patterns stay as they are."""
    if patient is None or not patient.avoid:
        return patient
    extra: list[str] = []
    for entry in patient.avoid:
        if "/" not in entry:
            continue  # a title pattern, or a bare file name (matched by name anywhere)
        target = Path(entry)
        bases = [target] if target.is_absolute() else [patient_dir / target, root / target]
        extra += [str(base.resolve()) for base in bases]
    added = [e for e in dict.fromkeys(extra) if e not in patient.avoid]
    return patient.model_copy(update={"avoid": [*patient.avoid, *added]}) if added else patient


def _track_infos(playlist_path: Path, playlist: Playlist) -> list[TrackInfo]:
    out = []
    for track in playlist.tracks:
        path = track_file(playlist_path, track.path)
        found = probe(path)
        out.append(
            TrackInfo(
                path=path,
                title=track.title or found.title or path.stem,
                gain_db=track.gain,
                start=track.start,
                end=track.end,
                length=found.length,
                problem=found.problem,
            )
        )
    return out
