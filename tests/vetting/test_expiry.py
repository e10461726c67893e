"""Evidence and VOG expire; the daily job lowers the level automatically, audited as the system."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from brigades.clock import ManualClock
from brigades.db import make_engine, session_scope
from brigades.errors import InvalidInput
from brigades.settings import Settings
from brigades.skills.models import EvidenceKind
from brigades.vetting import jobs, queue
from brigades.vetting.models import VettingCheck
from brigades.volunteers.models import Volunteer, VolunteerSkill
from tests.accounts.factories import make_support_point
from tests.conftest import make_settings
from tests.vetting.factories import (
    audit_events,
    coordinator,
    days_ago,
    make_volunteer,
    refreshed,
    scope_of,
    see_evidence,
    see_identity,
    see_vog,
    today,
)


def test_a_vog_expires_three_years_after_its_date(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    point = make_support_point(session)
    user = coordinator(session, point)
    volunteer = make_volunteer(session, point=point)
    see_identity(session, volunteer, user)
    vog = see_vog(session, volunteer, user, settings, date(2024, 1, 10))
    assert volunteer.vetting_level == 2
    # Midnight at the start of 10 January 2027 in Amsterdam (CET, UTC+1).
    assert vog.valid_until == datetime(2027, 1, 9, 23, 0, tzinfo=UTC)

    clock.set(datetime(2027, 1, 9, 22, 59, tzinfo=UTC))
    report = jobs.expire_checks(session, now=clock.now())
    assert report == jobs.ExpiryReport(expired_checks=0, levels_changed=0)
    assert refreshed(session, volunteer).vetting_level == 2

    clock.set(datetime(2027, 1, 9, 23, 0, tzinfo=UTC))
    report = jobs.expire_checks(session, now=clock.now())

    assert report == jobs.ExpiryReport(expired_checks=1, levels_changed=1)
    assert refreshed(session, volunteer).vetting_level == 1
    (expired,) = audit_events(session, "vetting.check_expired")
    assert expired.actor_user_id is None and expired.actor_label == "systeem"
    assert expired.detail == {"check_id": vog.id, "kind": "vog"}
    lowered = audit_events(session, "vetting.level_changed")[-1]
    assert lowered.actor_label == "systeem" and lowered.detail == {"from": 2, "to": 1}

    # Idempotent: a second run the same day changes and audits nothing.
    assert jobs.expire_checks(session, now=clock.now()) == jobs.ExpiryReport(0, 0)
    assert len(audit_events(session, "vetting.check_expired")) == 1


def test_the_vog_validity_is_configurable(
    session: Session, clock: ManualClock, database_url: str
) -> None:
    short = make_settings(database_url, vog_validity_years=1)
    point = make_support_point(session)
    user = coordinator(session, point)
    volunteer = make_volunteer(session, point=point)

    with pytest.raises(InvalidInput) as refused:
        see_vog(session, volunteer, user, short, days_ago(400))
    assert refused.value.field == "issued_on" and "1 jaar" in refused.value.message
    check = see_vog(session, volunteer, user, short, days_ago(300))
    assert check.valid_until is not None
    assert check.valid_until - clock.now() < timedelta(days=70)


def test_a_vog_dated_in_the_future_is_refused(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    point = make_support_point(session)
    volunteer = make_volunteer(session, point=point)
    with pytest.raises(InvalidInput, match="toekomst"):
        see_vog(session, volunteer, coordinator(session, point), settings, today() + timedelta(1))


def test_expired_evidence_lowers_the_level_and_waits_for_a_new_check(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    point = make_support_point(session)
    user = coordinator(session, point)
    volunteer = make_volunteer(
        session, point=point, skills=(("ehbo", EvidenceKind.CERTIFICATE, None),)
    )
    see_identity(session, volunteer, user)
    see_vog(session, volunteer, user, settings, days_ago(100))
    check = see_evidence(
        session,
        volunteer,
        user,
        "ehbo",
        EvidenceKind.CERTIFICATE,
        expires_on=today() + timedelta(9),
    )
    assert volunteer.vetting_level == 3
    assert queue.queue(session, scope=scope_of(session, user), now=clock.now()).entries == []

    clock.advance(timedelta(days=10, hours=1))
    report = jobs.expire_checks(session, now=clock.now())

    assert report.expired_checks == 1 and report.levels_changed == 1
    assert refreshed(session, volunteer).vetting_level == 2
    skill = session.get(VolunteerSkill, check.volunteer_skill_id)
    assert skill is not None and skill.verified_at is None
    assert skill.evidence_expires_at == check.valid_until  # the claim shows when it lapsed
    expired = session.get(VettingCheck, check.id)
    assert expired is not None and expired.expired_at == clock.now()
    (entry,) = queue.queue(session, scope=scope_of(session, user), now=clock.now()).entries
    assert entry.pending == ["evidence:ehbo"]


def test_a_lapsed_vog_puts_the_volunteer_back_in_the_queue(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    point = make_support_point(session)
    user = coordinator(session, point)
    volunteer = make_volunteer(session, point=point)
    see_identity(session, volunteer, user)
    see_vog(session, volunteer, user, settings, days_ago(3 * 365 - 5))
    assert queue.queue(session, scope=scope_of(session, user), now=clock.now()).entries == []

    clock.advance(timedelta(days=7))
    jobs.expire_checks(session, now=clock.now())

    (entry,) = queue.queue(session, scope=scope_of(session, user), now=clock.now()).entries
    assert entry.volunteer.id == volunteer.id and entry.pending == ["vog_lapsed"]


def test_the_sweep_corrects_a_level_that_drifted(session: Session, clock: ManualClock) -> None:
    point = make_support_point(session)
    volunteer = make_volunteer(session, point=point)
    volunteer.vetting_level = 3  # no check backs this
    session.add(volunteer)
    session.commit()

    report = jobs.expire_checks(session, now=clock.now())

    assert report == jobs.ExpiryReport(expired_checks=0, levels_changed=1)
    assert refreshed(session, volunteer).vetting_level == 0


def test_the_worker_entry_point_commits_its_own_transaction(
    fresh_database: str, clock: ManualClock, settings: Settings
) -> None:
    engine = make_engine(fresh_database)
    try:
        with session_scope(engine) as seed:
            point = make_support_point(seed)
            user = coordinator(seed, point)
            volunteer = make_volunteer(seed, point=point)
            see_identity(seed, volunteer, user)
            see_vog(seed, volunteer, user, settings, days_ago(3 * 365 - 1))
            volunteer_id = volunteer.id
            assert volunteer.vetting_level == 2

        clock.advance(timedelta(days=2))
        report = jobs.run_daily(engine)

        assert report == jobs.ExpiryReport(expired_checks=1, levels_changed=1)
        with session_scope(engine) as check:
            stored = check.get(Volunteer, volunteer_id)
            assert stored is not None and stored.vetting_level == 1
    finally:
        engine.dispose()


@pytest.mark.postgres_only
def test_the_sweep_commits_each_batch_so_a_busy_volunteer_does_not_hold_up_the_rest(
    fresh_database: str, clock: ManualClock
) -> None:
    """Levels that drifted (stored 3, no checks behind them) are corrected batch by batch: while
    the sweep waits for a volunteer someone else has locked, the correction of the volunteer
    before is already committed, and the one after is corrected once the lock goes."""
    engine = make_engine(fresh_database)
    try:
        _sweep_while_one_is_locked(engine)
    finally:
        engine.dispose()


def _sweep_while_one_is_locked(engine: Engine) -> None:
    with session_scope(engine) as seed:
        point = make_support_point(seed)
        drifted = [make_volunteer(seed, point=point) for _ in range(3)]
        for volunteer in drifted:
            volunteer.vetting_level = 3
            seed.add(volunteer)
        seed.flush()
        first, locked, last = (v.id for v in drifted)

    def level(volunteer_id: int | None) -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT vetting_level FROM volunteer WHERE id = :i"), {"i": volunteer_id}
                ).scalar_one()
            )

    reports: list[jobs.ExpiryReport] = []
    with engine.connect() as holder:
        holder.execute(text("SELECT id FROM volunteer WHERE id = :i FOR UPDATE"), {"i": locked})
        thread = threading.Thread(target=lambda: reports.append(jobs.run_daily(engine, batch=1)))
        thread.start()
        deadline = time.monotonic() + 10
        while level(first) == 3:
            assert time.monotonic() < deadline, "the first batch was not committed"
            time.sleep(0.05)
        assert thread.is_alive(), "the sweep waits for the locked volunteer"
        assert level(locked) == 3 and level(last) == 3
        holder.rollback()
    thread.join(10)
    assert reports and reports[0].levels_changed >= 3
    assert level(locked) < 3 and level(last) < 3
