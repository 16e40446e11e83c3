"""`setandsetting library scan|list|tag`: the catalogue from real files, errors named, exit 0."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile

from setandsetting.cli import main


def tone(path: Path, dbfs: float, seconds: float = 3.0, **tags: str) -> Path:
    t = np.arange(round(seconds * 44100)) / 44100
    s = 10 ** (dbfs / 20) * np.sin(2 * np.pi * 1000 * t)
    soundfile.write(path, np.stack([s, s], axis=1), 44100, subtype="PCM_24")
    if tags:
        tagged = mutagen.File(path)
        for key, value in tags.items():
            tagged[key] = value
        tagged.save()
    return path


def scan(room: Path, *args: str) -> int:
    return main(["--room", str(room), "library", "scan", *args])


def listed(room: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    capsys.readouterr()
    assert main(["--room", str(room), "library", "list", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_scan_lists_loudness_and_gain_and_names_the_corrupt_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    music = tmp_path / "music"
    (music / "more").mkdir(parents=True)
    tone(music / "loud.flac", -20.0)
    tone(music / "more" / "quiet.wav", -30.0)
    (music / "broken.ogg").write_bytes(b"OggS" + bytes(300))
    (music / "notes.txt").write_text("not audio, not listed")
    room = tmp_path / "room"

    assert scan(room, str(music), "--target", "-23") == 0
    out = capsys.readouterr().out
    rows = {line.split()[1]: line for line in out.splitlines() if ".flac" in line or ".wav" in line}
    assert rows.keys() == {"loud.flac", "more/quiet.wav"}
    assert "0:00:03" in rows["loud.flac"] and "-20.0" in rows["loud.flac"]
    assert "-3.0" in rows["loud.flac"]  # gain down to -23
    assert "-30.0" in rows["more/quiet.wav"] and "+7.0" in rows["more/quiet.wav"]
    broken = next(line for line in out.splitlines() if "broken.ogg" in line)
    assert "error" in broken
    assert "notes.txt" not in out
    assert "2 read, 0 unchanged, 1 unreadable" in out

    cached = json.loads((room / ".cache" / "loudness.json").read_text())
    assert sorted(Path(k).name for k in cached) == ["loud.flac", "quiet.wav"]
    assert stat.S_IMODE((room / "catalogue.db").stat().st_mode) == 0o600


def test_the_catalogue_keeps_tags_and_a_rescan_reads_only_what_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = tmp_path
    music = room / "music"
    music.mkdir()
    tone(music / "a.flac", -20.0, title="Dawn", artist="Ana", genre="Ambient", language="zxx")
    tone(music / "b.flac", -26.0, title="Song", artist="Bo", language="deu")
    tone(music / "c.flac", -23.0, seconds=2.0)
    (room / "room.yaml").write_text("library: [music]\n")
    assert scan(room) == 0  # no DIR: room.yaml's library folders
    assert "3 read, 0 unchanged, 0 unreadable" in capsys.readouterr().out

    everything = listed(room, capsys)
    assert everything[0] == {
        "path": "music/a.flac",
        "title": "Dawn",
        "duration_s": 3.0,
        "artist": "Ana",
        "album": None,
        "genre": "Ambient",
        "language": "zxx",
        "vocals": "instrumental",
        "vocals_by": "tags",
        "lufs": -20.0,
        "scanned": True,
    }
    assert [(e["title"], e["vocals"]) for e in everything] == [
        ("Dawn", "instrumental"),
        ("Song", "vocals"),
        ("c", None),
    ]
    assert [e["path"] for e in listed(room, capsys, "--tag", "instrumental")] == ["music/a.flac"]
    assert [e["path"] for e in listed(room, capsys, "--tag", "language=DEU")] == ["music/b.flac"]
    assert listed(room, capsys, "--tag", "vocals", "--tag", "genre=ambient") == []

    assert main(["--room", str(room), "library", "tag", str(music / "c.flac"), "instrumental"]) == 0
    assert capsys.readouterr().out == "music/c.flac: instrumental (by hand)\n"
    tone(music / "b.flac", -26.0, seconds=4.0, title="Song, longer", language="deu")
    os.utime(music / "b.flac", ns=(1, 1))  # a new version: another size and mtime
    (music / "a.flac").unlink()
    assert scan(room, str(music)) == 0
    assert "1 read, 1 unchanged, 0 unreadable, 1 gone from the catalogue" in capsys.readouterr().out
    after = listed(room, capsys)
    assert [(e["title"], e["duration_s"], e["vocals"], e["vocals_by"]) for e in after] == [
        ("Song, longer", 4.0, "vocals", "tags"),
        ("c", 2.0, "instrumental", "hand"),  # the hand-set flag outlives a rescan
    ]
    assert main(["--room", str(room), "library", "tag", "music/c.flac", "auto"]) == 0
    assert capsys.readouterr().out == "music/c.flac: unknown (from its tags)\n"


def test_list_as_a_table_and_bad_words_are_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--room", str(tmp_path), "library", "list"]) == 0
    assert "the catalogue is empty" in capsys.readouterr().out
    (tmp_path / "music").mkdir()
    tone(tmp_path / "music" / "a.flac", -20.0, seconds=1.0, genre="Drone")
    assert scan(tmp_path, str(tmp_path / "music")) == 0
    capsys.readouterr()
    assert main(["--room", str(tmp_path), "library", "list", "--search", "drone a"]) == 0
    out = capsys.readouterr().out
    assert "music/a.flac" in out and "Drone" in out and "1 of 1 tracks" in out
    assert main(["--room", str(tmp_path), "library", "list", "--tag", "mood=calm"]) == 2
    assert "'mood=calm' is not a tag filter" in capsys.readouterr().err
    assert main(["--room", str(tmp_path), "library", "tag", "nope.flac", "vocals"]) == 2
    assert "nope.flac: no such file" in capsys.readouterr().err


def test_scan_of_a_missing_folder_or_a_foreign_catalogue_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert scan(tmp_path, str(tmp_path / "nope")) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert scan(tmp_path) == 2
    assert "give DIR, or name the library folders" in capsys.readouterr().err
    (tmp_path / "catalogue.db").write_bytes(b"not a database at all, but a note" * 40)
    assert scan(tmp_path, str(tmp_path)) == 2
    assert "catalogue.db" in capsys.readouterr().err
    assert (tmp_path / "catalogue.db").read_bytes().startswith(b"not a database")
