"""Checking a task before it is stored: one set of rules for the form, the API and the CSV.

A :class:`TaskDraft` is what a person or system asked for (typed); :func:`check` returns the
task as it will be stored (:class:`ValidTask`, located) or every problem found, each with the
field it concerns and a Dutch message. Nothing here touches the database: the
:class:`TaskContext` carries what the checks need (the type catalogue, the incident's area),
so that a CSV of 10,000 rows is checked in memory.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import geo
from brigades.clock import AMSTERDAM, as_utc
from brigades.tasks.models import MAX_DESCRIPTION, TaskPriority, TaskType

MAX_SLOTS = 50
MIN_DURATION = 5
MAX_DURATION = 12 * 60
MAX_WINDOW = timedelta(hours=24)
MAX_AHEAD = timedelta(days=90)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_HOUSE_NUMBER = re.compile(r"^[1-9][0-9]{0,4}(?:\s?-?\s?[A-Za-z0-9]{1,6})?$")

# Words that put medical detail in a text sent by SMS to volunteers who have not accepted yet.
# Not exhaustive (no list is): the help text asks for no medical detail at all.
MEDICAL_TERMS = frozenset(
    {
        "aids",
        "alzheimer",
        "beroerte",
        "chemo",
        "chemokuur",
        "copd",
        "corona",
        "covid",
        "decubitus",
        "dementie",
        "depressie",
        "diabetes",
        "epilepsie",
        "hartfalen",
        "hiv",
        "infuus",
        "insuline",
        "kanker",
        "katheter",
        "morfine",
        "parkinson",
        "psychose",
        "schizofrenie",
        "sonde",
        "stoma",
        "suicidaal",
        "tbc",
        "tumor",
        "verslaafd",
        "verslaving",
        "wondverzorging",
    }
)
DESCRIPTION_HELP_NL = (
    "Kort en zonder medische gegevens (hoogstens 280 tekens): deze tekst gaat per sms naar "
    "vrijwilligers die de taak nog niet hebben aangenomen. Noem geen namen, ziektes of "
    "medicijnen."
)

PRIORITY_WORDS: Mapping[str, TaskPriority] = {
    "spoed": TaskPriority.URGENT,
    "urgent": TaskPriority.URGENT,
    "hoog": TaskPriority.HIGH,
    "high": TaskPriority.HIGH,
    "normaal": TaskPriority.NORMAL,
    "normal": TaskPriority.NORMAL,
    "": TaskPriority.NORMAL,
    "laag": TaskPriority.LOW,
    "low": TaskPriority.LOW,
}


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field (API field name), in Dutch."""

    field: str
    message: str


@dataclass(frozen=True, slots=True)
class TaskDraft:
    """A task as asked for; times are aware (UTC or any zone)."""

    type_code: str
    postcode: str
    house_number: str
    window_start: datetime
    window_end: datetime
    duration_minutes: int
    description: str
    slots: int = 1
    priority: TaskPriority = TaskPriority.NORMAL
    street: str | None = None
    city: str | None = None
    contact_instructions: str | None = None
    external_reference: str | None = None


@dataclass(frozen=True, slots=True)
class ValidTask:
    """A checked task, located at its PC4, ready to be stored."""

    draft: TaskDraft
    type_code: str
    location: geo.Location
    house_number: str
    street: str | None
    city: str
    window_start: datetime
    window_end: datetime
    description: str
    contact_instructions: str | None
    external_reference: str | None


@dataclass
class TaskContext:
    """What checking needs: the catalogue, the incident's region and area, the time, and the
    external references already taken (updated as rows of one import are accepted)."""

    types: Mapping[str, TaskType]
    vr_code: str
    vr_name: str
    in_area: Callable[[geo.Location], bool]
    now: datetime
    used_references: set[str] = field(default_factory=set)
    _names: dict[str, str] = field(default_factory=dict)

    def type_code_for(self, text: str) -> str | None:
        """The type code for a code or a Dutch name ("Boodschappen", "boodschappen")."""
        key = _fold(text).replace(" ", "_").replace("-", "_")
        if key in self.types:
            return key
        if not self._names:
            self._names.update({_fold(t.name_nl): code for code, t in self.types.items()})
        return self._names.get(_fold(text))


def _fold(text: str) -> str:
    """Lower case without accents, single spaces (for matching words and names)."""
    if text.isascii():
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def medical_terms_in(text: str) -> list[str]:
    """The medical words found in a text (for a refusal that says which)."""
    words = set(re.findall(r"[a-z]+", _fold(text)))
    return sorted(words & MEDICAL_TERMS)


def _text(value: str | None, *, limit: int, name: str, errors: list[FieldError]) -> str | None:
    cleaned = " ".join(value.split()) if value else ""
    if len(cleaned) > limit:
        errors.append(FieldError(name, f"Te lang: hoogstens {limit} tekens."))
    elif _CONTROL.search(cleaned):
        errors.append(FieldError(name, "Bevat tekens die hier niet kunnen."))
    return cleaned or None


def check(draft: TaskDraft, ctx: TaskContext) -> ValidTask | list[FieldError]:
    """The task as it will be stored, or every problem with it."""
    errors: list[FieldError] = []
    type_code = ctx.type_code_for(draft.type_code or "")
    if type_code is None:
        errors.append(
            FieldError(
                "type_code", f"Onbekend taaktype '{draft.type_code[:40]}'. Kies uit de lijst."
            )
        )

    location: geo.Location | None = None
    try:
        location = geo.locate(draft.postcode, draft.house_number)
    except geo.PostcodeError as exc:
        errors.append(FieldError("postcode", exc.message))
    if location is not None and location.vr_code != ctx.vr_code:
        errors.append(
            FieldError(
                "postcode",
                f"Postcode {location.postcode} ligt in Veiligheidsregio {location.vr_name}, "
                f"niet in {ctx.vr_name} (de regio van dit incident).",
            )
        )
    elif location is not None and not ctx.in_area(location):
        errors.append(
            FieldError(
                "postcode",
                f"Postcode {location.postcode} ({location.plaats}) ligt buiten het gebied van "
                "dit incident.",
            )
        )

    house_number = " ".join((draft.house_number or "").split())
    if not house_number:
        errors.append(FieldError("house_number", "Vul het huisnummer in."))
    elif not _HOUSE_NUMBER.fullmatch(house_number):
        errors.append(FieldError("house_number", "Dit is geen huisnummer (zoals 12, 12a of 12-2)."))
    street = _text(draft.street, limit=120, name="street", errors=errors)
    city = _text(draft.city, limit=80, name="city", errors=errors)

    _check_window(draft, ctx.now, errors)
    if not 1 <= draft.slots <= MAX_SLOTS:
        errors.append(FieldError("slots", f"Het aantal vrijwilligers is 1 tot {MAX_SLOTS}."))

    description = _text(draft.description, limit=MAX_DESCRIPTION, name="description", errors=errors)
    if description is None or len(description) < 3:
        errors.append(FieldError("description", "Beschrijf kort wat er moet gebeuren."))
    elif found := medical_terms_in(description):
        errors.append(
            FieldError(
                "description",
                "Geen medische gegevens in de omschrijving: die gaat per sms naar vrijwilligers "
                f"(gevonden: {', '.join(found)}). Beschrijf alleen wat er moet gebeuren.",
            )
        )
    contact = _text(
        draft.contact_instructions, limit=500, name="contact_instructions", errors=errors
    )
    reference = _text(draft.external_reference, limit=64, name="external_reference", errors=errors)
    if reference is not None and reference in ctx.used_references:
        errors.append(
            FieldError(
                "external_reference",
                f"Er is in dit incident al een taak met referentie '{reference}'.",
            )
        )

    if errors or type_code is None or location is None or description is None:
        return errors
    if reference is not None:
        ctx.used_references.add(reference)
    return ValidTask(
        draft=draft,
        type_code=type_code,
        location=location,
        house_number=house_number,
        street=street,
        city=city or location.plaats,
        window_start=as_utc(draft.window_start),
        window_end=as_utc(draft.window_end),
        description=description,
        contact_instructions=contact,
        external_reference=reference,
    )


def _check_window(draft: TaskDraft, now: datetime, errors: list[FieldError]) -> None:
    start, end = draft.window_start, draft.window_end
    if start.tzinfo is None or end.tzinfo is None:
        errors.append(FieldError("window_start", "Geef tijden met tijdzone."))
        return
    if end <= start:
        errors.append(FieldError("window_end", "Het tijdvak moet eindigen na het begin."))
        return
    if end <= now:
        errors.append(FieldError("window_end", "Dit tijdvak is al voorbij."))
    if start > now + MAX_AHEAD:
        errors.append(FieldError("window_start", "Plan taken hoogstens 90 dagen vooruit."))
    if end - start > MAX_WINDOW:
        errors.append(
            FieldError(
                "window_end",
                "Een tijdvak duurt hoogstens 24 uur; maak voor meer dagen meer taken.",
            )
        )
    if not MIN_DURATION <= draft.duration_minutes <= MAX_DURATION:
        errors.append(
            FieldError(
                "duration_minutes",
                f"De duur is {MIN_DURATION} tot {MAX_DURATION} minuten.",
            )
        )
    elif timedelta(minutes=draft.duration_minutes) > end - start:
        errors.append(FieldError("duration_minutes", "De duur past niet in het tijdvak."))


# --- local (Europe/Amsterdam) input -------------------------------------------------------

_DATE_DUTCH = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")


def parse_date(text: str) -> date | None:
    """A date as 24-11-2026, 24/11/2026 or 2026-11-24; None if it is none of those."""
    text = text.strip()
    try:
        if match := _DATE_DUTCH.fullmatch(text):
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        if match := _DATE_ISO.fullmatch(text):
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return None


def parse_time(text: str) -> tuple[time, bool] | None:
    """A time as 9:30, 09:30 or 09.30, and whether it is 24:00 (the end of the day)."""
    match = _TIME.fullmatch(text.strip())
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if (hour, minute) == (24, 0):
        return time(0, 0), True
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute), False


def local_moment(day: date, moment: time, zone: ZoneInfo = AMSTERDAM) -> datetime | None:
    """An Amsterdam wall-clock time as an aware datetime; None if DST skips it."""
    naive = datetime.combine(day, moment)
    aware = naive.replace(tzinfo=zone)
    # A time in the spring-forward gap does not survive the round trip through UTC.
    if as_utc(aware).astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return aware


def local_window(
    day_text: str, start_text: str, end_text: str
) -> tuple[datetime, datetime] | list[FieldError]:
    """A day and two wall-clock times in Amsterdam as an aware window, or the problems."""
    errors: list[FieldError] = []
    day = parse_date(day_text)
    if day is None:
        errors.append(FieldError("date", "Geen geldige datum (zoals 24-11-2026)."))
    start = parse_time(start_text)
    if start is None or start[1]:
        errors.append(FieldError("start", "Geen geldige begintijd (zoals 09:30)."))
    end = parse_time(end_text)
    if end is None:
        errors.append(FieldError("end", "Geen geldige eindtijd (zoals 11:00)."))
    if errors or day is None or start is None or end is None:
        return errors
    begin = local_moment(day, start[0])
    finish = local_moment(day + timedelta(days=1) if end[1] else day, end[0])
    gap = "Dit tijdstip bestaat niet op die dag (de klok gaat een uur vooruit)."
    if begin is None:
        errors.append(FieldError("start", gap))
    if finish is None:
        errors.append(FieldError("end", gap))
    if errors or begin is None or finish is None:
        return errors
    return begin, finish
