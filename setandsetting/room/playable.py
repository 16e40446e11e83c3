"""What will play: each track a playlist names is readable audio, each slot has a playlist.

A file can be well-formed and still leave a phase silent: a track moved or mistyped, a
slot misspelt in the profile. `plan` only warns about these (a session must still run
with what there is); `validate` reports them as problems, at the playlist entry or the
profile's `music:` key, so they are found before a patient is in the room.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from setandsetting.audio.tags import probe
from setandsetting.core.loader import load_located_playlist, load_profile_doc
from setandsetting.core.problems import FormatError, Problem
from setandsetting.room.folder import DEFAULT_OWNER, RoomFolder, track_file


def track_problems(playlist_path: Path) -> list[Problem]:
    """The playlist's own problems, then each track that is missing or not readable audio."""
    try:
        playlist, at = load_located_playlist(playlist_path)
    except FormatError as err:
        return err.problems
    problems = []
    for i, track in enumerate(playlist.tracks):
        path = track_file(playlist_path, track.path)
        why = "no such file" if not path.exists() else probe(path).problem
        if why is not None:
            problems.append(at(i, f"{why}: {path} (this track would not play)"))
    return problems


def slot_problems(
    folder: RoomFolder, profile_path: Path, patient: str | None
) -> tuple[list[Problem], list[Path]]:
    """Each slot the profile plays that has no playlist for the patient or the room default
    (with a "did you mean"), and the playlist files that would play for the others."""
    try:
        profile, doc = load_profile_doc(profile_path)
    except FormatError as err:
        return err.problems, []
    owners = [f"playlists/{patient}/"] if patient else []
    owners.append(f"playlists/{DEFAULT_OWNER}/")
    existing = folder.slots(patient)
    problems: list[Problem] = []
    playing: list[Path] = []
    for i, phase in enumerate(profile.phases):
        if phase.music is None:
            continue
        slot = phase.music.slot
        found = folder.slot_file(patient, slot)
        if found is not None:
            playing.append(found[0])
            continue
        close = difflib.get_close_matches(slot, existing, n=1)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
        else:
            hint = f" (slots: {', '.join(existing)})" if existing else " (there are none)"
        where = " or ".join(owners)
        message = f"no playlist for slot {slot!r} in {where} of {folder.root}{hint}"
        problems.append(doc.problem(("phases", i, "music"), message, at_key=True))
    return problems, list(dict.fromkeys(playing))
