"""Only requests signed by Twilio for the public URL get through; others are refused quietly."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from brigades.app import create_app
from notifications.models import InboundMessage
from tests.conftest import make_settings
from tests.webhooks.conftest import PUBLIC_URL, post_signed, signature

INBOUND = {
    "MessageSid": "SM" + "1" * 32,
    "AccountSid": "AC" + "a" * 32,
    "From": "+31612345678",
    "To": "+3197010203040",
    "Body": "Ik ben ziek vandaag",
}
PATHS = ["/webhooks/twilio/sms", "/webhooks/twilio/status"]


def inbound_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(InboundMessage)).one()


def test_a_signed_inbound_message_is_recorded(client: TestClient, session: Session) -> None:
    response = post_signed(client, "/webhooks/twilio/sms", INBOUND)
    assert response.status_code == 200
    assert inbound_count(session) == 1


@pytest.mark.parametrize("path", PATHS)
def test_a_missing_signature_is_refused_and_nothing_recorded(
    client: TestClient, session: Session, path: str
) -> None:
    response = client.post(path, data=INBOUND)
    assert response.status_code == 403
    assert inbound_count(session) == 0


@pytest.mark.parametrize("path", PATHS)
def test_a_wrong_signature_is_refused_and_logged_without_personal_data(
    client: TestClient, session: Session, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING"):
        response = post_signed(client, path, INBOUND, token="someone-elses-token")
    assert response.status_code == 403
    assert inbound_count(session) == 0
    assert path in caplog.text
    assert "+31612345678" not in caplog.text
    assert "ziek" not in caplog.text


def test_a_tampered_body_is_refused(client: TestClient, session: Session) -> None:
    good = signature(f"{PUBLIC_URL}/webhooks/twilio/sms", INBOUND)
    response = client.post(
        "/webhooks/twilio/sms",
        data={**INBOUND, "Body": "STOP"},
        headers={"X-Twilio-Signature": good},
    )
    assert response.status_code == 403
    assert inbound_count(session) == 0


def test_the_signature_is_checked_against_the_public_url_not_the_internal_one(
    client: TestClient, session: Session
) -> None:
    internal = "http://testserver/webhooks/twilio/sms"
    response = post_signed(client, "/webhooks/twilio/sms", INBOUND, signed_url=internal)
    assert response.status_code == 403
    assert inbound_count(session) == 0


def test_the_query_string_is_part_of_the_signed_url(client: TestClient) -> None:
    params = {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered"}
    signed_for_other = f"{PUBLIC_URL}/webhooks/twilio/status?outbox_id=2"
    response = post_signed(
        client,
        "/webhooks/twilio/status",
        params,
        query={"outbox_id": "1"},
        signed_url=signed_for_other,
    )
    assert response.status_code == 403


@pytest.mark.parametrize("path", PATHS)
def test_without_a_twilio_token_the_webhooks_do_not_exist(database_url: str, path: str) -> None:
    app = create_app(make_settings(database_url))
    with TestClient(app) as client:
        response = client.post(path, data=INBOUND)
    assert response.status_code == 404


def test_the_answer_is_empty_twiml(client: TestClient) -> None:
    response = post_signed(client, "/webhooks/twilio/sms", INBOUND)
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
