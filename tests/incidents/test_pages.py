"""The incident pages: a coordinator opens, scales, stands down and closes an incident."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlmodel import Session

from brigades.accounts.models import Role
from brigades.clock import ManualClock
from brigades.incidents.models import Incident, IncidentState
from tests.accounts.factories import csrf_token, make_user, sign_in
from tests.incidents.factories import make_incident, polygon


def _open(client: TestClient, **fields: object) -> Response:
    data: dict[str, object] = {
        "csrf_token": csrf_token(client),
        "kind": "code_zwart",
        "name": "Griepgolf Utrecht",
        "level": "2",
        "area_kind": "gemeenten",
        "gm_codes": ["GM0344", "GM0356"],
        "vr_code": "VR09",
    }
    data.update(fields)
    return client.post("/beheer/incidenten/nieuw", data=data)


def test_a_coordinator_opens_an_incident_for_gemeenten(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session))
    form = client.get("/beheer/incidenten/nieuw")
    assert form.status_code == 200 and 'value="GM0344"' in form.text
    assert 'value="GM0363"' not in form.text  # Amsterdam is not in VR09

    response = _open(client)
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "VR09-2026-001" in page.text and "Het incident is geopend." in page.text
    assert "Nieuwegein" in page.text and "Utrecht" in page.text
    assert "Geopend op niveau 2" in page.text  # the timeline
    assert client.get("/beheer/incidenten").text.count("VR09-2026-001") == 1


def test_a_bad_polygon_is_explained_on_the_form(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session))
    bowtie = [[5.10, 52.07], [5.14, 52.10], [5.14, 52.07], [5.10, 52.10], [5.10, 52.07]]
    response = _open(client, area_kind="polygon", polygon_geojson=polygon(bowtie))
    assert response.status_code == 422
    assert "kruist zichzelf" in response.text


def test_a_polygon_can_be_uploaded_as_a_file(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    sign_in(client, session, make_user(session))
    response = client.post(
        "/beheer/incidenten/nieuw",
        data={
            "csrf_token": csrf_token(client),
            "kind": "drill",
            "name": "Oefening binnenstad",
            "level": "1",
            "area_kind": "polygon",
            "vr_code": "VR09",
        },
        files={"polygon_file": ("gebied.geojson", polygon().encode(), "application/geo+json")},
    )
    assert response.status_code == 303, response.text
    assert "Getekend gebied" in client.get(response.headers["location"]).text


def test_overlap_needs_an_explicit_choice(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    make_incident(session, gm_codes=["GM0344"])
    session.commit()
    sign_in(client, session, make_user(session))
    refused = _open(client)
    assert refused.status_code == 409
    assert "allow_overlap" in refused.text and "VR09-2026-001" in refused.text
    allowed = _open(client, allow_overlap="ja")
    assert allowed.status_code == 303


def test_scale_stand_down_and_close_from_the_page(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    incident = make_incident(session)
    session.commit()
    sign_in(client, session, make_user(session))
    url = f"/beheer/incidenten/{incident.id}"

    assert (
        client.post(
            url + "/niveau", data={"csrf_token": csrf_token(client), "level": "3"}
        ).status_code
        == 303
    )
    assert "Niveau 1 &rarr; 3" in client.get(url).text
    empty = client.post(url + "/afschalen", data={"csrf_token": csrf_token(client)})
    assert empty.status_code == 422 and "reden" in empty.text
    done = client.post(
        url + "/afschalen", data={"csrf_token": csrf_token(client), "reason": "Voorbij"}
    )
    assert done.status_code == 303
    page = client.get(url).text
    assert "Wordt afgeschaald" in page and "Incident sluiten" in page
    assert client.post(url + "/sluiten", data={"csrf_token": csrf_token(client)}).status_code == 303
    session.expire_all()
    closed = session.get(Incident, incident.id)
    assert closed is not None and closed.state is IncidentState.CLOSED


def test_other_regions_and_roles(client: TestClient, session: Session, clock: ManualClock) -> None:
    elsewhere = make_incident(session, vr_code="VR13")
    own = make_incident(session, vr_code="VR09")
    session.commit()
    sign_in(client, session, make_user(session, role=Role.VIEWER))
    assert client.get(f"/beheer/incidenten/{elsewhere.id}").status_code == 404
    page = client.get(f"/beheer/incidenten/{own.id}")
    assert page.status_code == 200
    assert not re.search(r"Niveau opslaan|Afschalen<|Taak toevoegen", page.text)
    assert client.get("/beheer/incidenten/nieuw").status_code == 403
