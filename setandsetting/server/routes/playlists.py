"""A patient's playlists and avoid list, and the room's library to pick tracks from.

Every route checks the patient ID first; room.playlists, room.avoid and room.library check
slots, indexes and library paths and refuse with the room's own EditError and NotFound.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from setandsetting.room import avoid, library, playlists
from setandsetting.server.deps import Folder, JsonBody, checked_patient
from setandsetting.server.errors import ApiError

router = APIRouter(prefix="/api")


@router.get("/patients/{patient_id}/playlists")
def get_playlists(folder: Folder, patient_id: str) -> list[dict[str, Any]]:
    return playlists.all_slots(folder, checked_patient(patient_id))


@router.get("/patients/{patient_id}/playlists/{slot}")
def get_playlist(folder: Folder, patient_id: str, slot: str) -> dict[str, Any]:
    view = playlists.slot_view(folder, checked_patient(patient_id), slot)
    if view["file"] is None:
        raise ApiError(404, f"no playlist for slot {slot!r}")
    return view


@router.post("/patients/{patient_id}/playlists/{slot}/copy-default", status_code=201)
def post_copy_default(folder: Folder, patient_id: str, slot: str) -> dict[str, Any]:
    return playlists.copy_default(folder, checked_patient(patient_id), slot)


@router.post("/patients/{patient_id}/playlists/{slot}/tracks")
def post_track(folder: Folder, patient_id: str, slot: str, body: JsonBody) -> dict[str, Any]:
    title = body.get("title")
    if title is not None and not isinstance(title, str):
        raise ApiError(400, "title must be text")
    return playlists.add_track(
        folder, checked_patient(patient_id), slot, body.get("path"), title or None
    )


@router.delete("/patients/{patient_id}/playlists/{slot}/tracks/{index}")
def delete_track(folder: Folder, patient_id: str, slot: str, index: int) -> dict[str, Any]:
    return playlists.remove_track(folder, checked_patient(patient_id), slot, index)


@router.post("/patients/{patient_id}/playlists/{slot}/move")
def post_move(folder: Folder, patient_id: str, slot: str, body: JsonBody) -> dict[str, Any]:
    source, target = body.get("from"), body.get("to")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in (source, target)):
        raise ApiError(400, "give `from` and `to` as track numbers (0-based)")
    return playlists.move_track(folder, checked_patient(patient_id), slot, source, target)


@router.get("/patients/{patient_id}/avoid")
def get_avoid(folder: Folder, patient_id: str) -> dict[str, Any]:
    return {"avoid": avoid.get_avoid(folder, checked_patient(patient_id))}


@router.put("/patients/{patient_id}/avoid")
def put_avoid(folder: Folder, patient_id: str, body: JsonBody) -> dict[str, Any]:
    return {"avoid": avoid.set_avoid(folder, checked_patient(patient_id), body.get("avoid"))}


@router.get("/library")
def get_library(folder: Folder, q: str = "") -> list[dict[str, Any]]:
    return library.library(folder, q)
