"""Plain factory functions for volunteer tests."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from brigades import clock
from brigades.supportpoints import service as supportpoints_service
from brigades.supportpoints.models import SupportPoint
from brigades.supportpoints.schemas import SupportPointCreate
from notifications.models import OutboxMessage

PHONE = "06 12345678"
PHONE_E164 = "+31612345678"
CODE_RE = re.compile(r"je code is (\d{6})")
LINK_RE = re.compile(r"/l/([A-Za-z0-9_\-]+) ")


def make_support_point(
    session: Session,
    *,
    name: str = "Buurtsteunpunt Domplein",
    postcode: str = "3511 AB",
    place: str = "",
    active: bool = True,
) -> SupportPoint:
    """A buurtsteunpunt at a postcode's centre (Utrecht by default)."""
    return supportpoints_service.create_support_point(
        session,
        data=SupportPointCreate(name=name, postcode=postcode, place=place, active=active),
        now=clock.now(),
    )


def sign_up_payload(**overrides: Any) -> dict[str, Any]:
    """A valid API sign-up body."""
    payload: dict[str, Any] = {
        "name": "Fenna Zeldzaamnaam",
        "phone": PHONE,
        "postcode": "3584 CS",
        "house_number": "12a",
        "skills": [
            {"code": "boodschappen"},
            {
                "code": "verpleegtechnisch",
                "evidence": "big_registration",
                "big_number": "12345678901",
                "detail": "Verpleegkundige, 10 jaar ervaring",
            },
        ],
        "availability": [
            {"weekday": 0, "start_minute": 480, "end_minute": 720},
            {"weekday": 0, "start_minute": 700, "end_minute": 900},
            {"weekday": 5, "start_minute": 600, "end_minute": 1020},
        ],
        "max_distance_km": 10,
        "languages": ["nl", "en"],
        "preferred_channel": "sms",
        "adult_confirmed": True,
        "consent": True,
    }
    payload.update(overrides)
    return payload


def outbox_to(session: Session, phone: str) -> list[OutboxMessage]:
    """Messages queued for a number, oldest first."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.recipient == phone)
        .order_by(col(OutboxMessage.id))
    )
    return list(session.exec(stmt).all())


def last_code(session: Session, phone: str = PHONE_E164) -> str:
    """The code in the newest code SMS to a number."""
    for message in reversed(outbox_to(session, phone)):
        match = CODE_RE.search(message.body)
        if match:
            return match.group(1)
    raise AssertionError("no code SMS found")


def last_link_token(session: Session, phone: str = PHONE_E164) -> str:
    """The token in the newest personal-link SMS to a number."""
    for message in reversed(outbox_to(session, phone)):
        match = LINK_RE.search(message.body)
        if match:
            return match.group(1)
    raise AssertionError("no link SMS found")


def count(session: Session, model: type[SQLModel]) -> int:
    """Rows in a table."""
    return int(session.exec(select(func.count()).select_from(model)).one())


def api_volunteer(client: TestClient, session: Session, **overrides: Any) -> str:
    """Sign up and verify through the API; returns the bearer token."""
    payload = sign_up_payload(**overrides)
    response = client.post("/api/v1/volunteers", json=payload)
    assert response.status_code == 202, response.text
    phone = payload["phone"]
    e164 = "+31" + re.sub(r"\D", "", phone)[1:] if phone.startswith("0") else phone
    verified = client.post(
        "/api/v1/volunteers/verify", json={"phone": phone, "code": last_code(session, e164)}
    )
    assert verified.status_code == 200, verified.text
    token: str = verified.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}
