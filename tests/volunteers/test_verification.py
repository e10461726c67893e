"""Codes: expiry, attempts, and rate limits per number and per client."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from brigades.clock import ManualClock
from brigades.settings import Settings
from brigades.volunteers.models import PhoneVerification, Volunteer, VolunteerStatus
from notifications.models import OutboxMessage
from tests.volunteers.factories import (
    PHONE,
    PHONE_E164,
    count,
    last_code,
    make_support_point,
    outbox_to,
    sign_up_payload,
)


@pytest.fixture(autouse=True)
def _point(session: Session) -> None:
    make_support_point(session)
    session.commit()


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _verify(client: TestClient, code: str, phone: str = PHONE) -> tuple[int, dict[str, object]]:
    response = client.post("/api/v1/volunteers/verify", json={"phone": phone, "code": code})
    return response.status_code, response.json()


def test_an_expired_code_is_refused(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    client.post("/api/v1/volunteers", json=sign_up_payload())
    code = last_code(session)
    clock.advance(timedelta(minutes=15))
    status, body = _verify(client, code)
    assert status == 400
    assert body == {
        "code": "invalid_code",
        "detail": "Deze code is verlopen. Vraag een nieuwe code aan.",
        "field": "code",
    }
    assert session.exec(select(Volunteer)).one().status is VolunteerStatus.PENDING


def test_a_code_just_before_expiry_works(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    client.post("/api/v1/volunteers", json=sign_up_payload())
    clock.advance(timedelta(minutes=14, seconds=59))
    assert _verify(client, last_code(session))[0] == 200


def test_wrong_codes_count_and_five_of_them_burn_the_code(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    client.post("/api/v1/volunteers", json=sign_up_payload())
    code = last_code(session)
    status, body = _verify(client, _wrong(code))
    assert status == 400
    assert body["detail"] == "Deze code klopt niet. Je kunt het nog 4 keer proberen."
    # The attempt was committed although the request failed.
    assert session.exec(select(PhoneVerification)).one().attempts == 1
    for _ in range(3):
        _verify(client, _wrong(code))
    status, body = _verify(client, _wrong(code))
    assert body["detail"] == "Te vaak een verkeerde code ingevuld. Vraag een nieuwe code aan."
    # Now even the right code no longer works.
    status, body = _verify(client, code)
    assert status == 400
    assert body["detail"] == "Te vaak een verkeerde code ingevuld. Vraag een nieuwe code aan."
    # A fresh code does.
    client.post("/api/v1/volunteers/resend-code", json={"phone": PHONE})
    assert _verify(client, last_code(session))[0] == 200


def test_a_used_code_cannot_be_used_again(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    client.post("/api/v1/volunteers", json=sign_up_payload())
    code = last_code(session)
    assert _verify(client, code)[0] == 200
    status, body = _verify(client, code)
    assert status == 400 and body["detail"].startswith("Deze code is al gebruikt")


def test_malformed_codes_and_unknown_numbers(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    client.post("/api/v1/volunteers", json=sign_up_payload())
    assert _verify(client, "12ab56")[1]["detail"] == "Een code bestaat uit 6 cijfers."
    assert session.exec(select(PhoneVerification)).one().attempts == 0
    status, body = _verify(client, "123456", phone="06 87654321")
    assert status == 400 and body["field"] == "code"
    assert _verify(client, "123 456", phone="030 1234567")[1]["field"] == "phone"
    assert (
        client.post(
            "/api/v1/volunteers/verify", json={"phone": PHONE, "code": "1" * 13}
        ).status_code
        == 422
    )


def test_sign_ups_are_limited_per_number_with_a_dutch_429(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    for _ in range(3):
        assert client.post("/api/v1/volunteers", json=sign_up_payload()).status_code == 202
    response = client.post("/api/v1/volunteers", json=sign_up_payload())
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3600"
    assert response.json() == {
        "code": "rate_limited",
        "detail": "Te veel pogingen. Probeer het over 60 minuten opnieuw.",
        "field": None,
    }
    assert len(outbox_to(session, PHONE_E164)) == 3
    # Resending counts against the same number: no SMS flood through another door.
    assert client.post("/api/v1/volunteers/resend-code", json={"phone": PHONE}).status_code == 429
    clock.advance(timedelta(hours=1))
    assert client.post("/api/v1/volunteers/resend-code", json={"phone": PHONE}).status_code == 202


def test_sign_ups_are_limited_per_client(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock
) -> None:
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"signup_limit_per_client": (2, 3600)}
    )
    for n in range(2):
        payload = sign_up_payload(phone=f"06 1111111{n}")
        assert client.post("/api/v1/volunteers", json=payload).status_code == 202
    before = count(session, OutboxMessage), count(session, Volunteer)
    response = client.post("/api/v1/volunteers", json=sign_up_payload(phone="06 22222222"))
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Probeer het over" in response.json()["detail"]
    assert (count(session, OutboxMessage), count(session, Volunteer)) == before


def test_code_attempts_are_limited_per_number(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock
) -> None:
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"code_limit_per_number": (3, 600), "verification_max_attempts": 100}
    )
    client.post("/api/v1/volunteers", json=sign_up_payload())
    code = last_code(session)
    for _ in range(3):
        assert _verify(client, _wrong(code))[0] == 400
    response = client.post("/api/v1/volunteers/verify", json={"phone": PHONE, "code": code})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "600"
    assert response.json()["detail"] == "Te veel pogingen. Probeer het over 10 minuten opnieuw."


def test_code_attempts_are_limited_per_client(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock
) -> None:
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"code_limit_per_client": (2, 3600)}
    )
    for n in range(2):
        _verify(client, "123456", phone=f"06 3333333{n}")
    assert _verify(client, "123456", phone="06 44444444")[0] == 429
