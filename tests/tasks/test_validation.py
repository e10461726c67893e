"""The rules a task must meet, whether it comes from the form, the API or a CSV row."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from brigades import clock
from brigades.clock import ManualClock
from brigades.tasks import service
from brigades.tasks.validation import (
    FieldError,
    TaskDraft,
    ValidTask,
    check,
    local_window,
    medical_terms_in,
)
from tests.incidents.factories import make_incident
from tests.tasks.factories import draft

AMS = ZoneInfo("Europe/Amsterdam")


def _check(session: Session, task: TaskDraft, **incident: object) -> ValidTask | list[FieldError]:
    found = make_incident(session, **incident)  # type: ignore[arg-type]
    context = service.context_for(session, incident=found, organisation_id=None, now=_now())
    return check(task, context)


def _now() -> datetime:
    return clock.now()


def _fields(result: ValidTask | list[FieldError]) -> dict[str, str]:
    assert isinstance(result, list), result
    return {e.field: e.message for e in result}


def test_a_good_task_is_located_at_its_pc4(session: Session, clock: ManualClock) -> None:
    result = _check(session, draft())
    assert isinstance(result, ValidTask)
    assert result.location.gm_code == "GM0344" and result.location.pc4 == 3512
    assert result.city == "Utrecht" and result.type_code == "boodschappen"


def test_the_type_may_be_given_by_its_dutch_name(session: Session, clock: ManualClock) -> None:
    result = _check(session, draft(type_code="Lichte persoonlijke verzorging"))
    assert isinstance(result, ValidTask) and result.type_code == "lichte_persoonlijke_verzorging"
    assert (
        "onbekend taaktype"
        in _fields(_check(session, draft(type_code="Ramen lappen")))["type_code"].lower()
    )


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Gezelschap voor meneer met Dementie", ["dementie"]),
        ("Herinneren aan insuline en wondverzorging", ["insuline", "wondverzorging"]),
        ("Boodschappen; mevrouw heeft kanker", ["kanker"]),
        ("Boodschappen halen en even een kop koffie drinken", []),
    ],
)
def test_medical_words_are_found(text: str, found: list[str]) -> None:
    assert medical_terms_in(text) == found


def test_medical_detail_in_the_description_is_refused(session: Session, clock: ManualClock) -> None:
    errors = _fields(_check(session, draft(description="Gezelschap, mevrouw heeft Alzheimer")))
    assert (
        "Geen medische gegevens" in errors["description"] and "alzheimer" in errors["description"]
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"postcode": "1000"}, "postcode", "postbussen"),
        ({"postcode": "12345"}, "postcode", "geen geldige postcode"),
        ({"postcode": "1012 AB"}, "postcode", "niet in Utrecht"),
        ({"house_number": ""}, "house_number", "huisnummer"),
        ({"house_number": "twaalf"}, "house_number", "geen huisnummer"),
        ({"slots": 0}, "slots", "1 tot 50"),
        ({"slots": 51}, "slots", "1 tot 50"),
        ({"duration_minutes": 3}, "duration_minutes", "5 tot 720"),
        ({"duration_minutes": 180}, "duration_minutes", "past niet"),
        ({"description": "x"}, "description", "Beschrijf"),
        ({"description": "a" * 281}, "description", "280"),
    ],
)
def test_field_rules(
    session: Session, clock: ManualClock, changes: dict[str, object], field: str, message: str
) -> None:
    errors = _fields(_check(session, replace(draft(), **changes)))  # type: ignore[arg-type]
    assert message.lower() in errors[field].lower()


def test_window_rules(session: Session, clock: ManualClock) -> None:
    past = draft(start=clock.now() - timedelta(hours=3), hours=1)
    assert "voorbij" in _fields(_check(session, past))["window_end"]
    backwards = replace(draft(), window_end=draft().window_start - timedelta(minutes=1))
    assert "eindigen na het begin" in _fields(_check(session, backwards))["window_end"]
    long = draft(hours=30)
    assert "24 uur" in _fields(_check(session, long))["window_end"]
    far = draft(start=clock.now() + timedelta(days=100))
    assert "90 dagen" in _fields(_check(session, far))["window_start"]


def test_every_problem_is_reported_at_once(session: Session, clock: ManualClock) -> None:
    bad = replace(draft(), postcode="abc", house_number="", slots=0)
    assert set(_fields(_check(session, bad))) == {"postcode", "house_number", "slots"}


def test_the_area_of_the_incident_counts(session: Session, clock: ManualClock) -> None:
    zeist = draft(postcode="3701")
    errors = _fields(_check(session, zeist, vr_code=None, gm_codes=["GM0344"]))
    assert "buiten het gebied" in errors["postcode"]
    assert isinstance(_check(session, zeist, vr_code="VR09"), ValidTask)


def test_a_reference_is_used_once(session: Session, clock: ManualClock) -> None:
    incident = make_incident(session)
    context = service.context_for(session, incident=incident, organisation_id=None, now=_now())
    assert isinstance(check(draft(external_reference="A-1"), context), ValidTask)
    errors = _fields(check(draft(external_reference="A-1"), context))
    assert "al een taak met referentie 'A-1'" in errors["external_reference"]


def test_local_windows_in_amsterdam_time() -> None:
    window = local_window("24-11-2026", "9:30", "11.00")
    assert window == (
        datetime(2026, 11, 24, 9, 30, tzinfo=AMS),
        datetime(2026, 11, 24, 11, 0, tzinfo=AMS),
    )
    assert window[0].astimezone(UTC).hour == 8  # winter time: UTC+1
    summer = local_window("2027-06-01", "09:30", "24:00")
    assert isinstance(summer, tuple)
    assert summer[0].astimezone(UTC).hour == 7  # summer time: UTC+2
    assert summer[1] == datetime(2027, 6, 2, 0, 0, tzinfo=AMS)


def test_local_windows_refuse_impossible_times() -> None:
    # On 28 March 2027 the clock jumps from 02:00 to 03:00.
    gap = local_window("28-03-2027", "02:30", "04:00")
    assert isinstance(gap, list) and "bestaat niet" in gap[0].message
    errors = local_window("31-02-2027", "25:00", "x")
    assert isinstance(errors, list)
    assert {e.field for e in errors} == {"date", "start", "end"}
