"""Viewing and editing a patient's playlists on disk: atomic, and the user's comments kept.

Shared by the HTTP API and the `playlist` command. Every edit goes to the patient's own
file for the slot; the first edit of a slot the patient does not own yet copies the room
default (an M3U default becomes YAML). Writes go through room.yamlfile (round-trip,
atomic, checked by the real loader before they replace the old file).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from setandsetting.audio.tags import probe
from setandsetting.core.loader import M3U_SUFFIXES, load_playlist
from setandsetting.core.problems import FormatError
from setandsetting.room.errors import EditError, NotFound
from setandsetting.room.folder import RoomFolder, check_slot
from setandsetting.room.library import library_file
from setandsetting.room.yamlfile import dump, round_trip_yaml, write_atomic


def _load_as_yaml_playlist(path: Path) -> None:
    """The loader picks the format by suffix; a temp file is always checked as YAML."""
    from setandsetting.core.loader import load_model
    from setandsetting.core.playlist import Playlist

    load_model(path, Playlist)


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
    return sorted(slots.union(folder.slots(patient)))


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
        data = round_trip_yaml().load(source.read_text(encoding="utf-8")) or CommentedMap()
        for track in data.get("tracks") or []:
            if isinstance(track, dict) and isinstance(track.get("path"), str):
                track["path"] = _rebase(track["path"], source.parent, target_dir)
        note = f"copied from {source.relative_to(folder.root)}"
    write_atomic(target, dump(data), _load_as_yaml_playlist)
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
            write_atomic(own.with_suffix(".yaml"), dump(data), _load_as_yaml_playlist)
            own.unlink()
            note = f"{own.name} (M3U) was converted to YAML"
        elif folder.slot_file(None, slot) is not None:
            note = copy_default(folder, patient, slot)["note"]
        else:
            target_dir = folder.patient_dir(patient)
            target_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(target_dir / f"{slot}.yaml", dump({"name": slot, "tracks": []}))
            note = "a new playlist"
        own = _own_file(folder, patient, slot)
    assert own is not None
    data = round_trip_yaml().load(own.read_text(encoding="utf-8")) or CommentedMap()
    if data.get("tracks") is None:
        data["tracks"] = CommentedSeq()
    change(data["tracks"])
    write_atomic(own, dump(data), _load_as_yaml_playlist)
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


def set_tracks(
    folder: RoomFolder, patient: str, slot: str, tracks: list[dict[str, Any]]
) -> dict[str, Any]:
    """Replace the patient's playlist for the slot by these library tracks (`path`, and
    `title` if any), as a reviewed fit proposal is saved; the file's comments are kept."""
    if not isinstance(tracks, list) or not all(isinstance(t, dict) for t in tracks):
        raise EditError("tracks must be a list of {path, title}")
    target_dir = folder.patient_dir(patient)
    entries = []
    for track in tracks:
        title = track.get("title")
        if title is not None and not isinstance(title, str):
            raise EditError("a track's title must be text")
        entry = CommentedMap()
        entry["path"] = os.path.relpath(library_file(folder, track.get("path")), target_dir)
        if title:
            entry["title"] = title
        entries.append(entry)

    def change(current: CommentedSeq) -> None:
        del current[:]
        current.extend(entries)

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
