"""The development phone simulator (served in development only)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from brigades import clock as clock_module
from brigades.conversation import outbound
from brigades.settings import Settings
from notifications.models import InboundMessage
from tests.conftest import make_settings
from tests.conversation.factories import make_volunteer


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Every app in this module runs as a development environment."""
    return make_settings(database_url, env="development")


@pytest.fixture
def now(clock: clock_module.ManualClock) -> datetime:
    return clock.now()


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has a CSRF-protected form"
    return match.group(1)


def test_lists_numbers_that_received_console_messages(
    client: TestClient, session: Session, settings: Settings, now: datetime
) -> None:
    volunteer = make_volunteer(session, now=now, name="Fatima Bouzid", synthetic=True)
    outbound.send_sms(session, volunteer=volunteer, body="Welkom!", now=now, settings=settings)
    make_volunteer(session, now=now, name="Zonder Berichten")
    session.flush()
    page = client.get("/dev/telefoon")
    assert page.status_code == 200
    assert volunteer.phone is not None and volunteer.phone in page.text
    assert "Fatima Bouzid" in page.text
    assert "(synthetisch)" in page.text
    assert "Zonder Berichten" not in page.text
    assert 'href="/dev/telefoon"' in page.text  # the "Vernieuwen" link


def test_phone_shows_the_conversation_in_amsterdam_time(
    client: TestClient, session: Session, settings: Settings, now: datetime
) -> None:
    volunteer = make_volunteer(session, now=now)
    outbound.send_sms(
        session, volunteer=volunteer, body="Kun je helpen? JA 4821", now=now, settings=settings
    )
    session.flush()
    page = client.get(f"/dev/telefoon/{volunteer.phone}")
    assert page.status_code == 200
    assert "Kun je helpen? JA 4821" in page.text
    assert "Ontvangen 23-11 10:00" in page.text  # 09:00 UTC is 10:00 in Amsterdam
    assert "Vernieuwen" in page.text and "<meta http-equiv" not in page.text


def test_reply_box_feeds_the_conversation(
    client: TestClient, session: Session, settings: Settings, now: datetime
) -> None:
    volunteer = make_volunteer(session, now=now)
    url = f"/dev/telefoon/{volunteer.phone}"
    token = _csrf(client.get(url).text)
    sent = client.post(url, data={"bericht": "STATUS", "csrf_token": token})
    assert sent.status_code == 303 and sent.headers["location"].startswith(url)

    [inbound] = session.exec(select(InboundMessage)).all()
    assert inbound.provider == "console" and inbound.provider_sid.startswith("SMdev")
    assert inbound.from_number == volunteer.phone and inbound.volunteer_id == volunteer.id
    page = client.get(url).text
    # Newest at the bottom: the typed message, then the answer to it.
    typed = page.index("STATUS</div>")
    answer = page.index("Je staat op beschikbaar. Geen open vragen.")
    assert typed < answer
    assert page.count('class="bubble out"') == 1 and page.count('class="bubble in"') == 1


def test_reply_box_works_for_an_unknown_number(
    client: TestClient, session: Session, now: datetime
) -> None:
    url = "/dev/telefoon/+31699999999"
    token = _csrf(client.get(url).text)
    client.post(url, data={"bericht": "Hallo", "csrf_token": token})
    page = client.get(url).text
    assert "Onbekend nummer" in page
    assert "Dit nummer kennen we niet bij Zorgbrigade" in page


def test_reply_box_needs_the_csrf_token(
    client: TestClient, session: Session, now: datetime
) -> None:
    volunteer = make_volunteer(session, now=now)
    client.get(f"/dev/telefoon/{volunteer.phone}")
    refused = client.post(f"/dev/telefoon/{volunteer.phone}", data={"bericht": "STOP"})
    assert refused.status_code == 403
    assert session.exec(select(InboundMessage)).all() == []
    assert not volunteer.sms_opted_out


def test_open_form_and_malformed_numbers(client: TestClient) -> None:
    opened = client.get("/dev/telefoon", params={"nummer": "+31 699 123456"})
    assert opened.status_code == 303 and opened.headers["location"] == "/dev/telefoon/+31699123456"
    assert client.get("/dev/telefoon", params={"nummer": "hallo"}).status_code == 422
    assert client.get("/dev/telefoon/0612345678").status_code == 404
    assert client.get("/dev/telefoon/+31abc").status_code == 404
