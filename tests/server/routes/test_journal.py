"""The journal over the API: the sessions, one session's review and events, its exports."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.daemon import send_control, start_session


def test_sessions_review_and_exports(api: TestClient) -> None:
    start_session(api)
    send_control(api, "note", "review me")
    send_control(api, "stop")
    sessions = api.get("/api/sessions").json()
    assert len(sessions) == 1 and sessions[0]["end_reason"] == "stopped"
    sid = sessions[0]["id"]
    detail = api.get(f"/api/sessions/{sid}").json()
    assert detail["session"]["patient"] == "P-0042"
    assert "Phases" in [t["title"] for t in detail["review"]["tables"]]
    assert any(e["type"] == "note" and e["text"] == "review me" for e in detail["events"])
    csv = api.get(f"/api/sessions/{sid}/export", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("seq,session,patient,type,t,wall,data\n")
    assert csv.text.splitlines()[1].startswith(f"1,{sid},P-0042,session_started,")
    assert (
        api.get(f"/api/sessions/{sid}/export", params={"format": "json"}).json()["session"]["id"]
        == sid
    )
    html = api.get(f"/api/sessions/{sid}/export", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html") and "<svg" in html.text
    assert api.get(f"/api/sessions/{sid}/export", params={"format": "pdf"}).status_code == 400
    assert api.get("/api/sessions/nope").status_code == 404
