"""The room's esketamine profile rehearsed with --journal: a dose, readings (one above the
pre-dose threshold) and ready; then `log show`'s clinical tables exactly, the REMS form's
fields, and a FHIR export that parses as an R4B Bundle with the right codes and units."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from setandsetting.cli import main
from setandsetting.journal.rems import BLANK, rems_fields
from setandsetting.journal.review import build_review
from setandsetting.journal.store import Journal

REPO = Path(__file__).resolve().parents[2]
SESSION = "20261126-090000-P-0042"
CONTROLS = (
    "10m30s:ack bp=150/95 hr=88 spo2=98",  # the pre-dose check: above 140/90
    "14m:ack bp=138/86 hr=80",  # measured again before the dose, no check-in waiting
    "15m30s:dose esketamine 56mg lot=A123",
    "15m40s:ack dosing.0.0",
    "20m10s:ack dosing.1.0",
    "25m20s:dismiss dosing.2.0 56 mg: two devices",  # device 3 is for 84 mg only
    "26m:ack recheck.0 bp=136/84",  # the alert's recheck, 15 min after it
    "55m30s:ack bp=152/92 hr=84 spo2=97",  # 40 min after the dose
    "2h16m:ack discharge.0.0 bp=128/80 hr=72 sedation=5 dissociation=no",  # SpO2 skipped
    "2h20m:ready",
    "2h25m:stop",
)
SHOW = """\
Meds      opioids
First tx  no
Intention to rest and let go
Monitored 129.5 min from the first dose
Ready     2:20:00 (+2:04:30 from the dose)

Doses
  time     dose  medication  amount  route       lot
  0:15:30  1     esketamine  56 mg   intranasal  A123

Vitals
  time     from dose  check-in       BP      HR  SpO2  RR  MOAA/S  dissoc.  note
  0:10:30  -0:05:00   arrival.0.0    150/95  88  98
  0:14:00  -0:01:30   (no check-in)  138/86  80
  0:26:00  +0:10:30   recheck.0      136/84
  0:55:30  +0:40:00   peak.0.0       152/92  84  97
  2:16:00  +2:00:30   discharge.0.0  128/80  72            5       no       not taken: spo2

Alerts
  time     alert                                                      value   threshold
  0:10:30  BP 150/95 above 140/90 before the dose: consider delaying  150/95  140/90
"""


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's esketamine profile in a room of its own (no playlists: silent)."""
    root = tmp_path_factory.mktemp("room")
    (root / "profiles").mkdir()
    shutil.copy(REPO / "profiles" / "esketamine-intranasal.yaml", root / "profiles")
    argv = ["--room", str(root), "rehearse", "esketamine-intranasal", "--patient", "P-0042"]
    argv += ["--journal", "--start", "2026-11-26T09:00:00+00:00", "--meds", "opioids"]
    argv += ["--first", "no", "--intention", "to rest and let go"]
    for control in CONTROLS:
        argv += ["--control", control]
    assert main(argv) == 0
    return root


def _cli(room: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["--room", str(room), "log", *args]) == 0
    return capsys.readouterr().out


def test_log_show_has_the_clinical_record_exactly(
    room: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _cli(room, capsys, "show", SESSION)
    rest = out[out.index("Ended") :].partition("\n")[2]  # the clinical header lines on
    clinical = rest[: rest.index("\nPhases")] + "\n" + rest[rest.index("\nDoses") + 1 :]
    assert clinical == SHOW
    assert "  0:25:00  dosing  device  dismissed after 20s: 56 mg: two devices" in out


def test_the_rems_form_has_every_field_from_the_journal_and_blanks_marked(room: Path) -> None:
    with Journal.open(room / "sessions.db", create=False) as journal:
        review = build_review(journal.session(SESSION), journal.events(SESSION))
    assert [(f.label, f.value) for f in rems_fields(review)] == [
        ("Patient name", None),
        ("Date of birth", None),
        ("Patient ID (pseudonymous)", "P-0042"),
        ("Healthcare setting name", None),
        ("Healthcare setting REMS ID", None),
        ("Prescriber name", None),
        ("Date of treatment session", "2026-11-26"),
        ("Is this the patient's first treatment session?", "No"),
        ("Benzodiazepines", "No"),
        ("Non-benzodiazepine sedative-hypnotics", "No"),
        ("Psychostimulants (e.g. amphetamines, methylphenidate, modafinil)", "No"),
        ("Monoamine oxidase inhibitors (MAOIs)", "No"),
        ("Opioids", "Yes"),
        ("Dose administered", "56 mg"),
        ("Device lot number(s)", "A123"),
        ("Time of first device", "09:15 UTC"),
        ("Before the dose", "138/86 mm[Hg] at 09:14 UTC, 1.5 min before the first dose"),
        ("About 40 minutes after the dose",
         "152/92 mm[Hg] at 09:55 UTC, 40 min after the first dose"),
        ("Before the patient left", "128/80 mm[Hg] at 11:16 UTC, 120.5 min after the first dose"),
        ("Pulse oximetry during the session", "spo2 97-98% (2 readings)"),
        ("Total monitoring time from the first device (minutes; at least 120)", "129.5"),
        ("Sedation (MOAA/S below 5)", "No"),
        ("Dissociation", "No"),
        ("Respiratory depression (judge by hand: spo2 97-98% (2 readings); no rr journaled)",
         None),
        ("Blood pressure increase that required attention",
         "BP 150/95 above 140/90 before the dose: consider delaying at 0:10:30"),
        ("If there were no 2-hour minimum, when would this patient have been ready to leave?",
         "124.5 minutes after the first device"),
        ("Stopped before the discharge floor, because", None),
        ("Healthcare provider name and signature", None),
        ("Date", None),
    ]  # fmt: skip


def test_the_rems_export_is_a_printable_page_with_the_blanks_marked(
    room: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = _cli(room, capsys, "export", SESSION, "--format", "rems")
    assert page.startswith("<!doctype html>")
    assert page.count(f'<td class="blank">{BLANK}</td>') == 9
    assert '<td class="value">129.5</td>' in page


def test_the_fhir_export_is_an_r4b_bundle_with_coded_vital_signs(
    room: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = Bundle.model_validate_json(_cli(room, capsys, "export", SESSION, "--format", "fhir"))
    assert bundle.type == "collection"
    resources = [e.resource for e in bundle.entry]
    kinds = [r.get_resource_type() for r in resources]
    assert kinds[:3] == ["Encounter", "Procedure", "MedicationAdministration"]
    encounter, _, dose = resources[:3]
    assert encounter.subject.identifier.value == "P-0042" and encounter.subject.reference is None
    assert (dose.dosage.dose.value, dose.dosage.dose.code, dose.dosage.route.text) == (
        56,
        "mg",
        "intranasal",
    )
    assert dose.contained[0].batch.lotNumber == "A123"
    observations = []
    for obs in resources[3:]:
        codes = tuple(c.code for c in obs.code.coding or [])
        if obs.component:
            values = tuple(
                (c.code.coding[0].code, c.valueQuantity.value, c.valueQuantity.code)
                for c in obs.component
            )
        elif obs.valueQuantity is not None:
            values = ((obs.valueQuantity.value, obs.valueQuantity.code),)
        else:
            values = (obs.valueInteger if obs.valueInteger is not None else obs.valueBoolean,)
        category = obs.category[0].coding[0].code
        observations.append((obs.effectiveDateTime.isoformat()[11:19], category, codes, values))
    bp = ("85354-9",)
    spo2 = ("2708-6", "59408-5")
    assert observations == [
        ("09:10:30", "vital-signs", bp, (("8480-6", 150, "mm[Hg]"), ("8462-4", 95, "mm[Hg]"))),
        ("09:10:30", "vital-signs", ("8867-4",), ((88, "/min"),)),
        ("09:10:30", "vital-signs", spo2, ((98, "%"),)),
        ("09:14:00", "vital-signs", bp, (("8480-6", 138, "mm[Hg]"), ("8462-4", 86, "mm[Hg]"))),
        ("09:14:00", "vital-signs", ("8867-4",), ((80, "/min"),)),
        ("09:26:00", "vital-signs", bp, (("8480-6", 136, "mm[Hg]"), ("8462-4", 84, "mm[Hg]"))),
        ("09:55:30", "vital-signs", bp, (("8480-6", 152, "mm[Hg]"), ("8462-4", 92, "mm[Hg]"))),
        ("09:55:30", "vital-signs", ("8867-4",), ((84, "/min"),)),
        ("09:55:30", "vital-signs", spo2, ((97, "%"),)),
        ("11:16:00", "vital-signs", bp, (("8480-6", 128, "mm[Hg]"), ("8462-4", 80, "mm[Hg]"))),
        ("11:16:00", "vital-signs", ("8867-4",), ((72, "/min"),)),
        ("11:16:00", "exam", (), (5,)),
        ("11:16:00", "exam", (), (False,)),
    ]


def test_log_list_json_and_the_patients_course(
    room: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert json.loads(_cli(room, capsys, "list", "--json")) == [
        {
            "id": SESSION,
            "patient": "P-0042",
            "profile": "Intranasal esketamine, two-hour observation",
            "started": "2026-11-26T09:00:00+00:00",
            "ended": "2026-11-26T11:25:00+00:00",
            "reason": "stopped",
        }
    ]
    assert _cli(room, capsys, "patient", "P-0042").splitlines()[4:14] == [
        "  dose                 esketamine 56 mg intranasal lot A123",
        "  BP at dose           138/86",
        "  BP +40m              152/92",
        "  BP end               128/80",
        "  MOAA/S min           5",
        "  alerts               BP 150/95 above 140/90 before the dose: consider delaying",
        "  monitored min        129.5",
        "  intention and notes  to rest and let go",
        "  music played         -",
        "  avoided              -",
    ]
