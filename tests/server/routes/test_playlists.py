"""A patient's playlists, avoid list and the library over the API: every edit changes the
file and keeps its comments; every path from a request is checked before it is used."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from setandsetting.room.catalogue import set_vocals
from tests.support.daemon import MOVED_PLAYLIST, PATIENT_PLAYLIST, Daemon


@pytest.mark.parametrize("patient", ["a%20b", "..%2Fx", "%2E%2E"])
def test_invalid_patient_ids_in_paths_are_refused(api: TestClient, patient: str) -> None:
    r = api.get(f"/api/patients/{patient}/playlists")
    assert r.status_code in (400, 404)
    assert set(r.json()) == {"error"}


@pytest.mark.parametrize("slot", ["..%2F..%2Fetc", "Calm", "calm.yaml", "a b", "..", "%2E%2E"])
def test_slot_traversal_is_refused(api: TestClient, room: Daemon, slot: str) -> None:
    before = sorted(p.name for p in room.folder.root.rglob("*"))
    for r in (
        api.get(f"/api/patients/P-0042/playlists/{slot}"),
        api.post(f"/api/patients/P-0042/playlists/{slot}/tracks", json={"path": "music/t2.flac"}),
        api.post(f"/api/patients/P-0042/playlists/{slot}/copy-default"),
    ):
        assert r.status_code in (400, 404), r.text
        assert set(r.json()) == {"error"}
    assert sorted(p.name for p in room.folder.root.rglob("*")) == before


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("../music/t0.flac", 400),
        ("music/../../etc/passwd", 400),
        ("/etc/passwd", 400),
        ("music/escape.flac", 400),  # a symlink out of the library root
        ("profiles/short.yaml", 400),  # in the room, but not in the library
        ("music/none.flac", 404),
        ("", 400),
    ],
)
def test_track_paths_outside_the_library_are_refused(
    api: TestClient, room: Daemon, path: str, status: int
) -> None:
    outside = room.folder.root.parent / "outside.flac"
    outside.write_bytes(b"not really audio")
    (room.folder.root / "music" / "escape.flac").symlink_to(outside)
    playlist = room.folder.root / "playlists" / "P-0042" / "calm.yaml"
    r = api.post("/api/patients/P-0042/playlists/calm/tracks", json={"path": path})
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"}
    assert playlist.read_text() == PATIENT_PLAYLIST


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("music/" + "b" * 300, 400),  # one name longer than the file system's 255
        ("/".join(["music", *["c" * 250] * 20]), 400),  # 5 000 characters: beyond PATH_MAX
        ("a" * 70_000, 413),  # a body over 64 KB is refused before it is read
    ],
)
def test_a_path_too_long_for_the_file_system_is_refused_not_a_500(
    api: TestClient, path: str, status: int
) -> None:
    r = api.post("/api/patients/P-0042/playlists/calm/tracks", json={"path": path})
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and path[:50] not in r.text


def test_playlists_of_a_patient(api: TestClient) -> None:
    slots = api.get("/api/patients/P-0042/playlists").json()
    assert [(s["slot"], s["owner"], s["file"]) for s in slots] == [
        ("calm", "patient", "playlists/P-0042/calm.yaml")
    ]
    assert [(t["title"], t["path"], t["duration_s"]) for t in slots[0]["tracks"]] == [
        ("T1", "../../music/t1.flac", 8.0),
        ("T0", "../../music/t0.flac", 8.0),
    ]


def test_move_add_remove_change_the_file_and_keep_comments(api: TestClient, room: Daemon) -> None:
    path = room.folder.root / "playlists" / "P-0042" / "calm.yaml"
    r = api.post("/api/patients/P-0042/playlists/calm/move", json={"from": 1, "to": 0})
    assert r.status_code == 200, r.text
    assert [t["title"] for t in r.json()["tracks"]] == ["T0", "T1"]
    assert path.read_text() == MOVED_PLAYLIST
    r = api.post(
        "/api/patients/P-0042/playlists/calm/tracks",
        json={"path": "music/t3.flac", "title": "Three"},
    )
    assert r.status_code == 200, r.text
    assert path.read_text().endswith("  - path: ../../music/t3.flac\n    title: Three\n")
    r = api.delete("/api/patients/P-0042/playlists/calm/tracks/0")
    assert [t["title"] for t in r.json()["tracks"]] == ["T1", "Three"]
    assert path.read_text().startswith("# The patient's own calm list: keep this comment.\n")
    assert api.delete("/api/patients/P-0042/playlists/calm/tracks/7").status_code == 404
    r = api.post("/api/patients/P-0042/playlists/calm/move", json={"from": "0", "to": 1})
    assert r.status_code == 400


def test_copy_default_for_a_new_patient(api: TestClient, room: Daemon) -> None:
    r = api.post("/api/patients/P-0043/playlists/calm/copy-default")
    assert r.status_code == 201, r.text
    assert r.json()["owner"] == "patient"
    assert r.json()["note"] == "copied from playlists/default/calm.yaml"
    default = (room.folder.root / "playlists/default/calm.yaml").read_text()
    assert (room.folder.root / "playlists/P-0043/calm.yaml").read_text() == default
    again = api.post("/api/patients/P-0043/playlists/calm/copy-default")
    assert again.status_code == 400
    assert api.post("/api/patients/P-0043/playlists/none/copy-default").status_code == 404


def test_avoid_list_round_trip(api: TestClient, room: Daemon) -> None:
    assert api.get("/api/patients/P-0042/avoid").json() == {"avoid": []}
    r = api.put("/api/patients/P-0042/avoid", json={"avoid": ["*Storm*", "music/t2.flac"]})
    assert r.json() == {"avoid": ["*Storm*", "music/t2.flac"]}
    text = (room.folder.root / "playlists/P-0042/patient.yaml").read_text()
    assert text.startswith("# standing preferences\n")
    assert api.put("/api/patients/P-0042/avoid", json={"avoid": "x"}).status_code == 400


def test_library_lists_and_filters(api: TestClient) -> None:
    everything = api.get("/api/library").json()
    assert [e["path"] for e in everything] == [f"music/t{i}.flac" for i in range(4)]
    assert api.get("/api/library", params={"q": "T2"}).json() == [
        {
            "path": "music/t2.flac",
            "title": "t2",
            "duration_s": 8.0,
            "artist": None,
            "album": None,
            "genre": None,
            "language": None,
            "vocals": None,
            "vocals_by": None,
            "lufs": None,
            "scanned": False,
        }
    ]


def test_library_filters_by_tag_from_the_catalogue(api: TestClient, room: Daemon) -> None:
    set_vocals(room.folder, room.folder.root / "music/t1.flac", "instrumental")
    found = api.get("/api/library", params={"tag": "instrumental"}).json()
    assert [(e["path"], e["vocals_by"], e["scanned"]) for e in found] == [
        ("music/t1.flac", "hand", True)
    ]
    assert len(api.get("/api/library", params={"tag": "vocals"}).json()) == 0
    r = api.get("/api/library", params={"tag": "mood=calm"})
    assert r.status_code == 400 and "is not a tag filter" in r.json()["error"]


def test_fit_proposes_and_put_saves_the_playlist(api: TestClient, room: Daemon) -> None:
    url = "/api/patients/P-0042/playlists/calm"
    query = {"profile": "short", "phase": "settle"}
    # settle lasts 20 s, crossfade 2 s: three 8 s tones, in path order.
    proposal = api.get(f"{url}/fit", params=query).json()
    assert {k: v for k, v in proposal.items() if k != "tracks"} == {
        "slot": "calm",
        "phase": "settle",
        "target_s": 20.0,
        "crossfade_s": 2.0,
        "length_s": 20.0,
        "within": True,
        "verdict": "fits",
        "left_out": {},
    }
    assert [t["path"] for t in proposal["tracks"]] == [
        "music/t0.flac",
        "music/t1.flac",
        "music/t2.flac",
    ]
    api.put("/api/patients/P-0042/avoid", json={"avoid": ["music/t1.flac"]})
    avoided = api.get(f"{url}/fit", params=query).json()
    assert [t["path"] for t in avoided["tracks"]] == [
        "music/t0.flac",
        "music/t2.flac",
        "music/t3.flac",
    ]
    assert avoided["left_out"] == {"on the avoid list": 1}

    tracks = [{"path": t["path"], "title": t["title"]} for t in avoided["tracks"]]
    saved = api.put(f"{url}/tracks", json={"tracks": tracks})
    assert saved.status_code == 200, saved.text
    assert [t["path"] for t in saved.json()["tracks"]] == [
        "../../music/t0.flac",
        "../../music/t2.flac",
        "../../music/t3.flac",
    ]
    text = (room.folder.root / "playlists/P-0042/calm.yaml").read_text()
    assert text.startswith(
        "# The patient's own calm list: keep this comment.\nname: Calm (P-0042)\n"
    )


def test_fit_and_save_refuse_what_does_not_fit_the_room(api: TestClient) -> None:
    url = "/api/patients/P-0042/playlists/calm"
    for params, status, message in [
        ({"profile": "short", "phase": "nope"}, 404, "has no phase 'nope'"),
        ({"profile": "../short", "phase": "settle"}, 400, "is not a profile name"),
        ({"profile": "short", "phase": "settle", "tag": "x"}, 400, "is not a tag filter"),
        ({"profile": "short", "phase": "settle", "not_heard": "5000"}, 400, "at most 1000"),
    ]:
        r = api.get(f"{url}/fit", params=params)
        assert (r.status_code, message in r.json()["error"]) == (status, True), r.text
    for body, message in [
        ({"tracks": [{"path": "/etc/passwd"}]}, "outside the room's library"),
        ({"tracks": [{"path": "music/t0.flac", "title": 3}]}, "title must be text"),
        ({"tracks": "music/t0.flac"}, "tracks must be a list"),
    ]:
        r = api.put(f"{url}/tracks", json=body)
        assert r.status_code == 400 and message in r.json()["error"], r.text
