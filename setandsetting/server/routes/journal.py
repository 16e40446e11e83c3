"""The journal: the list of sessions, one session's review and events, and its exports.

Reading the journal blocks (SQLite), so every route is a plain `def`. An unknown session is
the journal's UnknownSession (404); a journal that cannot be read its JournalError (503).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from setandsetting.journal.export import FORMATS, export, session_dict
from setandsetting.journal.review import build_review, review_header, review_tables
from setandsetting.server.deps import Runner
from setandsetting.server.errors import ApiError

router = APIRouter(prefix="/api")


@router.get("/sessions")
def get_sessions(runner: Runner) -> list[dict[str, Any]]:
    out = []
    for summary in runner.journal.sessions():
        item = session_dict(summary)
        item.pop("plan", None)
        item["running"] = summary.id == runner.session_id and runner.running
        out.append(item)
    return out


@router.get("/sessions/{session_id}")
def get_session(runner: Runner, session_id: str) -> dict[str, Any]:
    summary = runner.journal.session(session_id)
    journaled = runner.journal.events(session_id)
    review = build_review(summary, journaled)
    return {
        "session": session_dict(summary),
        "review": {
            "header": [{"label": k, "value": v} for k, v in review_header(review)],
            "tables": [
                {"title": title, "columns": columns, "rows": rows}
                for title, columns, rows in review_tables(review)
            ],
        },
        "events": journaled,
    }


@router.get("/sessions/{session_id}/export")
def get_export(runner: Runner, session_id: str, format: str = "json") -> Response:
    if format not in FORMATS:
        raise ApiError(400, f"format is one of {', '.join(FORMATS)}")
    summary = runner.journal.session(session_id)
    body = export(format, summary, runner.journal.events(session_id))
    media, suffix = FORMATS[format]
    return Response(
        body,
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="session-{summary.id}.{suffix}"'},
    )
