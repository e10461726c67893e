"""Recording and revoking checks on the pages (CSRF checked first) and through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from brigades.clock import ManualClock
from brigades.skills.models import EvidenceKind
from brigades.vetting.models import CheckKind, VettingCheck
from brigades.volunteers.models import VolunteerSkill
from tests.accounts.factories import (
    bearer,
    count,
    csrf_token,
    make_support_point,
    make_token,
    sign_in,
)
from tests.vetting.factories import (
    audit_events,
    coordinator,
    days_ago,
    make_volunteer,
    refreshed,
    today,
)


def test_a_form_without_its_csrf_token_records_nothing(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session)
    sign_in(client, session, coordinator(session, point))
    volunteer = make_volunteer(session, point=point)

    response = client.post(
        f"/beheer/vetting/{volunteer.id}/identiteit", data={"document": "passport"}
    )

    assert response.status_code == 403
    assert count(session, VettingCheck) == 0


def test_the_pages_record_identity_vog_and_evidence_then_revoke(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session)
    user = coordinator(session, point)
    sign_in(client, session, user)
    volunteer = make_volunteer(
        session, point=point, skills=(("verpleegtechnisch", EvidenceKind.DIPLOMA, None),)
    )
    base = f"/beheer/vetting/{volunteer.id}"

    done = client.post(
        base + "/identiteit",
        data={"document": "identity_card", "notes": "", "csrf_token": csrf_token(client)},
    )
    assert done.status_code == 303 and done.headers["location"] == base + "?opgeslagen=identiteit"
    assert "De identiteitscontrole is vastgelegd." in client.get(done.headers["location"]).text

    done = client.post(
        base + "/vog",
        data={"issued_on": days_ago(20).isoformat(), "csrf_token": csrf_token(client)},
    )
    assert done.status_code == 303
    done = client.post(
        base + "/bewijs",
        data={
            "skill_code": "verpleegtechnisch",
            "evidence": "diploma",
            "big_number": "",
            "expires_on": "",
            "reference": "Verpleegkunde mbo 4, 2012",
            "csrf_token": csrf_token(client),
        },
    )
    assert done.status_code == 303
    assert refreshed(session, volunteer).vetting_level == 3
    page = client.get(base).text
    assert "Beroepsbewijs gecontroleerd" in page and "telt mee" in page

    vog = session.exec(select(VettingCheck).where(VettingCheck.kind == CheckKind.VOG)).one()
    done = client.post(
        f"/beheer/vetting/controles/{vog.id}/intrekken",
        data={"reason": "VOG hoorde bij een andere aanvraag", "csrf_token": csrf_token(client)},
    )
    assert done.status_code == 303
    assert refreshed(session, volunteer).vetting_level == 1
    assert len(audit_events(session, "vetting.check_revoked")) == 1


def test_a_page_form_with_a_mistake_shows_the_message_and_saves_nothing(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session)
    sign_in(client, session, coordinator(session, point))
    volunteer = make_volunteer(
        session, point=point, skills=(("verpleegtechnisch", EvidenceKind.BIG_REGISTRATION, None),)
    )
    base = f"/beheer/vetting/{volunteer.id}"

    bad_big = client.post(
        base + "/bewijs",
        data={
            "skill_code": "verpleegtechnisch",
            "evidence": "big_registration",
            "big_number": "1234",
            "csrf_token": csrf_token(client),
        },
    )
    assert bad_big.status_code == 422
    assert "Een BIG-nummer bestaat uit precies 11 cijfers." in bad_big.text
    old_vog = client.post(
        base + "/vog",
        data={"issued_on": days_ago(4 * 365).isoformat(), "csrf_token": csrf_token(client)},
    )
    assert old_vog.status_code == 422 and "ouder dan 3 jaar" in old_vog.text
    no_date = client.post(base + "/vog", data={"issued_on": "", "csrf_token": csrf_token(client)})
    assert no_date.status_code == 422 and "geldige datum" in no_date.text
    assert count(session, VettingCheck) == 0
    skill = session.exec(select(VolunteerSkill)).one()
    assert skill.verified_at is None


def test_the_api_records_and_revokes_checks(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session)
    user = coordinator(session, point)
    token, _ = make_token(session, user)
    volunteer = make_volunteer(
        session, point=point, skills=(("ehbo", EvidenceKind.CERTIFICATE, None),)
    )
    base = f"/api/v1/vetting/volunteers/{volunteer.id}"

    identity = client.post(base + "/identity", json={"document": "passport"}, headers=bearer(token))
    assert identity.status_code == 201, identity.text
    assert identity.json()["checked_by"] == user.email and identity.json()["counts"] is True
    vog = client.post(
        base + "/vog",
        json={"issued_on": days_ago(1).isoformat(), "reference": "VOG-kenmerk 123"},
        headers=bearer(token),
    )
    assert vog.status_code == 201
    assert vog.json()["valid_until"].startswith(str(today().year + 3))
    evidence = client.post(
        base + "/evidence",
        json={
            "skill_code": "ehbo",
            "evidence": "certificate",
            "expires_on": today().replace(year=today().year + 2).isoformat(),
        },
        headers=bearer(token),
    )
    assert evidence.status_code == 201
    detail = client.get(base, headers=bearer(token)).json()
    assert detail["vetting_level"] == 3 and len(detail["checks"]) == 3
    assert detail["skills"][0]["verified_at"] is not None

    unknown = client.post(
        base + "/evidence",
        json={"skill_code": "klussen", "evidence": "diploma"},
        headers=bearer(token),
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "skill_code"
    check_id = evidence.json()["id"]
    revoked = client.post(
        f"/api/v1/vetting/checks/{check_id}/revoke",
        json={"reason": "Verlopen certificaat gezien"},
        headers=bearer(token),
    )
    assert revoked.status_code == 200 and revoked.json()["counts"] is False
    again = client.post(
        f"/api/v1/vetting/checks/{check_id}/revoke",
        json={"reason": "nog eens"},
        headers=bearer(token),
    )
    assert again.status_code == 409
    assert client.get(base, headers=bearer(token)).json()["vetting_level"] == 2
