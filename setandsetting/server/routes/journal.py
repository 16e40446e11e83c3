"""The journal: the list of sessions, one session's review and events, and its exports.

Reading the journal blocks (SQLite), so every route is a plain `def`. An unknown session is
the journal's UnknownSession (404); a journal that cannot be read its JournalError (503).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from setandsetting.journal.export import session_dict, to_csv, to_html, to_json
from setandsetting.journal.review import build_review, review_header, review_tables
from setandsetting.server.deps import Runner
from setandsetting.server.errors import ApiError

router = APIRouter(prefix="/api")
EXPORTS = {"csv": "text/csv", "json": "application/json", "html": "text/html"}


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
    if format not in EXPORTS:
        raise ApiError(400, "format is csv, json or html")
    summary = runner.journal.session(session_id)
    journaled = runner.journal.events(session_id)
    if format == "csv":
        body = to_csv(summary, journaled)
    elif format == "json":
        body = to_json(summary, journaled)
    else:
        body = to_html(build_review(summary, journaled), journaled)
    return Response(
        body,
        media_type=f"{EXPORTS[format]}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="session-{summary.id}.{format}"'},
    )
