"""The README's architecture section and event list are the tree's and the code's own."""

from __future__ import annotations

import ast
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


def test_each_folder_imports_only_itself_and_the_folders_above_it() -> None:
    order = re.findall(r"^\| `(\w+)/` \|", _section("## Architecture"), re.MULTILINE)
    upward = []
    for index, folder in enumerate(order):
        allowed = set(order[: index + 1])
        for path in sorted((REPO / "setandsetting" / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                for name in names:
                    parts = [*name.split("."), ""]
                    if parts[0] == "setandsetting" and parts[1] in set(order) - allowed:
                        upward.append(f"{path.relative_to(REPO)} imports {name}")
    assert upward == []
