"""The HTML sign-up and profile form: from posted fields to API schemas, and back for re-display.

The page works without JavaScript, so the form carries everything in plain fields: a checkbox per
skill with evidence fields named after the skill code, a grid of weekdays × dagdelen, and hidden
fields for windows the grid cannot show (set through the API) so saving the form keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from brigades.skills.models import EvidenceKind
from brigades.volunteers import validation
from brigades.volunteers.availability import (
    DAY_PART_KEYS,
    Window,
    grid_windows,
    merge,
    to_grid,
)
from brigades.volunteers.models import PreferredChannel
from brigades.volunteers.phone import MALFORMED as PHONE_MALFORMED
from brigades.volunteers.phone import display_mobile
from brigades.volunteers.profile import Profile
from brigades.volunteers.schemas import VolunteerSignUp, VolunteerUpdate
from brigades.web import forms as web_forms

M = TypeVar("M", bound=BaseModel)

DISTANCES_KM = (1, 2, 3, 5, 10, 15, 20, 25, 30, 40, 50)
MAX_FIELD = 2000  # longer form values are cut before checking: the checks refuse them anyway

_MESSAGES = {
    "name": validation.NAME_REQUIRED,
    "phone": PHONE_MALFORMED,
    "postcode": "Dit is geen geldige postcode. Een postcode is vier cijfers en twee letters, "
    "zoals 3512 JK.",
    "house_number": validation.HOUSE_NUMBER_INVALID,
    "support_point_id": "Kies een buurtsteunpunt uit de lijst.",
    "availability": validation.WINDOW_ORDER,
    "max_distance_km": "Kies een afstand tussen 1 en 50 km.",
    "languages": validation.UNKNOWN_LANGUAGE,
    "preferred_channel": "Kies hoe we je berichten sturen.",
    "skills": validation.UNKNOWN_SKILL,
}
_SKILL_MESSAGES = {
    "detail": validation.DETAIL_TOO_LONG,
    "big_number": validation.BIG_INVALID,
    "evidence": "Kies een soort bewijs uit de lijst.",
}


@dataclass
class SkillEntry:
    """One skill row of the form."""

    checked: bool = False
    evidence: str = EvidenceKind.SELF_DECLARED.value
    detail: str = ""
    big_number: str = ""


@dataclass
class ProfileForm:
    """What the form holds: posted values to re-display, or a stored profile to edit."""

    name: str = ""
    phone: str = ""
    postcode: str = ""
    house_number: str = ""
    support_point_id: int | None = None
    skills: dict[str, SkillEntry] = field(default_factory=dict)
    cells: set[str] = field(default_factory=set)  # "weekday-daypart", e.g. "0-ochtend"
    extra_windows: list[Window] = field(default_factory=list)
    max_distance_km: int = 5
    languages: list[str] = field(default_factory=lambda: ["nl"])
    preferred_channel: str = PreferredChannel.SMS.value
    adult_confirmed: bool = False
    consent: bool = False

    def skill(self, code: str) -> SkillEntry:
        """The entry of one skill (blank when not ticked)."""
        return self.skills.get(code) or SkillEntry()

    @property
    def distances(self) -> list[int]:
        """The choices of the distance select, including an unusual stored value."""
        return sorted({*DISTANCES_KM, self.max_distance_km})

    @classmethod
    def from_form(cls, form: FormData) -> ProfileForm:
        """Read posted fields (unknown fields ignored; values trimmed and capped)."""

        def one(name: str) -> str:
            value = web_forms.single(form, name)
            return value.strip()[:MAX_FIELD] if isinstance(value, str) else ""

        def many(name: str) -> list[str]:
            return [v.strip()[:MAX_FIELD] for v in form.getlist(name) if isinstance(v, str)][:200]

        skills: dict[str, SkillEntry] = {}
        for code in many("skill"):
            skills[code] = SkillEntry(
                checked=True,
                evidence=one(f"evidence_{code}") or EvidenceKind.SELF_DECLARED.value,
                detail=one(f"detail_{code}"),
                big_number=one(f"big_{code}"),
            )
        extra: list[Window] = []
        for raw in many("extra_window"):
            parts = raw.split(":")
            if len(parts) == 3 and all(p.isdigit() and len(p) <= 4 for p in parts):
                extra.append((int(parts[0]), int(parts[1]), int(parts[2])))
        distance = one("max_distance_km")
        point = one("support_point_id")
        return cls(
            name=one("name"),
            phone=one("phone"),
            postcode=one("postcode"),
            house_number=one("house_number"),
            support_point_id=int(point) if point.isdigit() and len(point) <= 9 else None,
            skills=skills,
            cells={c for c in many("avail") if _valid_cell(c)},
            extra_windows=extra[:50],
            max_distance_km=int(distance) if distance.isdigit() and len(distance) <= 3 else 0,
            languages=many("language"),
            preferred_channel=one("preferred_channel"),
            adult_confirmed=one("adult_confirmed") == "ja",
            consent=one("consent") == "ja",
        )

    @classmethod
    def from_profile(cls, profile: Profile) -> ProfileForm:
        """The form filled in with a stored profile."""
        v = profile.volunteer
        cells, extra = to_grid(profile.window_tuples)
        return cls(
            name=v.name or "",
            phone=display_mobile(v.phone or ""),
            postcode=v.postcode or "",
            house_number=v.house_number or "",
            support_point_id=v.support_point_id,
            skills={
                s.skill_code: SkillEntry(
                    checked=True,
                    evidence=s.evidence_kind.value,
                    detail=s.evidence_detail or "",
                    big_number=s.big_number or "",
                )
                for s in profile.skills
            },
            cells={f"{d}-{p}" for d, p in cells},
            extra_windows=extra,
            max_distance_km=v.max_distance_km,
            languages=list(v.languages),
            preferred_channel=v.preferred_channel.value,
        )

    def windows(self) -> list[Window]:
        """The grid cells and the extra windows as merged weekly windows."""
        cells = []
        for cell in self.cells:
            day, part = cell.split("-", 1)
            cells.append((int(day), part))
        return merge([*grid_windows(cells), *self.extra_windows])

    def _profile_payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "postcode": self.postcode,
            "house_number": self.house_number or None,
            "support_point_id": self.support_point_id,
            "skills": [
                {
                    "code": code,
                    "evidence": entry.evidence,
                    "detail": entry.detail or None,
                    "big_number": entry.big_number or None,
                }
                for code, entry in self.skills.items()
            ],
            "availability": [
                {"weekday": d, "start_minute": s, "end_minute": e} for d, s, e in self.windows()
            ],
            "max_distance_km": self.max_distance_km,
            "languages": self.languages,
            "preferred_channel": self.preferred_channel,
        }

    def to_sign_up(self) -> VolunteerSignUp:
        """The API schema of a sign-up, or raise FormInvalid with Dutch messages."""
        payload = self._profile_payload()
        payload.update(phone=self.phone, adult_confirmed=self.adult_confirmed, consent=self.consent)
        return _validate(VolunteerSignUp, payload)

    def to_update(self, *, keep_support_point: bool) -> VolunteerUpdate:
        """The API schema of a profile change (everything on the form), or raise FormInvalid."""
        payload = self._profile_payload()
        if not keep_support_point:
            del payload["support_point_id"]
        return _validate(VolunteerUpdate, payload)


def _valid_cell(cell: str) -> bool:
    day, _, part = cell.partition("-")
    return day.isdigit() and len(day) == 1 and int(day) <= 6 and part in DAY_PART_KEYS


class FormInvalid(validation.InvalidFields):
    """The form could not even become an API schema.

    ``partial`` is the same form with the offending fields set to harmless values, so the
    service can still check everything else and the page can show all problems at once.
    """

    def __init__(self, errors: dict[str, str], partial: BaseModel | None) -> None:
        super().__init__(errors)
        self.partial = partial


# Stand-ins for fields that failed the schema: valid, and never saved (an error is already known).
_PLACEHOLDERS: dict[str, Any] = {
    "name": "-",
    "phone": "0612345678",
    "postcode": "1011",
    "house_number": None,
    "support_point_id": None,
    "availability": [],
    "max_distance_km": 5,
    "languages": [],
    "preferred_channel": PreferredChannel.SMS.value,
}


def _patched(payload: dict[str, Any], exc: ValidationError) -> dict[str, Any]:
    patched = dict(payload)
    bad_skills: set[int] = set()
    for err in exc.errors():
        loc = err.get("loc", ())
        top = str(loc[0]) if loc else ""
        if top == "skills" and len(loc) >= 2 and isinstance(loc[1], int):
            bad_skills.add(loc[1])
        elif top in _PLACEHOLDERS:
            patched[top] = _PLACEHOLDERS[top]
            if top == "postcode":
                patched["support_point_id"] = None
    if bad_skills:
        patched["skills"] = [s for i, s in enumerate(payload["skills"]) if i not in bad_skills]
    return patched


def _validate(model: type[M], payload: dict[str, Any]) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = _dutch_errors(exc, payload)
        try:
            partial: BaseModel | None = model.model_validate(_patched(payload, exc))
        except ValidationError:
            partial = None
        raise FormInvalid(errors, partial) from None


def _dutch_errors(exc: ValidationError, payload: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        loc = err.get("loc", ())
        top = str(loc[0]) if loc else ""
        if top == "skills" and len(loc) >= 3 and isinstance(loc[1], int):
            code = payload["skills"][loc[1]]["code"]
            sub = str(loc[2])
            key = f"skills.{code}.{sub}" if sub in _SKILL_MESSAGES else "skills"
            errors.setdefault(key, _SKILL_MESSAGES.get(sub, validation.UNKNOWN_SKILL))
        else:
            errors.setdefault(top, _MESSAGES.get(top, "Dit veld klopt niet."))
    return errors or {"": "Er ging iets mis met de gegevens van dit formulier."}
