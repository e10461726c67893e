"""The vetting level is derived from the checks that count: every combination, and in the DB."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from sqlmodel import Session

from brigades.accounts.models import Role
from brigades.clock import ManualClock
from brigades.errors import Forbidden
from brigades.settings import Settings
from brigades.skills.models import EvidenceKind
from brigades.vetting import service
from brigades.vetting.levels import Standing, derive_level
from brigades.vetting.models import CheckKind
from brigades.volunteers.models import VolunteerSkill
from tests.accounts.factories import make_support_point, make_user
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


def _expected(phone: bool, identity: bool, vog: bool, professional: bool) -> int:
    # The ladder, written out: each rung needs every rung below it.
    if not (phone and identity):
        return 0
    if not vog:
        return 1
    return 3 if professional else 2


@pytest.mark.parametrize(
    ("phone", "identity", "vog", "professional"),
    list(itertools.product([False, True], repeat=4)),
)
def test_every_combination_gives_its_level(
    phone: bool, identity: bool, vog: bool, professional: bool
) -> None:
    level = derive_level(Standing(phone, identity, vog, professional))
    assert level == _expected(phone, identity, vog, professional)


def test_the_table_in_full() -> None:
    table = {
        (p, i, v, e): derive_level(Standing(p, i, v, e))
        for p, i, v, e in itertools.product([False, True], repeat=4)
    }
    assert [combo for combo, level in table.items() if level == 3] == [(True, True, True, True)]
    assert [combo for combo, level in table.items() if level == 2] == [(True, True, True, False)]
    assert sorted(combo for combo, level in table.items() if level == 1) == [
        (True, True, False, False),
        (True, True, False, True),
    ]
    assert sum(1 for level in table.values() if level == 0) == 12


@pytest.mark.parametrize(
    ("phone", "identity", "vog", "professional"),
    list(itertools.product([False, True], repeat=4)),
)
def test_recorded_checks_give_the_same_level(
    session: Session,
    clock: ManualClock,
    settings: Settings,
    phone: bool,
    identity: bool,
    vog: bool,
    professional: bool,
) -> None:
    point = make_support_point(session)
    user = coordinator(session, point)
    volunteer = make_volunteer(
        session,
        point=point,
        verified=phone,
        skills=(("verpleegtechnisch", EvidenceKind.DIPLOMA, None),),
    )
    if identity:
        see_identity(session, volunteer, user)
    if vog:
        see_vog(session, volunteer, user, settings, days_ago(30))
    if professional:
        see_evidence(session, volunteer, user, "verpleegtechnisch")

    assert refreshed(session, volunteer).vetting_level == _expected(
        phone, identity, vog, professional
    )


def test_each_check_is_audited_and_the_level_rises_step_by_step(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    point = make_support_point(session)
    user = coordinator(session, point)
    volunteer = make_volunteer(
        session, point=point, skills=(("verpleegtechnisch", EvidenceKind.DIPLOMA, None),)
    )

    see_identity(session, volunteer, user)
    assert volunteer.vetting_level == 1
    see_vog(session, volunteer, user, settings, days_ago(10))
    assert volunteer.vetting_level == 2
    check = see_evidence(session, volunteer, user, "verpleegtechnisch")
    assert volunteer.vetting_level == 3

    changes = [
        (e.detail["from"], e.detail["to"]) for e in audit_events(session, "vetting.level_changed")
    ]
    assert changes == [(0, 1), (1, 2), (2, 3)]
    for action in (
        "vetting.identity_recorded",
        "vetting.vog_recorded",
        "vetting.evidence_verified",
    ):
        (event,) = audit_events(session, action)
        assert event.object_kind == "volunteer" and event.object_id == str(volunteer.id)
        assert event.actor_user_id == user.id and event.vr_code == "VR09"
    skill = session.get(VolunteerSkill, check.volunteer_skill_id)
    assert skill is not None and skill.verified_at == clock.now()
    assert skill.verified_by == user.email
    assert check.checked_by_user_id == user.id and check.checked_by_label == user.email


def test_revoking_a_check_lowers_the_level_at_once(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    point = make_support_point(session)
    user = coordinator(session, point)
    volunteer = make_volunteer(session, point=point)
    identity = see_identity(session, volunteer, user)
    see_vog(session, volunteer, user, settings, days_ago(10))
    assert volunteer.vetting_level == 2

    clock.advance(timedelta(minutes=5))
    service.revoke_check(
        session,
        check=identity,
        volunteer=volunteer,
        reason="Verkeerde persoon gecontroleerd",
        coordinator=user,
        scope=scope_of(session, user),
        now=clock.now(),
    )

    assert refreshed(session, volunteer).vetting_level == 0
    assert identity.revoked_at == clock.now() and identity.revoke_reason
    (event,) = audit_events(session, "vetting.check_revoked")
    assert event.detail == {"check_id": identity.id, "kind": "identity_seen"}


def test_revoking_evidence_unmarks_the_skill(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    point = make_support_point(session)
    user = coordinator(session, point)
    volunteer = make_volunteer(
        session, point=point, skills=(("ehbo", EvidenceKind.CERTIFICATE, None),)
    )
    see_identity(session, volunteer, user)
    see_vog(session, volunteer, user, settings, days_ago(10))
    check = see_evidence(
        session,
        volunteer,
        user,
        "ehbo",
        EvidenceKind.CERTIFICATE,
        expires_on=today().replace(year=today().year + 1),
    )
    assert volunteer.vetting_level == 3

    service.revoke_check(
        session,
        check=check,
        volunteer=volunteer,
        reason="Certificaat bleek van iemand anders",
        coordinator=user,
        scope=scope_of(session, user),
        now=clock.now(),
    )

    skill = session.get(VolunteerSkill, check.volunteer_skill_id)
    assert skill is not None
    assert skill.verified_at is None and skill.verified_by is None
    assert skill.evidence_expires_at is None
    assert refreshed(session, volunteer).vetting_level == 2


def test_new_evidence_supersedes_the_earlier_verification(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    point = make_support_point(session)
    user = coordinator(session, point)
    volunteer = make_volunteer(
        session, point=point, skills=(("ehbo", EvidenceKind.CERTIFICATE, None),)
    )
    first = see_evidence(session, volunteer, user, "ehbo", EvidenceKind.CERTIFICATE)
    clock.advance(timedelta(days=1))
    second = see_evidence(session, volunteer, user, "ehbo", EvidenceKind.DIPLOMA)

    assert first.revoked_at == clock.now() and second.revoked_at is None
    live = [
        c
        for c in service.checks_of(session, volunteer=volunteer)
        if c.kind is CheckKind.PROFESSIONAL_EVIDENCE and service.counts(c, clock.now())
    ]
    assert live == [second]


def test_a_changed_skill_claim_stops_counting(
    session: Session, clock: ManualClock, settings: Settings
) -> None:
    """The volunteer edits a verified claim on their page: the verification no longer counts."""
    point = make_support_point(session)
    user = coordinator(session, point)
    volunteer = make_volunteer(
        session, point=point, skills=(("verpleegtechnisch", EvidenceKind.DIPLOMA, None),)
    )
    see_identity(session, volunteer, user)
    see_vog(session, volunteer, user, settings, days_ago(10))
    check = see_evidence(session, volunteer, user, "verpleegtechnisch")
    skill = session.get(VolunteerSkill, check.volunteer_skill_id)
    assert skill is not None
    skill.verified_at = None  # what brigades.volunteers.profile does to a changed claim
    session.add(skill)
    session.flush()

    assert service.level_of(session, volunteer=volunteer, now=clock.now()) == 2


def test_a_viewer_cannot_record_a_check(session: Session, clock: ManualClock) -> None:
    point = make_support_point(session)
    viewer = make_user(session, role=Role.VIEWER)
    volunteer = make_volunteer(session, point=point)
    with pytest.raises(Forbidden):
        see_identity(session, volunteer, viewer)
