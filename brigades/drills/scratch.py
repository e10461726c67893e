"""The scratch database of a simulated surge, and the guard that keeps it a scratch database.

A simulation writes tens of thousands of synthetic volunteers, offers and messages. By default it
gets a new SQLite file of its own; ``zorgbrigade drill run --database URL`` may name another one
(a PostgreSQL database, to measure there), but only an *empty* one: no tables at all (it is then
migrated here), or a migrated Zorgbrigade schema holding nothing but the reference data the
migrations seed. A database with real volunteers, or any application data, is refused before
anything is written, so a synthetic population can never end up in a real database.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, inspect, select, table
from sqlmodel import col

from brigades import migrate
from brigades.db import make_engine
from brigades.errors import Conflict
from brigades.volunteers.models import Volunteer

# Tables that hold application data (not the reference data the migrations seed).
DATA_TABLES = (
    "volunteer",
    "app_user",
    "incident",
    "care_task",
    "offer",
    "drill",
    "outbox_message",
    "inbound_message",
    "support_point",
)


class NotAScratchDatabase(Conflict):
    """The database given for a simulation is not an empty scratch database."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"Deze database is geen lege oefendatabase: {reason}. Geef een lege database "
            f"(of laat --database weg voor een tijdelijke). / Not an empty scratch database: "
            f"refusing to write a synthetic population into it."
        )


def refusal(engine: Engine) -> str | None:
    """Why ``engine``'s database may not be a simulation's scratch database (None: it may)."""
    tables = set(inspect(engine).get_table_names())
    if not tables:
        return None
    if "alembic_version" not in tables or "volunteer" not in tables:
        return "er staan al tabellen in die niet van een lege Zorgbrigade-database zijn"
    with engine.connect() as conn:
        real = conn.execute(
            select(func.count()).select_from(Volunteer).where(col(Volunteer.synthetic).is_(False))
        ).scalar_one()
        if real:
            return f"er staan {real} echte (niet-synthetische) vrijwilligers in"
        for name in DATA_TABLES:
            if (
                name in tables
                and conn.execute(select(func.count()).select_from(table(name))).scalar_one()
            ):
                return f"de tabel {name} bevat al gegevens"
    return None


def open_scratch(url: str) -> Engine:
    """An engine on an empty scratch database, migrated to head; NotAScratchDatabase otherwise."""
    engine = make_engine(url, keep_connections=True)
    try:
        reason = refusal(engine)
    except Exception:
        engine.dispose()
        raise
    if reason is not None:
        engine.dispose()
        raise NotAScratchDatabase(reason)
    migrate.upgrade(engine, "head")
    return engine
