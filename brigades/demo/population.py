"""Synthetic volunteers for the demo: spread by inhabitants, with a realistic mix.

Phone numbers are ``+3169`` followed by seven digits (shown as 06-9xxxxxxx). Dutch mobile numbers
are 061–065 and 068 (066 is paging, 067 data); 069 is not issued in the Nummerplan, and
libphonenumber rejects it as invalid, so a demo number can never reach a real phone even if the
``synthetic`` flag were ignored. The flag remains the guard that counts: messages to synthetic
volunteers go to the console provider and the Twilio provider refuses them.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from brigades.demo import data
from brigades.settings import Settings
from brigades.skills.models import Skill
from brigades.supportpoints.models import SupportPoint
from brigades.vetting.models import CheckKind, IdentityDocument, VettingCheck
from brigades.vetting.service import add_years, start_of_day
from brigades.volunteers.models import (
    AvailabilityWindow,
    ConsentMethod,
    PreferredChannel,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)
from geo import Pc4Area, PointIndex, ReferenceData

DEMO_PHONE_PREFIX = "+3169"
_PHONE_SPACE = 10_000_000
BATCH_SIZE = 500
_FORBIDDEN_LETTERS = frozenset({"SA", "SD", "SS"})
_LETTERS = "ABCDEFGHJKLMNPRSTUVWXZ"


@dataclass(frozen=True, slots=True)
class DemoVolunteer:
    """One generated volunteer: its row, skill claims and availability windows (no ids yet)."""

    row: dict[str, Any]
    skills: list[dict[str, Any]]
    windows: list[dict[str, Any]]


def generate(
    session: Session,
    reference: ReferenceData,
    region: str,
    points: Sequence[SupportPoint],
    *,
    count: int,
    seed: int,
    now: datetime,
) -> Iterator[list[DemoVolunteer]]:
    """``count`` synthetic volunteers of a region, in batches of :data:`BATCH_SIZE`.

    Reads the database (numbers already taken, active skills) but writes nothing: callers insert
    the batches (:func:`create_volunteers`, or a bulk loader).
    """
    if count == 0:
        return
    areas = sorted(
        (a for a in reference.pc4s.values() if a.vr_code == region and a.inwoners > 0),
        key=lambda a: a.pc4,
    )
    cumulative = list(itertools.accumulate(a.inwoners for a in areas))
    index = PointIndex.from_points((p.id, p.lat, p.lon) for p in points)
    nearest: dict[int, int | None] = {}
    taken = set(
        session.exec(
            select(Volunteer.phone).where(col(Volunteer.phone).startswith(DEMO_PHONE_PREFIX))
        )
    )
    # Same seed, same database state, same rows; a second run on top of a first one must not
    # repeat its identifiers, so the demo volunteers already present are part of the seed.
    rng = random.Random(f"zorgbrigade-demo:{seed}:{region}:volunteers:{len(taken)}")
    skills = {s.code for s in session.exec(select(Skill).where(Skill.active == True))}  # noqa: E712
    point_names = {p.id: p.name for p in points}
    consent_version = str(Settings.model_fields["consent_version"].default)

    done = 0
    while done < count:
        size = min(BATCH_SIZE, count - done)
        batch = []
        for _ in range(size):
            area = areas[bisect.bisect_right(cumulative, rng.randrange(cumulative[-1]))]
            if area.pc4 not in nearest:
                found = index.nearest(area.lat, area.lon, 1)
                nearest[area.pc4] = found[0].id if found else None
            row, (volunteer_skills, windows) = _volunteer(
                rng,
                area=area,
                support_point_id=nearest[area.pc4],
                point_names=point_names,
                taken=taken,
                skills=skills,
                consent_version=consent_version,
                now=now,
            )
            batch.append(DemoVolunteer(row, volunteer_skills, windows))
        done += size
        yield batch


def create_volunteers(
    session: Session,
    reference: ReferenceData,
    region: str,
    points: Sequence[SupportPoint],
    *,
    count: int,
    seed: int,
    now: datetime,
    progress: Callable[[int], None] | None,
) -> int:
    """Insert ``count`` synthetic volunteers in batches; ``progress`` gets the running total."""
    point_names = {p.id: p.name for p in points}
    done = 0
    for batch in generate(session, reference, region, points, count=count, seed=seed, now=now):
        ids = (
            session.execute(
                insert(Volunteer).returning(col(Volunteer.id), sort_by_parameter_order=True),
                [v.row for v in batch],
            )
            .scalars()
            .all()
        )
        skill_rows = []
        window_rows = []
        for volunteer_id, volunteer in zip(ids, batch, strict=True):
            skill_rows += [{**s, "volunteer_id": volunteer_id} for s in volunteer.skills]
            window_rows += [{**w, "volunteer_id": volunteer_id} for w in volunteer.windows]
        skill_ids: list[int] = []
        if skill_rows:
            skill_ids = list(
                session.execute(
                    insert(VolunteerSkill).returning(
                        col(VolunteerSkill.id), sort_by_parameter_order=True
                    ),
                    skill_rows,
                )
                .scalars()
                .all()
            )
        if window_rows:
            session.execute(insert(AvailabilityWindow), window_rows)
        verified: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for skill_id, skill in zip(skill_ids, skill_rows, strict=True):
            verified.setdefault(skill["volunteer_id"], []).append((skill_id, skill))
        check_rows = [
            check
            for volunteer_id, volunteer in zip(ids, batch, strict=True)
            for check in checks_for(
                volunteer_id, volunteer.row, verified.get(volunteer_id, []), point_names, now=now
            )
        ]
        if check_rows:
            session.execute(insert(VettingCheck), check_rows)
        done += len(batch)
        if progress is not None:
            progress(done)
    return done


# Every row of one multi-row insert carries the same columns.
_VOG_YEARS = int(Settings.model_fields["vog_validity_years"].default)
_CHECK_DEFAULTS: dict[str, Any] = {
    "identity_document": None,
    "issued_on": None,
    "valid_until": None,
    "volunteer_skill_id": None,
    "skill_code": None,
    "evidence_kind": None,
    "register_checked": False,
}


def checks_for(
    volunteer_id: int,
    row: dict[str, Any],
    skills: Sequence[tuple[int, dict[str, Any]]],
    point_names: dict[int | None, str],
    *,
    now: datetime,
) -> list[dict[str, Any]]:
    """The vetting checks behind a demo volunteer's level, as a coordinator would record them.

    A level is derived from checks (:mod:`brigades.vetting.levels`), and the daily vetting job
    brings every stored level in line with them: without checks, every demo volunteer would drop
    to level 0 the first time a worker runs. Level 1 is an identity document seen at the
    volunteer's buurtsteunpunt, level 2 adds a VOG, level 3 the professional evidence of each
    verified skill claim (``skills``: the volunteer's claims with their ids). Dates follow the
    sign-up (no random draws: the generated rows stay the same).
    """
    level = row["vetting_level"]
    if level < 1:
        return []
    seen_at = min(row["phone_verified_at"] + timedelta(days=1), now)
    label = (point_names.get(row["support_point_id"]) or "Buurtsteunpunt") + " (demo)"
    base = {
        **_CHECK_DEFAULTS,
        "volunteer_id": volunteer_id,
        "checked_by_label": label[:120],
        "checked_at": seen_at,
    }
    checks = [
        {
            **base,
            "kind": CheckKind.IDENTITY_SEEN,
            "identity_document": IdentityDocument.IDENTITY_CARD,
        }
    ]
    if level >= 2:
        issued = seen_at.date()
        valid_until = start_of_day(add_years(issued, _VOG_YEARS))
        checks.append(
            {**base, "kind": CheckKind.VOG, "issued_on": issued, "valid_until": valid_until}
        )
    if level >= 3:
        checks += [
            {
                **base,
                "kind": CheckKind.PROFESSIONAL_EVIDENCE,
                "volunteer_skill_id": skill_id,
                "skill_code": skill["skill_code"],
                "evidence_kind": skill["evidence_kind"],
                "checked_at": min(skill["verified_at"], now),
                "valid_until": skill["evidence_expires_at"],
            }
            for skill_id, skill in skills
            if skill["verified_at"] is not None
        ]
    return checks


def _volunteer(
    rng: random.Random,
    *,
    area: Pc4Area,
    support_point_id: int | None,
    point_names: dict[int | None, str],
    taken: set[str | None],
    skills: set[str],
    consent_version: str,
    now: datetime,
) -> tuple[dict[str, Any], tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    created = now - timedelta(minutes=rng.randrange(1, 365 * 24 * 60))
    phone = _phone(rng, taken)
    languages = ["nl"]
    if rng.random() < data.ENGLISH_SHARE:
        languages.append("en")
    if rng.random() < data.EXTRA_LANGUAGE_SHARE:
        codes, weights = zip(*data.EXTRA_LANGUAGES, strict=True)
        languages.append(rng.choices(codes, weights)[0])
    care = rng.random() < data.CARE_SHARE
    volunteer_skills = _skills(rng, skills, care=care, languages=languages, created=created)
    professional = any(s["verified_at"] is not None for s in volunteer_skills)
    vetting = 3 if professional else rng.choices((0, 1, 2), (40, 33, 27))[0]
    in_person = rng.random() < 0.15
    distances, weights = zip(*data.DISTANCES, strict=True)
    row: dict[str, Any] = {
        "public_id": f"{rng.getrandbits(128):032x}",
        "name": f"{rng.choice(data.FIRST_NAMES)} {rng.choice(data.LAST_NAMES)}",
        "phone": phone,
        "phone_verified_at": created + timedelta(minutes=rng.randrange(1, 30)),
        "status": VolunteerStatus.ACTIVE,
        "adult_confirmed": True,
        "postcode": f"{area.pc4} {_letters(rng)}",
        "pc4": area.pc4,
        "lat": area.lat,
        "lon": area.lon,
        "gm_code": area.gm_code,
        "vr_code": area.vr_code,
        "support_point_id": support_point_id,
        "max_distance_km": rng.choices(distances, weights)[0],
        "languages": languages,
        "preferred_channel": PreferredChannel.SMS if rng.random() < 0.7 else PreferredChannel.WEB,
        "sms_opted_out": False,
        "consent_version": consent_version,
        "consent_at": created,
        "consent_method": ConsentMethod.IN_PERSON if in_person else ConsentMethod.ONLINE,
        "consent_recorded_by": point_names.get(support_point_id) if in_person else None,
        "vetting_level": vetting,
        "synthetic": True,
        "link_version": 1,
        "created_at": created,
        "updated_at": created,
    }
    return row, (volunteer_skills, _windows(rng))


def _phone(rng: random.Random, taken: set[str | None]) -> str:
    while True:
        phone = f"{DEMO_PHONE_PREFIX}{rng.randrange(_PHONE_SPACE):07d}"
        if phone not in taken:
            taken.add(phone)
            return phone


def _letters(rng: random.Random) -> str:
    while True:
        letters = rng.choice(_LETTERS) + rng.choice(_LETTERS)
        if letters not in _FORBIDDEN_LETTERS:
            return letters


def _skills(
    rng: random.Random,
    available: set[str],
    *,
    care: bool,
    languages: list[str],
    created: datetime,
) -> list[dict[str, Any]]:
    chosen: dict[str, tuple[str, str | None, datetime | None, datetime | None]] = {}
    wanted = rng.choices((1, 2, 3, 4), (25, 35, 25, 15))[0]
    codes = [s[0] for s in data.EVERYDAY_SKILLS]
    weights = [s[1] for s in data.EVERYDAY_SKILLS]
    evidence = {s[0]: s[2] for s in data.EVERYDAY_SKILLS}
    for _ in range(wanted * 2):
        if len(chosen) >= wanted:
            break
        code = rng.choices(codes, weights)[0]
        chosen.setdefault(code, (rng.choice(evidence[code]), None, None, None))
    if rng.random() < data.EHBO_SHARE:
        expires = created + timedelta(days=rng.randrange(180, 3 * 365))
        chosen["ehbo"] = ("certificate", "EHBO-certificaat (demo)", expires, None)
    # Interpreting is for languages people in need may speak; English alone is rarely the gap.
    other_language = any(code not in ("nl", "en") for code in languages)
    if rng.random() < (0.4 if other_language else 0.03 if "en" in languages else 0):
        chosen["tolk_taal"] = ("self_declared", None, None, None)
    if care:
        kind, detail = rng.choice(data.CARE_EVIDENCE["lichte_persoonlijke_verzorging"])
        verified = created + timedelta(days=rng.randrange(1, 30)) if rng.random() < 0.7 else None
        chosen["lichte_persoonlijke_verzorging"] = (kind, detail, None, verified)
        if rng.random() < 0.35:
            kind, detail = rng.choice(data.CARE_EVIDENCE["verpleegtechnisch"])
            chosen["verpleegtechnisch"] = (kind, detail, None, verified)
    return [
        {
            "skill_code": code,
            "evidence_kind": kind,
            "evidence_detail": detail,
            "evidence_expires_at": expires,
            "verified_at": verified,
            "verified_by": "Buurtsteunpunt (demo)" if verified else None,
            "created_at": created,
        }
        for code, (kind, detail, expires, verified) in sorted(chosen.items())
        if code in available
    ]


def _windows(rng: random.Random) -> list[dict[str, Any]]:
    patterns = data.AVAILABILITY_PATTERNS
    weights = [p[3] for p in patterns]
    picked = {rng.choices(range(len(patterns)), weights)[0] for _ in range(rng.choice((1, 1, 2)))}
    per_day: dict[int, list[tuple[int, int]]] = {}
    for i in sorted(picked):
        days, start, end, _ = patterns[i]
        for day in days:
            per_day.setdefault(day, []).append((start, end))
    windows = []
    for day in sorted(per_day):
        # Merge overlapping windows of one day (mornings and weekends overlap on Saturday).
        merged: list[list[int]] = []
        for start, end in sorted(per_day[day]):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        windows += [{"weekday": day, "start_minute": s, "end_minute": e} for s, e in merged]
    return windows
