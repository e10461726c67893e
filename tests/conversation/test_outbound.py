"""send_sms: the one way to text a volunteer."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import Session

from brigades import clock as clock_module
from brigades.conversation import outbound
from brigades.settings import Settings
from brigades.volunteers.models import VolunteerStatus
from notifications.models import MessageState, Priority
from tests.conftest import make_settings
from tests.conversation.factories import make_volunteer


@pytest.fixture
def now(clock: clock_module.ManualClock) -> datetime:
    return clock.now()


def test_queues_a_message_for_the_volunteer(
    session: Session, settings: Settings, now: datetime
) -> None:
    volunteer = make_volunteer(session, now=now)
    message = outbound.send_sms(
        session,
        volunteer=volunteer,
        body="Kun je helpen met boodschappen? JA 4821 of NEE 4821",
        priority=Priority.OFFER,
        subject_kind="offer",
        subject_id=77,
        drill=True,
        now=now,
        settings=settings,
    )
    assert message is not None
    assert message.recipient == volunteer.phone and message.volunteer_id == volunteer.id
    assert message.body.startswith("OEFENING: Kun je helpen")
    assert message.priority == Priority.OFFER and message.state is MessageState.QUEUED
    assert (message.subject_kind, message.subject_id) == ("offer", 77)
    assert message.provider == "console" and not message.synthetic


def test_skips_opted_out_and_erased_volunteers(
    session: Session, settings: Settings, now: datetime
) -> None:
    opted_out = make_volunteer(session, now=now, opted_out=True)
    erased = make_volunteer(session, now=now, status=VolunteerStatus.ERASED)
    for volunteer in (opted_out, erased):
        assert not outbound.can_send_sms(volunteer)
        assert (
            outbound.send_sms(session, volunteer=volunteer, body="Hoi", now=now, settings=settings)
            is None
        )


def test_synthetic_volunteers_never_go_to_twilio(
    session: Session, database_url: str, now: datetime
) -> None:
    twilio = make_settings(database_url, sms_provider="twilio")
    real = make_volunteer(session, now=now)
    synthetic = make_volunteer(session, now=now, synthetic=True)
    to_real = outbound.send_sms(session, volunteer=real, body="Hoi", now=now, settings=twilio)
    to_synthetic = outbound.send_sms(
        session, volunteer=synthetic, body="Hoi", now=now, settings=twilio
    )
    assert to_real is not None and to_real.provider == "twilio" and not to_real.synthetic
    assert to_synthetic is not None and to_synthetic.provider == "console"
    assert to_synthetic.synthetic
