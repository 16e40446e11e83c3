"""`setandsetting validate` and `schema` through the real CLI: exact FILE:LINE:COL, exit 2,
never a traceback, each broken file answered well within a second."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from setandsetting.cli import build_parser, main
from setandsetting.core.problems import sort_problems
from tests.support.audio_analysis import write_tone

FIXTURES = Path(__file__).parents[1] / "fixtures"
BROKEN = FIXTURES / "broken"
ROOT = Path(__file__).parents[2]

# file -> the exact problem lines (after "FILE:") it must produce
EXPECTED = {
    "unknown-key.yaml": [
        "5:5: phases[0].colour: unknown key `colour` (allowed here: id, name, duration, "
        "extendable, music, level, fade_out, not_before, checkins, cues)"
    ],
    "misspelt-key.yaml": [
        "7:5: phases[1].checkin: unknown key `checkin` (did you mean `checkins`?)"
    ],
    "bad-duration.yaml": [
        "6:15: phases[1].duration: '30 minutes' is not a duration; "
        "write e.g. 90s, 15m, 1h20m, 1h 20m 5s or 1:20:00"
    ],
    "bad-level.yaml": [
        "5:13: phases[0].level.form: unknown key `form` (did you mean `from`?)",
        "8:12: phases[1].level: '120%': a level must be between 0% and 100%",
    ],
    "duplicate-phase-id.yaml": ["7:9: phases[2].id: phase id 'peak' is used twice"],
    "unknown-from.yaml": [
        "8:28: phases[1].checkins[0].from: no phase is called 'dosnig' (did you mean 'dosing'?)"
    ],
    "syntax-error.yaml": [
        "6:7: YAML syntax: the `{` opened at 5:12 is not closed (expected ',' or '}', but got ':')"
    ],
    "tab-indent.yaml": ["4:1: YAML syntax: tabs cannot indent YAML; use spaces"],
    "alias-bomb.yaml": [
        "6:8: e[0]: aliases expand to more than 10000 values (an alias bomb?); "
        "write the data out instead"
    ],
    "non-utf8.yaml": ["4:14: byte 0xe9 is not UTF-8; save the file as UTF-8"],
    "empty.yaml": [
        "1:1: the file is empty; write a profile (`name:`, `phases:`) or a playlist (`tracks:`)"
    ],
    "above-max-level.yaml": ["7:28: phases[0].level.to: level 70% is above limits.max_level 60%"],
    "huge-phase.yaml": [
        "6:15: phases[1].duration: 1000000000h is too long: a phase lasts at most 24h "
        "(or write `open`)"
    ],
    "http-stream.m3u8": [
        "5:1: 'https://radio.example/stream.mp3': the room plays local files only; "
        "save the file and list its path"
    ],
}


def test_every_broken_fixture_is_covered() -> None:
    assert sorted(p.name for p in BROKEN.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_file_exits_2_with_exact_positions(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = BROKEN / name
    build_parser()  # other commands' imports (numpy, scipy) are not what is timed here
    started = time.perf_counter()
    code = main(["validate", str(path)])
    elapsed = time.perf_counter() - started
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.splitlines() == [f"{path}:{line}" for line in EXPECTED[name]]
    assert "Traceback" not in err
    assert elapsed < 1.0


def test_broken_files_in_a_real_process_exit_2_without_traceback() -> None:
    paths = [str(BROKEN / name) for name in sorted(EXPECTED)]
    result = subprocess.run(
        [sys.executable, "-m", "setandsetting", "validate", *paths],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    expected = sorted(f"{BROKEN / name}:{line}" for name in EXPECTED for line in EXPECTED[name])
    assert sorted(result.stderr.splitlines()) == expected


DESIGN_SLOTS = ("arrival", "dosing", "peak", "return", "integration")


def make_room(root: Path) -> Path:
    """The DESIGN.md profile in a room with a playlist of real audio for each of its slots."""
    (root / "profiles").mkdir(parents=True)
    shutil.copy(FIXTURES / "formats" / "design-profile.yaml", root / "profiles" / "im.yaml")
    (root / "music").mkdir()
    write_tone(root / "music" / "a.flac", 440.0, 1.0)
    write_tone(root / "music" / "b.wav", 440.0, 1.0)
    default = root / "playlists" / "default"
    default.mkdir(parents=True)
    for slot in DESIGN_SLOTS:
        (default / f"{slot}.yaml").write_text("tracks:\n  - path: ../../music/a.flac\n")
    (default / "onset.m3u8").write_text("#EXTM3U\n../../music/b.wav\n")
    (default / "notes.txt").write_text("not a format file")
    (root / "playlists" / "P-0042").mkdir()
    (root / "playlists" / "P-0042" / "patient.yaml").write_text("avoid: [x.flac]\n")
    (root / "room.yaml").write_text("server: {port: 8701}\n")
    return root / "profiles" / "im.yaml"


def test_valid_files_and_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = make_room(tmp_path)
    assert main(["validate", str(tmp_path)]) == 0
    assert capsys.readouterr() == ("9 files OK\n", "")
    assert main(["--room", str(tmp_path), "validate", str(profile)]) == 0
    assert capsys.readouterr().out == "1 file OK\n"


def test_what_would_not_play_is_an_error_at_its_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = make_room(tmp_path)
    default = tmp_path / "playlists" / "default"
    (default / "onset.m3u8").write_text("#EXTM3U\n../../music/b.wav\n../../music/gone.flac\n")
    (default / "peak.yaml").rename(default / "peek.yaml")
    (default / "return.yaml").write_text(
        "tracks:\n  - path: ../../music/a.flac\n  - path: nope.ogg\n"
    )
    assert main(["validate", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{default / 'onset.m3u8'}:3:1: no such file: {tmp_path / 'music' / 'gone.flac'} "
        "(this track would not play)",
        f"{default / 'return.yaml'}:3:11: tracks[1].path: no such file: {default / 'nope.ogg'} "
        "(this track would not play)",
        f"{profile}:25:5: phases[2].music: no playlist for slot 'peak' in playlists/default/ of "
        f"{tmp_path} (did you mean 'peek'?)",
    ]


def test_the_slots_of_a_patient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    profile = make_room(tmp_path)
    (tmp_path / "playlists" / "default" / "peak.yaml").rename(
        tmp_path / "playlists" / "P-0042" / "peak.yaml"
    )
    own = tmp_path / "playlists" / "P-0042" / "peak.yaml"
    own.write_text("tracks:\n  - path: ../../music/gone.flac\n")
    room = ["--room", str(tmp_path), "validate", str(profile)]
    assert main(room) == 2
    assert capsys.readouterr().err.startswith(
        f"{profile}:25:5: phases[2].music: no playlist for slot 'peak' in playlists/default/ "
    )
    assert main([*room, "--patient", "P-0042"]) == 2  # the patient's own peak is what plays
    assert capsys.readouterr().err == (
        f"{own}:2:11: tracks[0].path: no such file: {tmp_path / 'music' / 'gone.flac'} "
        "(this track would not play)\n"
    )
    own.write_text("tracks:\n  - path: ../../music/a.flac\n")
    assert main([*room, "--patient", "P-0042"]) == 0
    assert main([*room, "--patient", "../P-0042"]) == 2
    assert capsys.readouterr() == (
        "1 file OK\n",
        "--patient: '../P-0042' is not a patient ID: 1-64 characters, letters, digits, - and _, "
        "starting with a letter or digit\n",
    )


def test_a_profile_is_named_as_in_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--room", str(ROOT), "validate", "demo"]) == 0
    assert capsys.readouterr() == ("1 file OK\n", "")
    assert main(["--room", str(ROOT), "validate", "dmo", "profiles/dmo.yaml"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"dmo: no profile 'dmo': no such file, nor a name in {ROOT / 'profiles'} "
        "(did you mean 'demo'?)",
        "profiles/dmo.yaml: no such file or folder",
    ]


def test_kind_from_content_outside_a_room(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mine.yaml").write_text("name: P\nphases:\n  - {id: a, duration: 0}\n")
    (tmp_path / "list.yml").write_text("tracks:\n  - pathh: a.flac\n")
    (tmp_path / "other.yaml").write_text("hello: world\n")
    assert main(["validate", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{tmp_path / 'list.yml'}:2:5: tracks[0]: missing required key `path`",
        f"{tmp_path / 'list.yml'}:2:5: tracks[0].pathh: unknown key `pathh` (did you mean `path`?)",
        f"{tmp_path / 'mine.yaml'}:3:23: phases[0].duration: a phase needs a duration above 0, "
        "or `open`",
        f"{tmp_path / 'other.yaml'}:1:1: not a profile (no `phases:`) or a playlist (no `tracks:`)",
    ]


def test_missing_paths_and_empty_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml"), str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path}: no files to check here",
        f"{tmp_path / 'nope.yaml'}: no such file or folder",
    ]


def test_an_unexpected_failure_is_a_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from setandsetting.cli import formats

    def explode(path: Path) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(formats.LOADERS, "room", explode)
    (tmp_path / "room.yaml").write_text("{}\n")
    assert main(["validate", str(tmp_path / "room.yaml")]) == 2
    assert capsys.readouterr().err == (
        f"{tmp_path / 'room.yaml'}: could not be checked: RuntimeError('boom')\n"
    )


@pytest.mark.parametrize("kind", ["profile", "playlist", "room", "patient"])
def test_schema(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--kind", kind]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["additionalProperties"] is False
    if kind == "profile":
        assert schema["required"] == ["name", "phases"]
        assert "from" in schema["$defs"]["FromTo"]["properties"]
        assert "from_" not in schema["$defs"]["FromTo"]["properties"]


def test_schema_defaults_to_the_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "Profile"


def schema_validator(kind: str) -> jsonschema.Draft202012Validator:
    """A JSON Schema validator for `setandsetting schema --kind KIND`'s output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["schema", "--kind", kind]) == 0
    schema = json.loads(out.getvalue())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def plain(path: Path) -> object:
    """A file as plain data, the way any YAML tool (not ours) reads it."""
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


PLAYLIST_FILES = sorted((ROOT / "playlists").glob("*/*.yaml"))
SHIPPED = [
    *(("profile", p) for p in sorted((ROOT / "profiles").glob("*.yaml"))),
    ("profile", FIXTURES / "formats" / "design-profile.yaml"),
    *(("playlist", p) for p in PLAYLIST_FILES if p.name != "patient.yaml"),
    *(("patient", p) for p in PLAYLIST_FILES if p.name == "patient.yaml"),
    ("room", ROOT / "room.yaml"),
]


@pytest.mark.parametrize(
    ("kind", "path"), SHIPPED, ids=[str(p.relative_to(ROOT)) for _, p in SHIPPED]
)
def test_every_shipped_file_validates_against_the_schema(kind: str, path: Path) -> None:
    errors = [e.message for e in schema_validator(kind).iter_errors(plain(path))]
    assert errors == []


def test_the_shipped_files_are_all_checked() -> None:
    kinds = [kind for kind, _ in SHIPPED]
    assert [kinds.count(k) for k in ("profile", "playlist", "patient", "room")] == [7, 8, 1, 1]


def test_the_schema_says_what_units_and_words_the_loader_takes() -> None:
    validator = schema_validator("profile")
    phase = {"id": "a", "duration": "1h 20m 5s", "level": "-18dB", "fade_out": "1:20"}
    assert list(validator.iter_errors({"name": "P", "phases": [phase]})) == []
    for value in ("open", 90, "45s", "1:20:00"):
        assert validator.is_valid({"name": "P", "phases": [{"id": "a", "duration": value}]})


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (plain(BROKEN / "bad-duration.yaml"), ["phases", 1, "duration"]),
        (plain(BROKEN / "bad-level.yaml"), ["phases", 0, "level"]),
        (plain(BROKEN / "unknown-key.yaml"), ["phases", 0]),
        ({"name": "P", "phases": [{"id": "a", "duration": 3.6e12}]}, ["phases", 0, "duration"]),
        (
            {"name": "P", "phases": [{"id": "a", "duration": "1m", "level": 70}]},
            ["phases", 0, "level"],
        ),
        ({"name": "P", "route": "rectal", "phases": [{"id": "a", "duration": 1}]}, ["route"]),
        ({"name": "P", "phases": [{"id": "Peak!", "duration": 1}]}, ["phases", 0, "id"]),
        ({"phases": [{"id": "a", "duration": 1}]}, []),
    ],
)
def test_a_broken_profile_fails_the_schema(data: object, where: list[object]) -> None:
    errors = list(schema_validator("profile").iter_errors(data))
    assert [list(e.absolute_path) for e in errors] == [where]


def test_the_example_room_validates(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted((ROOT / "profiles").glob("*.yaml")) + sorted(
        (ROOT / "playlists" / "default").iterdir()
    )
    assert files
    assert main(["--room", str(ROOT), "validate", *map(str, files)]) == 0
    assert capsys.readouterr() == (f"{len(files)} files OK\n", "")


def test_doctor_counts_the_problems_validate_prints_for_a_room(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from setandsetting.cli.formats import folder_problems

    root = tmp_path / "room"
    assert main(["--room", str(root), "init"]) == 0  # no demo music: every track missing
    capsys.readouterr()
    assert main(["--room", str(root), "validate", str(root)]) == 2
    printed = capsys.readouterr().err.splitlines()
    assert [str(p) for p in sort_problems(folder_problems(root))] == printed
    assert len(printed) > 6
