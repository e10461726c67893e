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
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from brigades.demo import data
from brigades.settings import Settings
from brigades.skills.models import Skill
from brigades.supportpoints.models import SupportPoint
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
    if count == 0:
        return 0
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
        rows = []
        extras = []
        for _ in range(size):
            area = areas[bisect.bisect_right(cumulative, rng.randrange(cumulative[-1]))]
            if area.pc4 not in nearest:
                found = index.nearest(area.lat, area.lon, 1)
                nearest[area.pc4] = found[0].id if found else None
            row, extra = _volunteer(
                rng,
                area=area,
                support_point_id=nearest[area.pc4],
                point_names=point_names,
                taken=taken,
                skills=skills,
                consent_version=consent_version,
                now=now,
            )
            rows.append(row)
            extras.append(extra)
        ids = (
            session.execute(
                insert(Volunteer).returning(col(Volunteer.id), sort_by_parameter_order=True), rows
            )
            .scalars()
            .all()
        )
        skill_rows = []
        window_rows = []
        for volunteer_id, (volunteer_skills, windows) in zip(ids, extras, strict=True):
            skill_rows += [{**s, "volunteer_id": volunteer_id} for s in volunteer_skills]
            window_rows += [{**w, "volunteer_id": volunteer_id} for w in windows]
        if skill_rows:
            session.execute(insert(VolunteerSkill), skill_rows)
        if window_rows:
            session.execute(insert(AvailabilityWindow), window_rows)
        done += size
        if progress is not None:
            progress(done)
    return done


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
