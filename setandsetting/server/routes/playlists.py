"""A patient's playlists and avoid list, the room's library to pick tracks from, and a
playlist fitted to a phase.

Every route checks the patient ID first; room.playlists, room.avoid, room.library and
room.fit check slots, indexes, profile names and library paths and refuse with the room's
own EditError and NotFound.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from setandsetting.core.catalogue import Condition, parse_conditions
from setandsetting.room import avoid, library, playlists
from setandsetting.room.fit import proposal_view, propose
from setandsetting.server.deps import Folder, JsonBody, Runner, checked_patient
from setandsetting.server.errors import ApiError

router = APIRouter(prefix="/api")
Tags = Annotated[list[str], Query(max_length=20)]  # tag filter words: ?tag=instrumental&tag=…


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


@router.put("/patients/{patient_id}/playlists/{slot}/tracks")
def put_tracks(folder: Folder, patient_id: str, slot: str, body: JsonBody) -> dict[str, Any]:
    """Replace the playlist by these tracks: a reviewed fit proposal, saved."""
    return playlists.set_tracks(folder, checked_patient(patient_id), slot, body.get("tracks"))


@router.get("/patients/{patient_id}/playlists/{slot}/fit")
def get_fit(
    folder: Folder,
    runner: Runner,
    patient_id: str,
    slot: str,
    profile: str,
    phase: str,
    tag: Tags = (),
    not_heard: int = 0,
) -> dict[str, Any]:
    """A playlist proposed from the library for the phase (core.fit's rule); not saved."""
    patient = checked_patient(patient_id)
    proposal = propose(
        folder,
        patient,
        slot,
        folder.profile_path(profile),
        phase,
        conditions=_conditions(tag),
        not_heard=not_heard,
        journal=runner.journal if not_heard > 0 else None,
    )
    return proposal_view(proposal, slot, phase)


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
def get_library(folder: Folder, q: str = "", tag: Tags = ()) -> list[dict[str, Any]]:
    return library.library(folder, q, _conditions(tag))


def _conditions(words: tuple[str, ...] | list[str]) -> tuple[Condition, ...]:
    try:
        return parse_conditions(words)
    except ValueError as err:
        raise ApiError(400, str(err)) from None
