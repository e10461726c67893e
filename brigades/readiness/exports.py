"""CSV files of the readiness package: semicolon-separated, UTF-8 with BOM (as the volunteer
export), cells that look like formulas kept as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from brigades import clock
from brigades.readiness.figures import LEVELS, WEEK_PARTS, Picture
from brigades.readiness.interest import Candidate
from brigades.volunteers.phone import display_mobile

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def readiness_csv(picture: Picture) -> bytes:
    """One row per area and skill: the area's figures, then the skill's availability and target."""
    header = [
        "gebied_soort",
        "gebied_code",
        "gebied_naam",
        "vr_code",
        "inwoners",
        "geverifieerd",
        *[f"niveau_{lvl}" for lvl in LEVELS],
        "recent_bevestigd",
        "beschikbaar",
        *[key for key, *_ in WEEK_PARTS],
        "vaardigheid",
        "beschikbaar_vaardigheid",
        "doel_per_10000",
        "doel_aantal",
        "tekort",
    ]
    rows = []
    for area in picture.areas:
        base = [
            area.kind.value,
            area.code,
            area.name,
            area.vr_code,
            area.inhabitants,
            area.verified,
            *[area.by_level[lvl] for lvl in LEVELS],
            area.reconfirmed,
            area.available,
            *[area.week_parts.get(key, 0) for key, *_ in WEEK_PARTS],
        ]
        for skill in area.skills:
            rows.append(
                [
                    *base,
                    skill.code,
                    skill.available,
                    "" if skill.target_per_10k is None else skill.target_per_10k,
                    "" if skill.required is None else skill.required,
                    skill.shortfall,
                ]
            )
    return _csv(header, rows)


def care_interest_csv(candidates: Sequence[Candidate]) -> bytes:
    """The recruiters' list."""
    header = [
        "naam",
        "mobiel",
        "gemeente",
        "vr_code",
        "vaardigheden",
        "trainingen",
        "taken_afgerond",
        "aangemeld_op",
        "versie",
    ]
    rows = [
        [
            c.volunteer.name,
            display_mobile(c.volunteer.phone or ""),
            c.volunteer.gm_code,
            c.volunteer.vr_code,
            ", ".join(c.skills),
            ", ".join(c.trainings),
            c.tasks_done,
            clock.local(clock.as_utc(c.interest.opted_in_at)).strftime("%d-%m-%Y"),
            c.interest.consent_version,
        ]
        for c in candidates
    ]
    return _csv(header, rows)
