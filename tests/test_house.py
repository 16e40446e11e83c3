"""The README's architecture section and event list are the tree's and the code's own."""

from __future__ import annotations

import re
from pathlib import Path

from setandsetting.core.events import EVENT_TYPES, TRACK_END_REASONS

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n#", start + len(title))
    return README[start : end if end >= 0 else None]


def test_every_folder_of_the_package_is_in_the_architecture_table_and_only_those() -> None:
    table = _section("## Architecture")
    listed = re.findall(r"^\| `(\w+)/` \|", table, re.MULTILINE)
    package = REPO / "setandsetting"
    folders = sorted(p.name for p in package.iterdir() if (p / "__init__.py").is_file())
    assert sorted(listed) == folders
    loose = sorted(p.name for p in package.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py"]  # nothing else at the package root


def test_the_readme_lists_exactly_the_event_vocabulary() -> None:
    events = _section("### Events")
    types_part, reasons_part = events.split("(a test holds this list to it):")[1].split(
        "A `track_ended` reason is one of"
    )
    assert set(re.findall(r"`(\w+)`", types_part)) == set(EVENT_TYPES)
    assert set(re.findall(r"`(\w+)`", reasons_part)) == set(TRACK_END_REASONS)
