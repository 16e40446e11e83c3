"""Problems read as `FILE:LINE:COL: field.path: message`, sorted by position."""

from __future__ import annotations

from setandsetting.core.problems import FormatError, Problem, format_path


def test_path_rendering() -> None:
    assert format_path(("phases", 2, "checkins", 0, "from")) == "phases[2].checkins[0].from"
    assert format_path(()) == ""
    assert format_path(("limits", "max_level")) == "limits.max_level"


def test_problem_text() -> None:
    assert (
        str(Problem("p.yaml", 3, 7, ("phases", 0, "id"), "bad")) == "p.yaml:3:7: phases[0].id: bad"
    )
    assert str(Problem("p.yaml", 1, 1, (), "empty")) == "p.yaml:1:1: empty"
    assert str(Problem("p.yaml", None, None, (), "cannot read")) == "p.yaml: cannot read"


def test_format_error_keeps_all_problems_in_position_order() -> None:
    late = Problem("p.yaml", 9, 1, (), "late")
    early = Problem("p.yaml", 2, 5, ("a",), "early")
    same_line = Problem("p.yaml", 2, 3, ("b",), "first on its line")
    error = FormatError([late, early, same_line])
    assert error.problems == [same_line, early, late]
    assert str(error).splitlines() == [
        "p.yaml:2:3: b: first on its line",
        "p.yaml:2:5: a: early",
        "p.yaml:9:1: late",
    ]
