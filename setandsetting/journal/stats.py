"""`log stats`: how sessions went across the journal, aggregated inside SQLite.

SQL (json_extract over the events table) rather than loading every event into Python,
so a clinic's years of sessions summarise in well under a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from setandsetting.core.units import format_duration
from setandsetting.journal.review import text_table
from setandsetting.journal.store import Journal


@dataclass(frozen=True, slots=True)
class PhaseStats:
    phase: str
    sessions: int  # sessions in which the phase started
    extended: int  # of those, sessions in which it was extended
    mean_extension_s: float | None  # mean total extension per extended session
    advanced_early: int  # sessions in which it was left early


@dataclass(frozen=True, slots=True)
class LogStats:
    sessions: int
    acknowledged: int
    ack_latency_mean_s: float | None
    ack_latency_p90_s: float | None  # nearest-rank 90th percentile
    checkins_due: int
    checkins_missed: int
    checkins_dismissed: int
    errors: int
    phases: tuple[PhaseStats, ...]

    @property
    def errors_per_session(self) -> float:
        return self.errors / self.sessions if self.sessions else 0.0


def compute_stats(journal: Journal, patient: str | None = None) -> LogStats:
    """Aggregate the whole journal, or one patient's sessions."""
    scope, params = "", ()
    if patient is not None:
        scope, params = " AND session_id IN (SELECT id FROM sessions WHERE patient = ?)", (patient,)

    def one(sql: str, extra: tuple[object, ...] = ()) -> tuple[object, ...]:
        return journal.query(sql, params + extra)[0]

    (sessions,) = journal.query(
        "SELECT count(*) FROM sessions" + (" WHERE patient = ?" if patient else ""), params
    )[0]
    latency = (
        "SELECT json_extract(data, '$.latency_s') AS v FROM events "
        "WHERE type = 'checkin_acknowledged' AND v IS NOT NULL" + scope
    )
    acknowledged, mean = one(f"SELECT count(*), avg(v) FROM ({latency})")
    p90 = None
    if acknowledged:
        rank = math.ceil(0.9 * acknowledged) - 1
        (p90,) = one(f"SELECT v FROM ({latency}) ORDER BY v LIMIT 1 OFFSET ?", (rank,))
    counts = dict(
        journal.query(
            "SELECT type, count(*) FROM events WHERE type IN "
            "('checkin_due', 'checkin_missed', 'checkin_dismissed', 'error')"
            + scope
            + " GROUP BY type",
            params,
        )
    )
    per_phase = (
        "SELECT json_extract(data, '$.phase') AS phase, count(DISTINCT session_id) "
        "FROM events WHERE type = ?" + scope + " GROUP BY phase"
    )
    started = journal.query(per_phase, ("phase_started", *params))
    advanced = dict(journal.query(per_phase, ("phase_advanced", *params)))
    extended = {
        phase: (n, avg)
        for phase, n, avg in journal.query(
            "SELECT phase, count(*), avg(total) FROM (SELECT session_id, "
            "json_extract(data, '$.phase') AS phase, sum(json_extract(data, '$.by_s')) AS total "
            "FROM events WHERE type = 'phase_extended'" + scope + " GROUP BY session_id, phase) "
            "GROUP BY phase",
            params,
        )
    }
    phases = tuple(
        PhaseStats(
            phase=str(phase),
            sessions=n,
            extended=extended.get(phase, (0, None))[0],
            mean_extension_s=extended.get(phase, (0, None))[1],
            advanced_early=advanced.get(phase, 0),
        )
        for phase, n in sorted(started, key=lambda row: (-row[1], str(row[0])))
    )
    return LogStats(
        sessions=sessions,
        acknowledged=acknowledged,
        ack_latency_mean_s=mean,
        ack_latency_p90_s=p90,
        checkins_due=counts.get("checkin_due", 0),
        checkins_missed=counts.get("checkin_missed", 0),
        checkins_dismissed=counts.get("checkin_dismissed", 0),
        errors=counts.get("error", 0),
        phases=phases,
    )


def render_stats(stats: LogStats) -> str:
    def secs(value: float | None) -> str:
        return "-" if value is None else format_duration(value)

    lines = [
        f"sessions                 {stats.sessions}",
        f"check-ins due            {stats.checkins_due}",
        f"  acknowledged           {stats.acknowledged}",
        f"  missed                 {stats.checkins_missed}",
        f"  dismissed              {stats.checkins_dismissed}",
        f"  ack latency mean       {secs(stats.ack_latency_mean_s)}",
        f"  ack latency p90        {secs(stats.ack_latency_p90_s)}",
        f"errors                   {stats.errors} ({stats.errors_per_session:.2f} per session)",
        "",
    ]
    rows = [["phase", "sessions", "extended", "mean extension", "left early"]]
    for p in stats.phases:
        share = f"{p.extended} ({100 * p.extended / p.sessions:.0f}%)" if p.sessions else "0"
        rows.append(
            [p.phase, str(p.sessions), share, secs(p.mean_extension_s), str(p.advanced_early)]
        )
    lines += text_table(rows)
    return "\n".join(lines) + "\n"
