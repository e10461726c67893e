"""Erasure also removes the vetting checks (registered eraser); the export shows them first."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, select

import brigades.models  # noqa: F401  (every table registered in the metadata)
from brigades.clock import ManualClock
from brigades.privacy import service as privacy
from brigades.settings import Settings
from brigades.skills.models import EvidenceKind
from brigades.vetting import service as vetting_service
from brigades.vetting.models import VettingCheck
from brigades.volunteers.models import Volunteer
from tests.accounts.factories import make_support_point
from tests.vetting.factories import (
    coordinator,
    days_ago,
    refreshed,
    scope_of,
    see_evidence,
    see_identity,
)
from tests.volunteers.factories import PHONE_E164, api_volunteer, bearer

TRACES = (PHONE_E164, "Zeldzaamnaam", "12345678901", "VOG-kenmerk-Zeldzaam")


def _traces_left(session: Session) -> list[str]:
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for row in session.execute(select(table)).all():
            text = " | ".join(str(v) for v in row)
            found += [f"{table.name}: {t!r}" for t in TRACES if t in text]
    return found


def test_erasure_removes_every_vetting_check(
    client: TestClient, session: Session, clock: ManualClock, settings: Settings
) -> None:
    point = make_support_point(session)
    session.commit()
    token = api_volunteer(client, session, support_point_id=point.id)
    volunteer = session.exec(select(Volunteer).where(Volunteer.phone == PHONE_E164)).one()
    user = coordinator(session, point)
    see_identity(session, volunteer, user)
    vetting_service.record_vog(
        session,
        volunteer=volunteer,
        issued_on=days_ago(5),
        reference="VOG-kenmerk-Zeldzaam",
        notes="Fenna Zeldzaamnaam kwam zelf langs",
        coordinator=user,
        scope=scope_of(session, user),
        now=clock.now(),
        settings=settings,
    )
    see_evidence(
        session,
        volunteer,
        user,
        "verpleegtechnisch",
        EvidenceKind.BIG_REGISTRATION,
        big_number="12345678901",
    )
    session.commit()
    assert volunteer.vetting_level == 3

    export = client.get("/api/v1/me/export", headers=bearer(token)).json()
    kinds = [c["kind"] for c in export["vetting_checks"]]
    assert kinds == ["identity_seen", "vog", "professional_evidence"]
    assert export["vetting_checks"][2]["big_number"] == "12345678901"
    assert any(t in str(row) for row in session.exec(select(VettingCheck)).all() for t in TRACES)

    assert client.delete("/api/v1/me", headers=bearer(token)).status_code == 204

    assert session.exec(select(VettingCheck)).all() == []
    assert refreshed(session, volunteer).vetting_level == 0
    assert _traces_left(session) == []


def test_the_vetting_eraser_is_registered() -> None:
    assert vetting_service.erase_checks in privacy._erasers
