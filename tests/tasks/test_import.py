"""Bulk import from CSV: the template, broken files that change nothing, per-row reports,
the two modes, size limits, and 10,000 rows in well under ten seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlmodel import Session, col, func, select

from brigades.accounts.models import Role, TokenKind
from brigades.audit.models import AuditEvent
from brigades.clock import ManualClock
from brigades.tasks.imports import SessionFactory
from brigades.tasks.models import CareTask, TaskImport
from tests.accounts.factories import bearer, make_organisation, make_token, make_user
from tests.conftest import make_settings
from tests.incidents.factories import make_incident

TEMPLATE = Path(__file__).resolve().parents[2] / "docs" / "taken-sjabloon.csv"
HEADER = (
    "type;postcode;huisnummer;straat;plaats;datum;van;tot;duur_minuten;aantal;prioriteit;"
    "omschrijving;contact_instructie;externe_referentie"
)


def row(
    postcode: str = "3512 JK",
    ref: str = "",
    *,
    type_code: str = "boodschappen",
    date: str = "24-11-2026",
    description: str = "Boodschappen halen",
) -> str:
    return (
        f"{type_code};{postcode};12;Oudegracht;Utrecht;{date};10:00;12:00;45;1;normaal;"
        f"{description};Bel aan;{ref}"
    )


def csv_bytes(*rows: str, header: str = HEADER, bom: bool = True) -> bytes:
    text = "\r\n".join([header, *rows]) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


CP1252 = csv_bytes(row(), bom=False).decode().replace("Oudegracht", "Caf\u00e9").encode("cp1252")
UTF16 = (HEADER + "\r\n" + row()).encode("utf-16")


@pytest.fixture
def auth(session: Session, clock: ManualClock) -> dict[str, str]:
    return bearer(make_token(session, make_user(session))[0])


@pytest.fixture
def incident_id(session: Session, clock: ManualClock) -> int:
    incident = make_incident(session, vr_code="VR09")
    session.commit()
    assert incident.id is not None
    return incident.id


def upload(
    client: TestClient,
    incident_id: int,
    data: bytes,
    auth: dict[str, str],
    mode: str = "all_or_nothing",
    name: str = "taken.csv",
) -> Response:
    return client.post(
        f"/api/v1/incidents/{incident_id}/tasks/import",
        files={"file": (name, data, "text/csv")},
        data={"mode": mode},
        headers=auth,
    )


def tasks(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(CareTask)).one())


def imports(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(TaskImport)).one())


def finished(client: TestClient, response: Response, auth: dict[str, str]) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    status = client.get(response.json()["status_url"], headers=auth)
    assert status.status_code == 200
    body: dict[str, Any] = status.json()
    return body


def test_the_documented_template_imports(
    client: TestClient,
    session: Session,
    job_sessions: SessionFactory,
    auth: dict[str, str],
    incident_id: int,
) -> None:
    result = finished(client, upload(client, incident_id, TEMPLATE.read_bytes(), auth), auth)

    assert result["state"] == "done", result
    assert result["imported_rows"] == 3 and result["errors"] == []
    assert result["progress_percent"] == 100
    listed = client.get(f"/api/v1/incidents/{incident_id}/tasks", headers=auth).json()
    assert [t["external_reference"] for t in listed] == ["ZA-1001", "ZA-1002", "ZA-1003"]
    assert {t["type_code"] for t in listed} == {"boodschappen", "gezelschap", "vervoer_afspraak"}
    created = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "task.created")).all()
    assert len(created) == 3 and created[0].detail["via"] == "import"


def test_comma_separated_without_bom_with_quotes(
    client: TestClient,
    session: Session,
    job_sessions: SessionFactory,
    auth: dict[str, str],
    incident_id: int,
) -> None:
    header = HEADER.replace(";", ",")
    line = (
        "boodschappen,3512 JK,12,Oudegracht,Utrecht,2026-11-24,9.30,11.00,30,2,hoog,"
        '"Boodschappen, brood en melk",,'
    )
    result = finished(
        client, upload(client, incident_id, csv_bytes(line, header=header, bom=False), auth), auth
    )
    assert result["state"] == "done" and result["imported_rows"] == 1
    task = session.exec(select(CareTask)).one()
    assert task.description == "Boodschappen, brood en melk" and task.slots == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "leeg"),
        (b"\xef\xbb\xbf\r\n", "leeg"),
        (csv_bytes(), "alleen een kopregel"),
        (CP1252, "geen UTF-8"),
        (UTF16, "UTF-16"),
        (b"PK\x03\x04" + b"\x00" * 100, "Excel"),
        (csv_bytes(row(), header=HEADER.replace(";huisnummer", "")), "ontbreken: huisnummer"),
        (csv_bytes(row(), header=HEADER.replace("huisnummer", "huisnr")), "Bedoel je 'huisnummer'"),
        (csv_bytes(row(), header=HEADER + ";type"), "dubbel"),
    ],
    ids=["empty", "bom-only", "header-only", "cp1252", "utf16", "xlsx", "missing", "typo", "dup"],
)
def test_broken_files_are_refused_and_nothing_is_written(
    client: TestClient,
    session: Session,
    job_sessions: SessionFactory,
    auth: dict[str, str],
    incident_id: int,
    data: bytes,
    message: str,
) -> None:
    response = upload(client, incident_id, data, auth)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "file"
    assert message in response.json()["detail"]
    assert tasks(session) == 0 and imports(session) == 0


def test_bad_rows_are_reported_and_nothing_is_written(
    client: TestClient,
    session: Session,
    job_sessions: SessionFactory,
    auth: dict[str, str],
    incident_id: int,
) -> None:
    data = csv_bytes(
        row(ref="A1"),
        row("9999 ZZ", "A2"),
        row("1000", "A3"),
        row("1012 AB", "A4"),
        row(ref="A1"),
        row(date="31-02-2026", ref="A6"),
        row(description="Mevrouw heeft dementie", ref="A7"),
    )
    result = finished(client, upload(client, incident_id, data, auth), auth)

    assert result["state"] == "failed" and result["imported_rows"] == 0
    assert result["error_rows"] == 6 and "niets geïmporteerd" in result["message"]
    problems = {(e["row"], e["column"]) for e in result["errors"]}
    assert problems == {
        (3, "postcode"),
        (4, "postcode"),
        (5, "postcode"),
        (6, "externe_referentie"),
        (7, "datum"),
        (8, "omschrijving"),
    }
    by_row = {e["row"]: e["message"] for e in result["errors"]}
    assert "postbussen" in by_row[4] and "niet in Utrecht" in by_row[5]
    assert tasks(session) == 0


def test_valid_rows_mode_imports_the_good_ones(
    client: TestClient,
    session: Session,
    job_sessions: SessionFactory,
    auth: dict[str, str],
    incident_id: int,
) -> None:
    data = csv_bytes(row(ref="B1"), row("9999 ZZ", "B2"), row(ref="B3"))
    result = finished(client, upload(client, incident_id, data, auth, mode="valid_rows"), auth)
    assert result["state"] == "done"
    assert result["imported_rows"] == 2 and result["error_rows"] == 1
    assert [(e["row"], e["column"]) for e in result["errors"]] == [(3, "postcode")]
    refs = session.exec(select(CareTask.external_reference).order_by(col(CareTask.id))).all()
    assert refs == ["B1", "B3"]


def test_too_many_rows_is_refused(
    app: FastAPI,
    client: TestClient,
    session: Session,
    job_sessions: SessionFactory,
    auth: dict[str, str],
    incident_id: int,
    database_url: str,
) -> None:
    app.state.settings = make_settings(database_url, task_import_max_rows=3)
    response = upload(client, incident_id, csv_bytes(*[row() for _ in range(4)]), auth)
    assert response.status_code == 422 and "meer dan 3 taken" in response.json()["detail"]
    assert imports(session) == 0


def test_a_100_mb_upload_is_refused_before_it_is_read(
    client: TestClient, session: Session, auth: dict[str, str], incident_id: int
) -> None:
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        chunk = b"x" * (1024 * 1024)
        for _ in range(100):
            sent += len(chunk)
            yield chunk

    url = f"/api/v1/incidents/{incident_id}/tasks/import"
    declared = client.post(
        url,
        content=body(),
        headers={
            **auth,
            "content-type": "multipart/form-data; boundary=x",
            "content-length": str(100 * 1024 * 1024),
        },
    )
    assert declared.status_code == 413
    assert sent <= 2 * 1024 * 1024  # refused on the header, not after reading it all
    assert imports(session) == 0


def test_a_streamed_upload_without_length_is_cut_off(
    client: TestClient, session: Session, auth: dict[str, str], incident_id: int
) -> None:
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield (
            b'--x\r\nContent-Disposition: form-data; name="file"; filename="groot.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n"
        )
        chunk = b"x" * (1024 * 1024)
        for _ in range(100):
            sent += len(chunk)
            yield chunk

    response = client.post(
        f"/api/v1/incidents/{incident_id}/tasks/import",
        content=body(),
        headers={**auth, "content-type": "multipart/form-data; boundary=x"},
    )
    # (The test client drains the rest of the stream itself; the app stopped at the limit.)
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert sent > 0 and imports(session) == 0


def test_other_routes_keep_the_small_limit(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/incidents", content=b"{" + b" " * 2_000_000 + b"}", headers=auth
    )
    assert response.status_code == 413


def test_a_care_organisation_imports_as_itself(
    client: TestClient,
    session: Session,
    job_sessions: SessionFactory,
    incident_id: int,
) -> None:
    mine = make_organisation(session, name="Thuiszorg Noord")
    theirs = make_organisation(session, name="Thuiszorg Zuid")

    def key(organisation_id: int | None) -> dict[str, str]:
        user = make_user(session, role=Role.CARE_ORGANISATION, organisation_id=organisation_id)
        return bearer(make_token(session, user, kind=TokenKind.API_KEY)[0])

    own = key(mine.id)
    response = upload(client, incident_id, csv_bytes(row(ref="C1")), own)
    result = finished(client, response, own)
    assert result["state"] == "done"
    assert session.exec(select(CareTask.organisation_id)).one() == mine.id
    other = client.get(response.json()["status_url"], headers=key(theirs.id))
    assert other.status_code == 404


def test_ten_thousand_rows_in_under_ten_seconds(
    client: TestClient,
    session: Session,
    job_sessions: SessionFactory,
    auth: dict[str, str],
    incident_id: int,
) -> None:
    postcodes = ["3512 JK", "3581 AB", "3701 AA", "3811 AA", "3431 AA"]
    lines = [row(postcodes[i % len(postcodes)], f"R{i}") for i in range(10_000)]
    data = csv_bytes(*lines)

    started = time.perf_counter()
    response = upload(client, incident_id, data, auth)  # the job runs before this returns
    elapsed = time.perf_counter() - started

    result = finished(client, response, auth)
    print(f"\n10,000-row import: {elapsed:.2f} s ({len(data) / 1e6:.1f} MB)")
    assert result["state"] == "done", result["message"]
    assert result["imported_rows"] == 10_000 and tasks(session) == 10_000
    assert elapsed < 10.0
