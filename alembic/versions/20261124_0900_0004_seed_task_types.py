"""seed the task-type catalogue

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:00:00

Each care-task type with the minimum vetting level (0 phone verified · 1 identity seen · 2 VOG
on file · 3 professional evidence verified) and the skills a volunteer needs for it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# code, name_nl, min_vetting_level, default minutes, skills, description_nl
TASK_TYPES = [
    (
        "boodschappen",
        "Boodschappen",
        1,
        60,
        ["boodschappen"],
        "Boodschappen halen en thuisbrengen.",
    ),
    (
        "maaltijden",
        "Maaltijden",
        1,
        60,
        ["maaltijden"],
        "Een maaltijd bereiden of bezorgen.",
    ),
    (
        "gezelschap",
        "Gezelschap of check-in bezoek",
        2,
        60,
        ["gezelschap"],
        "Langsgaan, een praatje maken en kijken of alles goed gaat.",
    ),
    (
        "telefonische_checkin",
        "Telefonische check-in",
        1,
        20,
        ["telefonische_checkin"],
        "Iemand bellen om te horen hoe het gaat.",
    ),
    (
        "vervoer_afspraak",
        "Vervoer naar afspraak",
        2,
        90,
        ["vervoer_auto"],
        "Iemand met de eigen auto naar een afspraak brengen en terug.",
    ),
    (
        "begeleiding_afspraak",
        "Begeleiding naar afspraak",
        2,
        90,
        ["begeleiding_afspraak"],
        "Meegaan naar de huisarts, apotheek of het ziekenhuis.",
    ),
    (
        "medicatieherinnering",
        "Medicatieherinnering",
        2,
        15,
        ["medicatieherinnering"],
        "Iemand eraan herinneren medicijnen in te nemen (niet toedienen).",
    ),
    (
        "mantelzorg_hulp",
        "Hulp aan mantelzorger",
        2,
        120,
        ["mantelzorg_hulp"],
        "Een mantelzorger even ontlasten.",
    ),
    (
        "zorglocatie_ondersteuning",
        "Ondersteuning zorglocatie",
        2,
        240,
        ["zorglocatie_ondersteuning"],
        "Helpen in een verpleeghuis of zorglocatie, zonder zorgtaken.",
    ),
    (
        "lichte_persoonlijke_verzorging",
        "Lichte persoonlijke verzorging",
        3,
        60,
        ["lichte_persoonlijke_verzorging"],
        "Helpen met wassen, aankleden of eten; alleen met aangetoonde ervaring.",
    ),
]


def upgrade() -> None:
    task_type = sa.table(
        "task_type",
        sa.column("code", sa.String),
        sa.column("name_nl", sa.String),
        sa.column("description_nl", sa.String),
        sa.column("min_vetting_level", sa.Integer),
        sa.column("default_duration_minutes", sa.Integer),
        sa.column("sort_order", sa.Integer),
        sa.column("active", sa.Boolean),
    )
    task_type_skill = sa.table(
        "task_type_skill",
        sa.column("task_type_code", sa.String),
        sa.column("skill_code", sa.String),
    )
    op.bulk_insert(
        task_type,
        [
            {
                "code": code,
                "name_nl": name,
                "description_nl": description,
                "min_vetting_level": level,
                "default_duration_minutes": minutes,
                "sort_order": (i + 1) * 10,
                "active": True,
            }
            for i, (code, name, level, minutes, _skills, description) in enumerate(TASK_TYPES)
        ],
    )
    op.bulk_insert(
        task_type_skill,
        [
            {"task_type_code": code, "skill_code": skill}
            for code, _name, _level, _minutes, skills, _description in TASK_TYPES
            for skill in skills
        ],
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM task_type_skill"))
    op.execute(sa.text("DELETE FROM task_type"))
