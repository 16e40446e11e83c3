"""Editing a patient's playlists and avoid list on disk: atomic, and the user's comments kept.

Shared by the HTTP API and the `playlist` command. Every edit goes to the patient's own
file for the slot; the first edit of a slot the patient does not own yet copies the room
default (an M3U default becomes YAML). Files are read and written with ruamel's round-trip
mode, so comments and key order survive; each write goes to a temporary file in the same
folder, is checked by the real loader, and replaces the old file with os.replace — a failed
write leaves the old file exactly as it was.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from setandsetting.core.loader import M3U_SUFFIXES, load_patient, load_playlist
from setandsetting.core.problems import FormatError
from setandsetting.core.types import SLUG
from setandsetting.roomfolder import DEFAULT_OWNER, RoomFolder, probe

AUDIO_SUFFIXES = frozenset({".flac", ".mp3", ".ogg", ".opus", ".wav", ".m4a", ".aac", ".aiff"})
LIBRARY_LIMIT = 500  # at most this many library entries per listing


class EditError(ValueError):
    """A request that cannot be done (bad path, index, slot...): one clear sentence."""


class NotFound(LookupError):
    """The slot, patient or track named does not exist."""


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    return yaml


def check_slot(slot: str) -> str:
    if not SLUG.fullmatch(slot):
        raise EditError(f"{slot!r} is not a playlist slot name")
    return slot


# ---------------------------------------------------------------- atomic write


def write_atomic(path: Path, text: str, check: Callable[[Path], object] | None = None) -> None:
    """Write text to path through a temp file in the same folder; check it before replacing."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if check is not None:
            check(tmp)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _dump(data: Any) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def _load_as_yaml_playlist(path: Path) -> None:
    """The loader picks the format by suffix; a temp file is always checked as YAML."""
    from setandsetting.core.loader import load_model
    from setandsetting.core.playlist import Playlist

    load_model(path, Playlist)


def _check_patient(path: Path) -> None:
    from setandsetting.core.loader import load_model
    from setandsetting.core.playlist import Patient

    load_model(path, Patient, allow_empty=True)


# ---------------------------------------------------------------- reading


def _rebase(track_path: str, source_dir: Path, target_dir: Path) -> str:
    """A relative track path written for one folder, rewritten for another."""
    if Path(track_path).is_absolute():
        return track_path
    return os.path.relpath(os.path.normpath(source_dir / track_path), target_dir)


def _track_view(playlist_dir: Path, track: Any) -> dict[str, Any]:
    path = Path(track.path)
    full = path if path.is_absolute() else (playlist_dir / path).resolve()
    found = probe(full)
    return {
        "path": track.path,
        "title": track.title or found.title or full.stem,
        "gain": track.gain,
        "start": track.start,
        "end": track.end,
        "duration_s": found.length,
        "problem": found.problem,
    }


def slot_view(folder: RoomFolder, patient: str, slot: str) -> dict[str, Any]:
    """The playlist that plays for the slot (the patient's own, else the default)."""
    check_slot(slot)
    found = folder.slot_file(patient, slot)
    if found is None:
        return {"slot": slot, "owner": None, "file": None, "tracks": []}
    path, owner = found
    playlist = load_playlist(path)
    return {
        "slot": slot,
        "owner": owner,
        "file": str(path.relative_to(folder.root)),
        "name": playlist.name,
        "tracks": [_track_view(path.parent, t) for t in playlist.tracks],
    }


def used_slots(folder: RoomFolder, patient: str) -> list[str]:
    """Every slot a profile plays, plus every playlist file the patient or default has."""
    from setandsetting.core.loader import load_profile

    slots: set[str] = set()
    for profile_path in folder.profiles():
        try:
            profile = load_profile(profile_path)
        except FormatError:
            continue
        slots.update(p.music.slot for p in profile.phases if p.music is not None)
    for owner_dir in (folder.patient_dir(patient), folder.playlists_dir / DEFAULT_OWNER):
        if owner_dir.is_dir():
            slots.update(
                f.stem
                for f in owner_dir.iterdir()
                if _is_playlist(f) and SLUG.fullmatch(f.stem) and f.stem != "patient"
            )
    return sorted(slots)


def _is_playlist(path: Path) -> bool:
    from setandsetting.core.playlist import PLAYLIST_SUFFIXES

    return path.is_file() and path.suffix.lower() in PLAYLIST_SUFFIXES


def all_slots(folder: RoomFolder, patient: str) -> list[dict[str, Any]]:
    return [slot_view(folder, patient, slot) for slot in used_slots(folder, patient)]


# ---------------------------------------------------------------- the patient's own copy


def _own_file(folder: RoomFolder, patient: str, slot: str) -> Path | None:
    found = folder.slot_file(patient, slot)
    return found[0] if found is not None and found[1] == "patient" else None


def copy_default(folder: RoomFolder, patient: str, slot: str) -> dict[str, Any]:
    """Give the patient an own copy of the slot's default playlist (comments kept)."""
    check_slot(slot)
    if _own_file(folder, patient, slot) is not None:
        raise EditError(f"patient {patient} already has an own {slot} playlist")
    found = folder.slot_file(None, slot)
    if found is None:
        raise NotFound(f"there is no default playlist for slot {slot!r}")
    source, _ = found
    target_dir = folder.patient_dir(patient)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{slot}.yaml"
    if source.suffix.lower() in M3U_SUFFIXES:
        data = _from_m3u(source, target_dir)
        note = f"{source.name} (M3U) was converted to YAML"
    else:
        data = _yaml().load(source.read_text(encoding="utf-8")) or CommentedMap()
        for track in data.get("tracks") or []:
            if isinstance(track, dict) and isinstance(track.get("path"), str):
                track["path"] = _rebase(track["path"], source.parent, target_dir)
        note = f"copied from {source.relative_to(folder.root)}"
    write_atomic(target, _dump(data), _load_as_yaml_playlist)
    view = slot_view(folder, patient, slot)
    view["note"] = note
    return view


def _from_m3u(source: Path, target_dir: Path) -> CommentedMap:
    playlist = load_playlist(source)
    data = CommentedMap()
    data["name"] = playlist.name or source.stem
    tracks = CommentedSeq()
    for track in playlist.tracks:
        entry = CommentedMap()
        entry["path"] = _rebase(track.path, source.parent, target_dir)
        if track.title:
            entry["title"] = track.title
        tracks.append(entry)
    data["tracks"] = tracks
    data.yaml_set_start_comment(f"Converted from {source.name} on first edit.")
    return data


def _edit(
    folder: RoomFolder, patient: str, slot: str, change: Callable[[CommentedSeq], None]
) -> dict[str, Any]:
    """Apply `change` to the patient's own track list (copying the default first if needed)."""
    check_slot(slot)
    note = None
    own = _own_file(folder, patient, slot)
    if own is None or own.suffix.lower() in M3U_SUFFIXES:
        if own is not None:  # the patient's own M3U: convert it in place to YAML
            data = _from_m3u(own, own.parent)
            write_atomic(own.with_suffix(".yaml"), _dump(data), _load_as_yaml_playlist)
            own.unlink()
            note = f"{own.name} (M3U) was converted to YAML"
        elif folder.slot_file(None, slot) is not None:
            note = copy_default(folder, patient, slot)["note"]
        else:
            target_dir = folder.patient_dir(patient)
            target_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(target_dir / f"{slot}.yaml", _dump({"name": slot, "tracks": []}))
            note = "a new playlist"
        own = _own_file(folder, patient, slot)
    assert own is not None
    data = _yaml().load(own.read_text(encoding="utf-8")) or CommentedMap()
    if data.get("tracks") is None:
        data["tracks"] = CommentedSeq()
    change(data["tracks"])
    write_atomic(own, _dump(data), _load_as_yaml_playlist)
    view = slot_view(folder, patient, slot)
    if note:
        view["note"] = note
    return view


def _index(tracks: CommentedSeq, index: int, what: str = "track") -> int:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(tracks):
        raise NotFound(f"there is no such {what}: the playlist has {len(tracks)} tracks")
    return index


def add_track(
    folder: RoomFolder, patient: str, slot: str, library_path: str, title: str | None = None
) -> dict[str, Any]:
    """Append a track from the room's library to the patient's playlist for the slot."""
    full = library_file(folder, library_path)
    target_dir = folder.patient_dir(patient)

    def change(tracks: CommentedSeq) -> None:
        entry = CommentedMap()
        entry["path"] = os.path.relpath(full, target_dir)
        if title:
            entry["title"] = title
        tracks.append(entry)

    return _edit(folder, patient, slot, change)


def remove_track(folder: RoomFolder, patient: str, slot: str, index: int) -> dict[str, Any]:
    def change(tracks: CommentedSeq) -> None:
        del tracks[_index(tracks, index)]

    return _edit(folder, patient, slot, change)


def move_track(
    folder: RoomFolder, patient: str, slot: str, source: int, target: int
) -> dict[str, Any]:
    def change(tracks: CommentedSeq) -> None:
        i = _index(tracks, source)
        j = _index(tracks, target, "position")
        tracks.insert(j, tracks.pop(i))

    return _edit(folder, patient, slot, change)


# ---------------------------------------------------------------- avoid list


def get_avoid(folder: RoomFolder, patient: str) -> list[str]:
    return list(load_patient(folder.patient_dir(patient) / "patient.yaml").avoid)


def set_avoid(folder: RoomFolder, patient: str, avoid: list[str]) -> list[str]:
    """Replace the patient's avoid list in patient.yaml (other keys and comments kept)."""
    if not isinstance(avoid, list) or not all(isinstance(a, str) and a.strip() for a in avoid):
        raise EditError("avoid must be a list of non-empty paths or title patterns")
    target_dir = folder.patient_dir(patient)
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / "patient.yaml"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    data = _yaml().load(text) if text.strip() else None
    if not isinstance(data, CommentedMap):
        data = CommentedMap()
    current = data.get("avoid")
    if isinstance(current, CommentedSeq):
        del current[:]
        current.extend(avoid)
    else:
        data["avoid"] = CommentedSeq(avoid)
    write_atomic(path, _dump(data), _check_patient)
    return get_avoid(folder, patient)


# ---------------------------------------------------------------- library


def library_roots(folder: RoomFolder) -> list[tuple[Path, Path]]:
    """room.yaml's library roots as (as written, under the room folder; fully resolved)."""
    roots = []
    for root in folder.room().library:
        path = Path(os.path.normpath(folder.root / root))
        if path.is_dir():
            roots.append((path, path.resolve()))
    return roots


def library_file(folder: RoomFolder, library_path: str) -> Path:
    """A path from a request, if it is an audio file inside a library root (even resolved).

    Returned as written (not resolved), so playlists keep the room's own relative paths.
    """
    if not isinstance(library_path, str) or not library_path or "\x00" in library_path:
        raise EditError("a library path is required")
    candidate = Path(library_path)
    if ".." in candidate.parts:
        raise EditError(f"{library_path!r}: '..' is not allowed in a library path")
    roots = library_roots(folder)
    if not roots:
        raise EditError("room.yaml names no library folder")
    bases = [candidate] if candidate.is_absolute() else [folder.root / candidate]
    bases += [] if candidate.is_absolute() else [shown / candidate for shown, _ in roots]
    for base in bases:
        resolved = base.resolve()
        if any(resolved.is_relative_to(real) for _, real in roots):
            if not resolved.is_file():
                continue
            if resolved.suffix.lower() not in AUDIO_SUFFIXES:
                raise EditError(f"{library_path!r} is not an audio file")
            return Path(os.path.normpath(base))
        if resolved.exists() or candidate.is_absolute():
            raise EditError(f"{library_path!r} is outside the room's library folders")
    raise NotFound(f"{library_path!r}: no such file in the room's library")


def library(folder: RoomFolder, query: str = "") -> list[dict[str, Any]]:
    """Audio files under the library roots (symlinks out of a root are skipped)."""
    needle = query.strip().lower()
    out: list[dict[str, Any]] = []
    for shown_root, real_root in library_roots(folder):
        for file in sorted(shown_root.rglob("*")):
            if file.suffix.lower() not in AUDIO_SUFFIXES or not file.is_file():
                continue
            if not file.resolve().is_relative_to(real_root):
                continue
            shown = os.path.relpath(file, folder.root)
            found = probe(file)
            title = found.title or file.stem
            if needle and needle not in title.lower() and needle not in shown.lower():
                continue
            out.append({"path": shown, "title": title, "duration_s": found.length})
            if len(out) >= LIBRARY_LIMIT:
                return out
    return out
