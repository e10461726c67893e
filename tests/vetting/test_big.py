"""BIG numbers: 11 digits, nothing more (no invented checksum); the register adapter decides."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from brigades.clock import ManualClock
from brigades.errors import InvalidInput
from brigades.settings import BigRegisterName, Settings
from brigades.skills.models import EvidenceKind
from brigades.vetting import service
from brigades.vetting.big import (
    BigResult,
    DisabledBigRegister,
    is_big_number,
    normalise_big_number,
    register_for,
)
from brigades.vetting.deps import big_register
from tests.accounts.factories import bearer, make_support_point, make_token
from tests.vetting.factories import coordinator, make_volunteer, scope_of


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("12345678901", "12345678901"),
        ("1234 5678 901", "12345678901"),
        (" 19012345601 ", "19012345601"),
        ("123.456.789.01", "12345678901"),
        ("00000000000", "00000000000"),  # form only: no checksum is applied
    ],
)
def test_a_big_number_of_eleven_digits_is_accepted(typed: str, stored: str) -> None:
    assert normalise_big_number(typed) == stored
    assert is_big_number(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "1234567890",  # 10 digits
        "123456789012",  # 12 digits
        "1234567890a",
        "12345-678901",
        "١٢٣٤٥٦٧٨٩٠١",  # Arabic-Indic digits are digits to Python, not to the register
        "1" * 40,
        "BIG12345678901",
    ],
)
def test_anything_else_is_refused_with_a_dutch_message(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise_big_number(typed)
    assert refused.value.field == "big_number"
    assert refused.value.message == "Een BIG-nummer bestaat uit precies 11 cijfers."
    assert not is_big_number(typed)


def test_the_register_is_off_by_default(settings: Settings) -> None:
    assert settings.big_register is BigRegisterName.DISABLED
    register = register_for(settings)
    assert isinstance(register, DisabledBigRegister)
    assert register.lookup("12345678901") is None


@dataclass
class FakeRegister:
    """A register adapter that knows a few numbers (a test double of the BigRegister protocol)."""

    registered: set[str] = field(default_factory=set)
    asked: list[str] = field(default_factory=list)

    def lookup(self, big_number: str) -> BigResult | None:
        self.asked.append(big_number)
        return BigResult(big_number, big_number in self.registered, ("verpleegkundige",))


def test_a_register_that_says_not_registered_refuses_the_evidence(
    session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session)
    user = coordinator(session, point)
    volunteer = make_volunteer(
        session,
        point=point,
        skills=(("verpleegtechnisch", EvidenceKind.BIG_REGISTRATION, "12345678901"),),
    )
    register = FakeRegister(registered={"19012345601"})

    def verify(number: str | None) -> object:
        return service.verify_evidence(
            session,
            volunteer=volunteer,
            skill_code="verpleegtechnisch",
            evidence=EvidenceKind.BIG_REGISTRATION,
            big_number=number,
            expires_on=None,
            reference=None,
            notes=None,
            coordinator=user,
            scope=scope_of(session, user),
            register=register,
            now=clock.now(),
        )

    with pytest.raises(InvalidInput, match="niet \\(meer\\) ingeschreven"):
        verify(None)  # the volunteer's own number is looked up
    assert register.asked == ["12345678901"]

    check = verify("1901 2345 601")
    assert check.big_number == "19012345601" and check.register_checked


def test_a_big_registration_needs_a_number_and_other_evidence_none(
    app: FastAPI, client: TestClient, session: Session, clock: ManualClock
) -> None:
    point = make_support_point(session)
    token, _ = make_token(session, coordinator(session, point))
    volunteer = make_volunteer(
        session, point=point, skills=(("verpleegtechnisch", EvidenceKind.DIPLOMA, None),)
    )
    url = f"/api/v1/vetting/volunteers/{volunteer.id}/evidence"

    missing = client.post(
        url,
        json={"skill_code": "verpleegtechnisch", "evidence": "big_registration"},
        headers=bearer(token),
    )
    assert missing.status_code == 422 and missing.json()["field"] == "big_number"
    short = client.post(
        url,
        json={
            "skill_code": "verpleegtechnisch",
            "evidence": "big_registration",
            "big_number": "123",
        },
        headers=bearer(token),
    )
    assert short.status_code == 422 and "11 cijfers" in short.json()["detail"]
    stray = client.post(
        url,
        json={
            "skill_code": "verpleegtechnisch",
            "evidence": "diploma",
            "big_number": "12345678901",
        },
        headers=bearer(token),
    )
    assert stray.status_code == 422 and stray.json()["field"] == "big_number"

    app.dependency_overrides[big_register] = lambda: FakeRegister(registered={"12345678901"})
    ok = client.post(
        url,
        json={
            "skill_code": "verpleegtechnisch",
            "evidence": "big_registration",
            "big_number": "12345678901",
        },
        headers=bearer(token),
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["register_checked"] is True and ok.json()["big_number"] == "12345678901"
