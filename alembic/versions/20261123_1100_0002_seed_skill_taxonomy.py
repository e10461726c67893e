"""seed the skill taxonomy

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# code, name_nl, name_en, category, min_evidence, description_nl
SKILLS = [
    (
        "boodschappen",
        "Boodschappen doen",
        "Groceries",
        "practical",
        "self_declared",
        "Boodschappen halen en thuisbrengen.",
    ),
    (
        "maaltijden",
        "Maaltijden koken of brengen",
        "Meals",
        "practical",
        "self_declared",
        "Een maaltijd bereiden of bezorgen.",
    ),
    (
        "gezelschap",
        "Gezelschap / check-in bezoek",
        "Company and check-in visits",
        "social",
        "self_declared",
        "Even langsgaan, een praatje maken, kijken of alles goed gaat.",
    ),
    (
        "telefonische_checkin",
        "Telefonische check-in",
        "Telephone check-in",
        "social",
        "self_declared",
        "Iemand bellen om te horen hoe het gaat.",
    ),
    (
        "vervoer_auto",
        "Vervoer met auto",
        "Transport by car",
        "practical",
        "self_declared",
        "Iemand met de eigen auto naar een afspraak brengen (rijbewijs B).",
    ),
    (
        "begeleiding_afspraak",
        "Begeleiding naar afspraak",
        "Accompany to an appointment",
        "social",
        "self_declared",
        "Meegaan naar de huisarts, apotheek of het ziekenhuis.",
    ),
    (
        "medicatieherinnering",
        "Medicatieherinnering",
        "Medication reminders",
        "care",
        "self_declared",
        "Iemand eraan herinneren medicijnen in te nemen (niet toedienen).",
    ),
    (
        "mantelzorg_hulp",
        "Hulp aan mantelzorger",
        "Help for an informal carer",
        "social",
        "self_declared",
        "Een mantelzorger even ontlasten.",
    ),
    (
        "zorglocatie_ondersteuning",
        "Ondersteuning in zorglocatie",
        "Support work in a care home",
        "care",
        "self_declared",
        "Helpen in een verpleeghuis of zorglocatie, zonder zorgtaken.",
    ),
    (
        "lichte_persoonlijke_verzorging",
        "Lichte persoonlijke verzorging",
        "Light personal care",
        "care",
        "work_experience",
        "Helpen met wassen, aankleden, eten (ervaring nodig).",
    ),
    (
        "verpleegtechnisch",
        "Verpleegtechnische handelingen",
        "Nursing procedures",
        "professional",
        "diploma",
        "Voor verpleegkundigen en verzorgenden IG met diploma of BIG.",
    ),
    (
        "ehbo",
        "EHBO",
        "First aid",
        "care",
        "certificate",
        "Eerste hulp bij ongelukken (EHBO- of BHV-certificaat).",
    ),
    (
        "tolk_taal",
        "Tolk / taal",
        "Interpreting / language",
        "social",
        "self_declared",
        "Vertalen of tolken voor iemand die geen Nederlands spreekt.",
    ),
    (
        "klussen",
        "Klusjes in huis",
        "Odd jobs at home",
        "practical",
        "self_declared",
        "Kleine klusjes zoals een lamp vervangen of de vuilnisbak buiten zetten.",
    ),
    (
        "huisdieren",
        "Huisdieren verzorgen",
        "Pet care",
        "practical",
        "self_declared",
        "De hond uitlaten of de kat eten geven.",
    ),
    (
        "administratie",
        "Hulp bij post en administratie",
        "Help with post and paperwork",
        "social",
        "self_declared",
        "Helpen met brieven, formulieren of de telefoon.",
    ),
]


def upgrade() -> None:
    skill = sa.table(
        "skill",
        sa.column("code", sa.String),
        sa.column("name_nl", sa.String),
        sa.column("name_en", sa.String),
        sa.column("category", sa.String),
        sa.column("min_evidence", sa.String),
        sa.column("description_nl", sa.String),
        sa.column("sort_order", sa.Integer),
        sa.column("active", sa.Boolean),
    )
    op.bulk_insert(
        skill,
        [
            {
                "code": code,
                "name_nl": name_nl,
                "name_en": name_en,
                "category": category,
                "min_evidence": min_evidence,
                "description_nl": description,
                "sort_order": (i + 1) * 10,
                "active": True,
            }
            for i, (code, name_nl, name_en, category, min_evidence, description) in enumerate(
                SKILLS
            )
        ],
    )


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM skill"))
