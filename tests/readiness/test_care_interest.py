"""The care-work opt-in: explicit (a ticked box, versioned), revocable, listed only for the
recruiters of the volunteer's region, gone on erasure."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from brigades import clock as clock_module
from brigades.accounts.models import Role
from brigades.audit.models import AuditEvent
from brigades.privacy import service as privacy
from brigades.readiness import interest
from brigades.readiness.models import CareInterest
from brigades.settings import Settings
from tests.accounts.factories import bearer, make_token, make_user
from tests.readiness.factories import log_in_volunteer, make_volunteer


def test_opt_in_list_revoke_and_erase(
    client: TestClient, session: Session, clock: clock_module.ManualClock, settings: Settings
) -> None:
    volunteer = make_volunteer(session, name="Noor Visser")
    assert volunteer.id is not None
    recruiter = make_user(session, role=Role.RECRUITER, vr_codes=("VR09",))
    far_recruiter = make_user(session, role=Role.RECRUITER, vr_codes=("VR13",))
    coordinator = make_user(session, role=Role.REGIONAL_COORDINATOR, vr_codes=("VR09",))
    session.commit()
    log_in_volunteer(client, volunteer, settings)
    page = client.get("/mijn/inzet")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    assert interest.CONSENT_TEXT in page.text

    assert client.post("/mijn/zorgwerk", data={"consent": "ja"}).status_code == 403
    unticked = client.post("/mijn/zorgwerk", data={"csrf_token": token})
    assert unticked.status_code == 422 and interest.CONSENT_REQUIRED in unticked.text
    assert interest.current(session, volunteer_id=volunteer.id) is None
    client.post("/mijn/zorgwerk", data={"csrf_token": token, "consent": "ja"})
    row = interest.current(session, volunteer_id=volunteer.id)
    assert row is not None and row.consent_version == interest.CONSENT_VERSION
    client.cookies.clear()

    here = make_token(session, recruiter)[0]
    listed = client.get("/api/v1/care-interest", headers=bearer(here)).json()
    assert [r["name"] for r in listed] == ["Noor Visser"]
    far = make_token(session, far_recruiter)[0]
    assert client.get("/api/v1/care-interest", headers=bearer(far)).json() == []
    own = make_token(session, coordinator)[0]
    assert client.get("/api/v1/care-interest", headers=bearer(own)).status_code == 403
    reads = select(AuditEvent).where(col(AuditEvent.action) == "readiness.care_interest_read")
    assert len(session.exec(reads).all()) == 2

    log_in_volunteer(client, volunteer, settings)
    page = client.get("/mijn/inzet")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    revoked = client.post(
        "/mijn/zorgwerk/intrekken", data={"csrf_token": token}, follow_redirects=False
    )
    assert revoked.status_code == 303
    client.cookies.clear()
    assert client.get("/api/v1/care-interest", headers=bearer(here)).json() == []

    interest.opt_in(session, volunteer=volunteer, now=clock_module.now())
    privacy.erase_volunteer(session, volunteer_id=volunteer.id, now=clock_module.now())
    session.commit()
    assert session.exec(select(CareInterest)).all() == []
    assert client.get("/api/v1/care-interest", headers=bearer(here)).json() == []
