"""A patient's folder across rooms, through a real hub and PostgreSQL: fetched where a
session starts, an edit sent with the version it was made on, a stale edit refused and
told, never merged silently; the hub away leaves the room's own copy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from setandsetting.clinic.link import (
    HubClient,
    HubRefused,
    patient_fetcher,
    pull_patient,
    push_patient,
)
from setandsetting.clinic.patients import check_files, local_version, read_folder
from setandsetting.clinic.settings import LinkSettings
from setandsetting.room.folder import RoomFolder
from tests.support.clinic import HubThread, hub_thread

pytestmark = pytest.mark.postgres

PEAK = "# Ann's peak: the quiet one first.\nname: Peak\ntracks:\n  - path: ../../music/a.flac\n"
PATIENT = "display_name: Ann\navoid: [loud.flac]  # never this one\n"


@pytest.fixture
def hub(clinic_db: str) -> Iterator[HubThread]:
    with hub_thread(clinic_db) as h:
        yield h


def room(tmp_path: Path, hub: HubThread, name: str) -> tuple[RoomFolder, HubClient]:
    root = tmp_path / name.replace(" ", "")
    (root / "playlists").mkdir(parents=True)
    token = hub.store.add_room(name)
    return RoomFolder(root), HubClient(LinkSettings(hub.url, name, token))


def test_two_rooms_share_a_folder_and_a_stale_edit_is_refused(
    hub: HubThread, tmp_path: Path
) -> None:
    one, to_one = room(tmp_path, hub, "Room 1")
    two, to_two = room(tmp_path, hub, "Room 2")
    folder = one.patient_dir("P-0042")
    folder.mkdir()
    (folder / "peak.yaml").write_text(PEAK)
    (folder / "patient.yaml").write_text(PATIENT)
    assert push_patient(to_one, one, "P-0042") == 1
    assert pull_patient(to_two, two, "P-0042") == 1
    assert read_folder(two, "P-0042") == {"patient.yaml": PATIENT, "peak.yaml": PEAK}
    # Both edit version 1; Room 1 saves first, so Room 2 is told and nothing is lost.
    (folder / "peak.yaml").write_text(PEAK + "  - path: ../../music/b.flac\n")
    assert push_patient(to_one, one, "P-0042") == 2
    mine = PEAK.replace("quiet", "gentle")
    (two.patient_dir("P-0042") / "peak.yaml").write_text(mine)
    with pytest.raises(HubRefused) as refused:
        push_patient(to_two, two, "P-0042")
    assert refused.value.status == 409
    assert str(refused.value).endswith(
        "answered 409: P-0042: this edit was made on version 1, but the hub holds version 2 "
        "(saved by Room 1); it was not saved: fetch the newer version and edit that"
    )
    assert (two.patient_dir("P-0042") / "peak.yaml").read_text() == mine  # kept, unsent
    assert hub.store.patient_folder("P-0042")["files"]["peak.yaml"].endswith("b.flac\n")
    assert pull_patient(to_two, two, "P-0042") == 2
    assert read_folder(two, "P-0042") == read_folder(one, "P-0042")
    assert local_version(two, "P-0042") == 2


def test_a_session_start_fetches_the_folder_or_keeps_the_rooms_copy(
    hub: HubThread, tmp_path: Path
) -> None:
    one, to_one = room(tmp_path, hub, "Room 1")
    two, to_two = room(tmp_path, hub, "Room 2")
    one.patient_dir("P-0042").mkdir()
    (one.patient_dir("P-0042") / "patient.yaml").write_text(PATIENT)
    push_patient(to_one, one, "P-0042")
    fetch = patient_fetcher(to_two.settings, two)
    fetch("P-0042")
    assert read_folder(two, "P-0042") == {"patient.yaml": PATIENT}
    hub.stop()
    (two.patient_dir("P-0042") / "patient.yaml").write_text("display_name: Ann\n")
    fetch("P-0042")  # the hub away: no error, the room's copy as it is
    assert read_folder(two, "P-0042") == {"patient.yaml": "display_name: Ann\n"}


def test_only_playlist_and_patient_files_are_carried() -> None:
    assert check_files({"peak.yaml": "x", "onset.m3u8": "y"}) == {
        "peak.yaml": "x",
        "onset.m3u8": "y",
    }
    for bad in ({"../peak.yaml": ""}, {"peak.sh": ""}, {".clinic-version": "1"}, []):
        with pytest.raises(ValueError, match="files:"):
            check_files(bad)
