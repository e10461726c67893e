"""Erasure (AVG art. 17): no trace of the person in any table; counts per region survive."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, select

import brigades.models  # noqa: F401  (every table registered in the metadata)
from brigades.clock import ManualClock
from brigades.conversation.models import InboxItem, Question, QuestionKind
from brigades.privacy import service as privacy
from brigades.volunteers.models import (
    AccessLink,
    AvailabilityWindow,
    PhoneVerification,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)
from notifications import outbox
from notifications.models import InboundMessage, MessageState, OutboxMessage
from notifications.privacy import REDACTED
from tests.volunteers.factories import (
    PHONE_E164,
    api_volunteer,
    bearer,
    count,
    make_support_point,
)

NAME = "Fenna Zeldzaamnaam"
POSTCODE = "3584 CS"
TRACES = (PHONE_E164, "612345678", "Zeldzaamnaam", POSTCODE, "3584CS", "12a-bis")


def _populate(client: TestClient, session: Session, clock: ManualClock) -> tuple[Volunteer, str]:
    """A volunteer with data in every table that can hold some, plus a bystander."""
    make_support_point(session, name="Buurtsteunpunt Domplein", postcode="3511 AB")
    session.commit()
    token = api_volunteer(client, session, house_number="12a-bis")
    api_volunteer(client, session, phone="06 87654321", name="Bystander Bakker", postcode="3511 AB")
    volunteer = session.exec(select(Volunteer).where(Volunteer.name == NAME)).one()
    assert volunteer.id is not None
    # A message that went out, one still queued, one that failed with the number in its error.
    sent = outbox.enqueue(
        session, recipient=PHONE_E164, body=f"Hoi {NAME}", now=clock.now(), provider="console"
    )
    sent.state = MessageState.DELIVERED
    failed = outbox.enqueue(
        session,
        recipient=PHONE_E164,
        body="Taak bij 3584 CS",
        now=clock.now(),
        provider="console",
        volunteer_id=volunteer.id,
    )
    failed.state = MessageState.FAILED
    failed.error_message = f"The 'To' number {PHONE_E164} is not reachable"
    outbox.enqueue(
        session, recipient=PHONE_E164, body="In de wachtrij", now=clock.now(), provider="console"
    )
    inbound = InboundMessage(
        provider="console",
        provider_sid="SM-in-1",
        from_number=PHONE_E164,
        body=f"ik ben ziek, groet {NAME}",
        volunteer_id=volunteer.id,
        received_at=clock.now(),
    )
    session.add(inbound)
    session.add(
        InboundMessage(
            provider="console",
            provider_sid="SM-in-2",
            from_number=PHONE_E164,
            body="STOP",
            received_at=clock.now(),
        )
    )
    session.flush()
    session.add(
        InboxItem(
            volunteer_id=volunteer.id,
            inbound_message_id=inbound.id,
            body=inbound.body,
            created_at=clock.now(),
        )
    )
    session.add(
        Question(
            volunteer_id=volunteer.id,
            code="4821",
            kind=QuestionKind.ROLL_CALL,
            subject_kind="roll_call",
            subject_id=1,
            opened_at=clock.now(),
        )
    )
    session.commit()
    return volunteer, token


def _traces_left(session: Session) -> list[str]:
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for row in session.execute(select(table)).all():
            text = " | ".join(str(v) for v in row)
            found += [f"{table.name}: {t!r} in {text}" for t in TRACES if t in text]
    return found


def test_erasure_leaves_no_trace_in_any_table(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    volunteer, token = _populate(client, session, clock)
    assert _traces_left(session)  # the scan does see the data before erasure
    volunteer_id = volunteer.id
    assert volunteer_id is not None

    clock.advance(timedelta(minutes=5))
    assert client.delete("/api/v1/me", headers=bearer(token)).status_code == 204

    assert _traces_left(session) == []
    session.expire_all()
    erased = session.get(Volunteer, volunteer_id)
    assert erased is not None
    assert erased.status is VolunteerStatus.ERASED and erased.erased_at == clock.now()
    assert (erased.gm_code, erased.vr_code) == ("GM0344", "VR09")
    assert erased.name is erased.phone is erased.postcode is erased.lat is erased.pc4 is None
    assert erased.languages == []
    for model in (VolunteerSkill, AvailabilityWindow, PhoneVerification, AccessLink, Question):
        rows = session.exec(select(model).where(model.volunteer_id == volunteer_id)).all()  # type: ignore[attr-defined]
        assert rows == [], model
    assert session.exec(select(InboxItem)).all() == []
    # Sent messages keep their row (delivery statistics), redacted; unsent ones are gone.
    mine = session.exec(select(OutboxMessage).where(OutboxMessage.body == REDACTED)).all()
    assert {m.state for m in mine} >= {MessageState.DELIVERED, MessageState.FAILED}
    assert all(m.recipient == REDACTED and m.error_message is None for m in mine)
    assert session.exec(select(InboundMessage)).all() == []
    # The bystander is untouched, and the region still counts one erased volunteer.
    assert session.exec(select(Volunteer).where(Volunteer.name == "Bystander Bakker")).one()
    assert privacy.erased_per_region(session) == {"VR09": 1}
    assert count(session, Volunteer) == 2


def test_erasure_is_idempotent(client: TestClient, session: Session, clock: ManualClock) -> None:
    volunteer, _ = _populate(client, session, clock)
    assert volunteer.id is not None
    privacy.erase_volunteer(session, volunteer_id=volunteer.id, now=clock.now())
    privacy.erase_volunteer(session, volunteer_id=volunteer.id, now=clock.now())
    assert _traces_left(session) == []


def test_registered_erasers_run(client: TestClient, session: Session, clock: ManualClock) -> None:
    volunteer, _ = _populate(client, session, clock)
    seen: list[int] = []

    def eraser(_: Session, volunteer_id: int, __: object) -> None:
        seen.append(volunteer_id)

    privacy.register_eraser(eraser)
    try:
        assert volunteer.id is not None
        privacy.erase_volunteer(session, volunteer_id=volunteer.id, now=clock.now())
    finally:
        privacy._erasers.remove(eraser)
    assert seen == [volunteer.id]


def test_a_new_sign_up_after_erasure_is_a_new_volunteer(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    _volunteer, token = _populate(client, session, clock)
    client.delete("/api/v1/me", headers=bearer(token))
    clock.advance(timedelta(hours=1))
    api_volunteer(client, session)
    assert count(session, Volunteer) == 3
