from datetime import UTC, datetime
from pathlib import Path

import pytest

from setandsetting.journal.stats import PhaseStats, compute_stats, render_stats
from setandsetting.journal.store import Journal
from tests.journal.synthetic import PLAN, journal_session


@pytest.fixture
def journal(tmp_path: Path):
    with Journal.open(tmp_path / "sessions.db") as journal:
        journal_session(journal)  # P0042: ack 42.5 s, one missed, peak +10m, one error
        other = journal.begin_session(
            "P0043", "p.yaml", "P", datetime(2026, 11, 27, 9, tzinfo=UTC), PLAN
        )
        for event in [
            {"type": "phase_started", "t": 0.0, "phase": "peak", "planned_t": 0.0},
            {"type": "checkin_due", "t": 60.0, "id": "a"},
            {"type": "checkin_acknowledged", "t": 70.0, "id": "a", "latency_s": 10.0},
            {"type": "checkin_due", "t": 120.0, "id": "b"},
            {"type": "checkin_acknowledged", "t": 140.0, "id": "b", "latency_s": 20.0},
            {"type": "checkin_due", "t": 180.0, "id": "c"},
            {"type": "checkin_acknowledged", "t": 280.0, "id": "c", "latency_s": 100.0},
            {"type": "phase_extended", "t": 300.0, "phase": "peak", "by_s": 200.0},
            {"type": "phase_extended", "t": 400.0, "phase": "peak", "by_s": 100.0},
            {"type": "checkin_due", "t": 420.0, "id": "d"},
            {"type": "checkin_dismissed", "t": 450.0, "id": "d", "reason": "taken by hand"},
        ]:
            journal.append(other, event)
        yield journal


def test_stats_across_sessions(journal: Journal) -> None:
    stats = compute_stats(journal)
    assert stats.sessions == 2
    assert stats.acknowledged == 4
    assert stats.ack_latency_mean_s == pytest.approx((10 + 20 + 42.5 + 100) / 4)
    assert stats.ack_latency_p90_s == 100.0  # nearest rank: 4th of 4
    assert (stats.checkins_due, stats.checkins_missed, stats.checkins_dismissed) == (6, 1, 1)
    assert (stats.errors, stats.errors_per_session) == (1, 0.5)
    assert stats.phases == (
        PhaseStats("peak", sessions=2, extended=2, mean_extension_s=450.0, advanced_early=0),
        PhaseStats("arrival", 1, 0, None, 0),
        PhaseStats("integration", 1, 0, None, 0),
        PhaseStats("return", 1, 0, None, 1),
    )


def test_stats_for_one_patient(journal: Journal) -> None:
    stats = compute_stats(journal, patient="P0043")
    assert (stats.sessions, stats.acknowledged, stats.ack_latency_p90_s) == (1, 3, 100.0)
    assert stats.ack_latency_mean_s == pytest.approx(130 / 3)
    assert stats.phases == (PhaseStats("peak", 1, 1, 300.0, 0),)
    assert stats.errors == 0


def test_stats_text(journal: Journal) -> None:
    assert render_stats(compute_stats(journal)) == (
        "sessions                 2\n"
        "check-ins due            6\n"
        "  acknowledged           4\n"
        "  missed                 1\n"
        "  dismissed              1\n"
        "  ack latency mean       43s\n"
        "  ack latency p90        1m40s\n"
        "errors                   1 (0.50 per session)\n"
        "\n"
        "phase        sessions  extended  mean extension  left early\n"
        "peak         2         2 (100%)  7m30s           0\n"
        "arrival      1         0 (0%)    -               0\n"
        "integration  1         0 (0%)    -               0\n"
        "return       1         0 (0%)    -               1\n"
    )


def test_stats_of_an_empty_journal(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "sessions.db") as journal:
        stats = compute_stats(journal)
    assert (stats.sessions, stats.acknowledged, stats.ack_latency_p90_s) == (0, 0, None)
    assert stats.errors_per_session == 0.0 and stats.phases == ()
