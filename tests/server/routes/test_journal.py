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


def test_the_clinical_record_over_the_api_and_the_pages(api: TestClient, room) -> None:  # type: ignore[no-untyped-def]
    from fhir.resources.R4B.bundle import Bundle

    from tests.support.daemon import start_still_session

    sid = start_still_session(api, room.folder)
    send_control(api, "dose", "ketamine 35mg route=im")
    send_control(api, "ack", "bp=150/95 hr=88 spo2=97")
    send_control(api, "stop")
    rems = api.get(f"/api/sessions/{sid}/export", params={"format": "rems"})
    assert rems.headers["content-disposition"].endswith(f'session-{sid}.rems.html"')
    assert (
        '<td class="label">Dose administered</td><td class="blank">' in rems.text
    )  # not esketamine
    fhir = api.get(f"/api/sessions/{sid}/export", params={"format": "fhir"})
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    kinds = [e.resource.get_resource_type() for e in Bundle.model_validate_json(fhir.text).entry]
    assert kinds == ["Encounter", "Procedure", "MedicationAdministration", *["Observation"] * 3]
    page = api.get(f"/review/{sid}")
    assert page.status_code == 200
    assert '<div id="vitals-chart"><svg' in page.text and 'class="bp"' in page.text
    assert '<td data-label="BP">150/95</td>' in page.text
    course = api.get("/patients/P-0042/course")
    assert course.status_code == 200 and f'<tr data-session="{sid}">' in course.text
    assert '<td data-label="dose">ketamine 35 mg im</td>' in course.text
    assert api.get("/patients/..%2Fx/course").status_code == 404
