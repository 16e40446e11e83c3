"""What is wrong with a user's file, and where: `FILE:LINE:COL: field.path: message`.

Every format error the program reports is a Problem, so editors and clinicians can jump to
the exact place; FormatError carries all of a file's problems at once, not just the first.
"""

from __future__ import annotations

from dataclasses import dataclass

FieldPath = tuple[str | int, ...]


def format_path(path: FieldPath) -> str:
    """('phases', 2, 'checkins', 0, 'from') -> `phases[2].checkins[0].from`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True)
class Problem:
    """One problem; `line`/`col` are 1-based, None when the file could not be read at all."""

    file: str
    line: int | None
    col: int | None
    path: FieldPath
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}:{self.col or 1}"
        what = f"{format_path(self.path)}: {self.message}" if self.path else self.message
        return f"{where}: {what}"


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """By file, then position (unpositioned first), then message: a stable, readable order."""
    return sorted(problems, key=lambda p: (p.file, p.line or 0, p.col or 0, p.message))


class FormatError(Exception):
    """A file that cannot be used as written; `problems` lists everything found, sorted."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sort_problems(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
