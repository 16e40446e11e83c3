"""A patient's avoid list (patient.yaml): tracks tied to trauma or mismatch, never to play.

The list carries across sessions; the timeline compiler (core.timeline.is_avoided) keeps
every match out of the music. Editing keeps the file's other keys and comments.
"""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from setandsetting.core.loader import load_patient
from setandsetting.room.errors import EditError
from setandsetting.room.folder import RoomFolder
from setandsetting.room.yamlfile import dump, round_trip_yaml, write_atomic


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
    data = round_trip_yaml().load(text) if text.strip() else None
    if not isinstance(data, CommentedMap):
        data = CommentedMap()
    current = data.get("avoid")
    if isinstance(current, CommentedSeq) and avoid:
        del current[:]
        current.extend(avoid)
    else:
        # An emptied block list would be written as `avoid:  # comment` and `[]` on the
        # next line, which is not YAML: a new list, in flow style when empty.
        data["avoid"] = CommentedSeq(avoid)
        if not avoid:
            data["avoid"].fa.set_flow_style()
    write_atomic(path, dump(data), _check_patient)
    return get_avoid(folder, patient)


def _check_patient(path: Path) -> None:
    from setandsetting.core.loader import load_model
    from setandsetting.core.playlist import Patient

    load_model(path, Patient, allow_empty=True)
