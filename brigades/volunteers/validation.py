"""Checking what a volunteer entered, field by field, with Dutch messages.

Every check of one form runs, so a page can show all problems at once; the errors are raised
together as :class:`InvalidFields`. Nothing here writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session

import geo
from brigades.errors import InvalidInput
from brigades.skills import service as skills_service
from brigades.skills.models import EvidenceKind
from brigades.supportpoints import service as supportpoints_service
from brigades.volunteers.availability import MAX_WINDOWS, Window, merge
from brigades.volunteers.languages import LANGUAGE_CODES
from brigades.volunteers.schemas import SkillClaim, WindowIn

T = TypeVar("T")

_HOUSE_NUMBER = re.compile(r"[1-9][0-9]{0,4}(?:[ -]?[A-Za-z0-9]{1,4}){0,2}")
_BIG_NUMBER = re.compile(r"[0-9]{11}")

NAME_REQUIRED = "Vul je naam in (maximaal 100 tekens)."
HOUSE_NUMBER_INVALID = "Vul een huisnummer in zoals 12, 12a of 12-3 (maximaal 10 tekens)."
UNKNOWN_SKILL = "Deze vaardigheid kennen we niet. Kies uit de lijst."
DUPLICATE_SKILL = "Elke vaardigheid mag maar één keer voorkomen."
BIG_REQUIRED = "Vul je BIG-nummer in: 11 cijfers."
BIG_INVALID = "Een BIG-nummer bestaat uit precies 11 cijfers."
BIG_WITHOUT_REGISTRATION = (
    "Een BIG-nummer hoort bij het bewijs 'BIG-registratie'. Kies dat, of laat het nummer leeg."
)
DETAIL_TOO_LONG = "Houd de toelichting kort: maximaal 200 tekens."
WINDOW_ORDER = "Een tijdvak moet eindigen na het begin (en binnen één dag vallen)."
TOO_MANY_WINDOWS = f"Geef maximaal {MAX_WINDOWS} tijdvakken op."
UNKNOWN_LANGUAGE = "Kies talen uit de lijst."
ADULT_REQUIRED = "Je moet 18 jaar of ouder zijn om je aan te melden."
CONSENT_REQUIRED = (
    "Geef toestemming voor het gebruik van je gegevens; zonder toestemming kunnen we je niet "
    "inzetten."
)


class InvalidFields(InvalidInput):
    """Several fields are wrong; ``errors`` maps each field to its Dutch message."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = dict(errors)

    def as_dict(self) -> dict[str, Any]:
        """The JSON body: the first problem, and all of them in ``errors``."""
        body: dict[str, Any] = dict(super().as_dict())
        body["errors"] = [{"field": f, "message": m} for f, m in self.errors.items()]
        return body


class Collector:
    """Runs checks and gathers their errors instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        """Record a problem (the first one per field wins)."""
        self.errors.setdefault(field, message)

    def run(self, field: str, check: Callable[[], T]) -> T | None:
        """The check's result, or None after recording its error."""
        try:
            return check()
        except InvalidFields as exc:
            for f, m in exc.errors.items():
                self.add(f, m)
        except InvalidInput as exc:
            self.add(exc.field or field, exc.message)
        return None

    def raise_if_any(self) -> None:
        """Raise InvalidFields when anything was recorded."""
        if self.errors:
            raise InvalidFields(self.errors)


@dataclass(frozen=True, slots=True)
class ValidSkill:
    """A skill claim that passed the checks."""

    code: str
    evidence: EvidenceKind
    detail: str | None
    big_number: str | None


def check_name(value: str) -> str:
    """A name of 1-100 characters."""
    name = value.strip()
    if not name or len(name) > 100:
        raise InvalidInput(NAME_REQUIRED, field="name")
    return name


def check_house_number(value: str | None) -> str | None:
    """An optional house number: digits, then optionally a letter or addition."""
    number = (value or "").strip()
    if not number:
        return None
    if len(number) > 10 or not _HOUSE_NUMBER.fullmatch(number):
        raise InvalidInput(HOUSE_NUMBER_INVALID, field="house_number")
    return number


def check_skills(session: Session, claims: Iterable[SkillClaim]) -> list[ValidSkill]:
    """Skill claims against the taxonomy, with their evidence."""
    known = skills_service.skill_codes(session)
    errors = Collector()
    seen: set[str] = set()
    valid: list[ValidSkill] = []
    for claim in claims:
        if claim.code not in known:
            errors.add("skills", UNKNOWN_SKILL)
            continue
        if claim.code in seen:
            errors.add("skills", DUPLICATE_SKILL)
            continue
        seen.add(claim.code)
        prefix = f"skills.{claim.code}"
        big = (claim.big_number or "").strip() or None
        if claim.evidence is EvidenceKind.BIG_REGISTRATION:
            if big is None:
                errors.add(f"{prefix}.big_number", BIG_REQUIRED)
            elif not _BIG_NUMBER.fullmatch(big):
                errors.add(f"{prefix}.big_number", BIG_INVALID)
        elif big is not None:
            field = f"{prefix}.big_number"
            errors.add(
                field, BIG_WITHOUT_REGISTRATION if _BIG_NUMBER.fullmatch(big) else BIG_INVALID
            )
        detail = (claim.detail or "").strip() or None
        if detail is not None and len(detail) > 200:
            errors.add(f"{prefix}.detail", DETAIL_TOO_LONG)
        valid.append(ValidSkill(claim.code, claim.evidence, detail, big))
    errors.raise_if_any()
    return valid


def check_windows(windows: Iterable[WindowIn | Window]) -> list[Window]:
    """Weekly windows, validated and merged."""
    raw: list[Window] = []
    for w in windows:
        day, start, end = (
            (w.weekday, w.start_minute, w.end_minute) if isinstance(w, WindowIn) else w
        )
        if not (0 <= day <= 6 and 0 <= start < end <= 1440):
            raise InvalidInput(WINDOW_ORDER, field="availability")
        raw.append((day, start, end))
    if len(raw) > MAX_WINDOWS:
        raise InvalidInput(TOO_MANY_WINDOWS, field="availability")
    return merge(raw)


def check_languages(codes: Iterable[str]) -> list[str]:
    """ISO 639-1 codes from the fixed list, without duplicates, in the given order."""
    result: list[str] = []
    for code in codes:
        normal = code.strip().lower()
        if normal not in LANGUAGE_CODES:
            raise InvalidInput(UNKNOWN_LANGUAGE, field="languages")
        if normal not in result:
            result.append(normal)
    return result


def check_location(postcode: str, house_number: str | None) -> geo.Location:
    """The home postcode located offline (PO boxes and unknown codes refused)."""
    return supportpoints_service.locate_home(postcode, house_number)


def check_support_point(
    session: Session, requested: int | None, location: geo.Location
) -> int | None:
    """The chosen (or default) buurtsteunpunt for this location."""
    return supportpoints_service.resolve_choice(
        session,
        requested=requested,
        lat=location.lat,
        lon=location.lon,
        vr_code=location.vr_code,
    )
