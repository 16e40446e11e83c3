"""Safe YAML with a source map: plain data, exact 1-based positions, bounded aliases."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from setandsetting.core.problems import FormatError
from setandsetting.core.yamlsource import (
    MAX_ALIAS_NODES,
    decode_utf8,
    load_yaml,
    parse_yaml,
    read_text,
)


def problem_of(text: str, **kwargs: bool) -> str:
    with pytest.raises(FormatError) as caught:
        parse_yaml(text, "f.yaml", expect="write something", **kwargs)
    assert len(caught.value.problems) == 1
    return str(caught.value.problems[0])


def test_plain_data_and_positions_of_keys_and_values() -> None:
    doc = parse_yaml(
        "name: X\nphases:\n  - id: peak\n    level: {from: 35%, to: 50%}\n",
        "f.yaml",
        expect="",
    )
    assert doc.data == {
        "name": "X",
        "phases": [{"id": "peak", "level": {"from": "35%", "to": "50%"}}],
    }
    assert type(doc.data) is dict and type(doc.data["phases"]) is list
    assert doc.keys[("phases",)] == (2, 1)
    assert doc.values[("phases", 0)] == (3, 5)
    assert doc.keys[("phases", 0, "level")] == (4, 5)
    assert doc.values[("phases", 0, "level", "to")] == (4, 28)
    assert doc.key_pos(("phases", 0, "level", "from")) == (4, 13)
    # a path that was never written falls back to the nearest written parent
    assert doc.value_pos(("phases", 0, "checkins", 3)) == (3, 5)


def test_scalars_are_plain_python_values() -> None:
    doc = parse_yaml(
        "a: 0x10\nb: 1_000\nc: .inf\nd: ~\ne: true\nf: 2024-01-01\ng: 1:20:00\n"
        "h: !!str 12\ni: yes\n",
        "f.yaml",
        expect="",
    )
    assert doc.data == {
        "a": 16,
        "b": 1000,
        "c": float("inf"),
        "d": None,
        "e": True,
        "f": "2024-01-01",
        "g": "1:20:00",
        "h": "12",
        "i": "yes",
    }
    assert all(type(v) in (int, float, str, bool, type(None)) for v in doc.data.values())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "a: 1\nb: !!python/object/apply:os.system [ls]\n",
            "f.yaml:2:4: b: the tag `!!python/object/apply:os.system` is not allowed; "
            "write plain values (no tags)",
        ),
        (
            "a: !foo 3\n",
            "f.yaml:1:4: a: the tag `!foo` is not allowed; write plain values (no tags)",
        ),
        (
            "a: !!set {x: null}\n",
            "f.yaml:1:4: a: the tag `!!set` is not allowed; write plain values (no tags)",
        ),
        (
            "a: &x {b: 1}\nc:\n  <<: *x\n",
            "f.yaml:3:3: c: merge keys (<<) are not supported; write the keys out",
        ),
        ("a: 1\nb: 2\na: 3\n", "f.yaml:3:1: a: duplicate key `a` (first written at 1:1)"),
        (
            "a:\n  ? [1, 2]\n  : x\n",
            "f.yaml:2:5: a: a key must be a plain word, not a list or mapping",
        ),
        ("a: *x\n", "f.yaml:1:4: YAML syntax: this alias (*name) has no anchor (&name) before it"),
        ("a: &a [1, *a]\n", "f.yaml:1:11: a[1]: this alias refers to a list or mapping around it"),
        (
            "a: 1\n---\nb: 2\n",
            "f.yaml:2:1: YAML syntax: one YAML document per file: remove the second `---`",
        ),
        ("a:\n\tb: 1\n", "f.yaml:2:1: YAML syntax: tabs cannot indent YAML; use spaces"),
        ("a: b: c\n", "f.yaml:1:5: YAML syntax: a `:` here is not allowed; quote the value"),
        (
            "a: [1, 2\nb: 3\n",
            "f.yaml:2:2: YAML syntax: the `[` opened at 1:4 is not closed "
            "(expected ',' or ']', but got ':')",
        ),
        ("a: 1\nb: x\x07\n", "f.yaml:2:5: control character U+0007 is not allowed in YAML"),
        (
            "a: " + "[" * 100 + "]" * 100 + "\n",
            "f.yaml:1:67: YAML syntax: the data nests too deeply",
        ),
        ("", "f.yaml:1:1: the file is empty; write something"),
        ("  \n# only a comment\n", "f.yaml:1:1: the file is empty; write something"),
        ("~\n", "f.yaml:1:1: the file is empty; write something"),
    ],
)
def test_unsafe_or_broken_yaml_is_one_positioned_problem(text: str, expected: str) -> None:
    assert problem_of(text) == expected


def test_empty_may_be_allowed() -> None:
    doc = parse_yaml("# all defaults\n", "room.yaml", expect="", allow_empty=True)
    assert doc.data == {}


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        refs = ", ".join([f"*a{i - 1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_stops_at_the_alias_fast() -> None:
    started = time.perf_counter()
    message = problem_of(billion_laughs())
    elapsed = time.perf_counter() - started
    assert message == (
        f"f.yaml:5:10: a4[0]: aliases expand to more than {MAX_ALIAS_NODES} values "
        "(an alias bomb?); write the data out instead"
    )
    assert elapsed < 0.5


def test_aliases_within_the_bound_expand_and_point_at_the_alias() -> None:
    doc = parse_yaml("base: &b {x: 1, y: [2, 3]}\ncopy: *b\n", "f.yaml", expect="")
    assert doc.data["copy"] == {"x": 1, "y": [2, 3]}
    assert doc.data["copy"] is not doc.data["base"]
    assert doc.value_pos(("copy", "y", 0)) == (2, 7)


def test_non_utf8_byte_is_reported_where_it_stands() -> None:
    raw = "name: Ca\u00e9\nplace: Caf".encode() + b"\xe9 bar\n"
    with pytest.raises(FormatError) as caught:
        decode_utf8(raw, "f.yaml")
    assert str(caught.value) == "f.yaml:2:11: byte 0xe9 is not UTF-8; save the file as UTF-8"


def test_bom_is_dropped_and_bad_byte_after_it_is_still_exact() -> None:
    assert decode_utf8(b"\xef\xbb\xbfa: 1\n", "f") == "a: 1\n"
    with pytest.raises(FormatError, match=r"^f:1:4: byte 0xff"):
        decode_utf8(b"\xef\xbb\xbfa: \xff\n", "f")


def test_load_yaml_reads_files_and_names_unreadable_ones(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"a: [1, 2]\n")
    assert load_yaml(path, expect="").data == {"a": [1, 2]}
    with pytest.raises(FormatError) as caught:
        read_text(tmp_path / "missing.yaml")
    assert (
        str(caught.value) == f"{tmp_path / 'missing.yaml'}: cannot read: No such file or directory"
    )
