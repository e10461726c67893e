"""Demo data: one realistic region with buurtsteunpunten and synthetic volunteers.

``seed_region`` only touches the session: the same seed on the same database state gives the same
rows. Volunteers are spread over the region's PC4 areas in proportion to their inhabitants and
attached to the nearest buurtsteunpunt, like a real sign-up (see ``population.py`` for the phone
number range and why it can never reach a real phone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from brigades import clock
from brigades.db import session_scope
from brigades.demo import places, population
from brigades.errors import InvalidInput
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import Volunteer
from geo import load_reference_data


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run created."""

    region: str
    region_name: str
    support_points_created: int
    support_points_total: int
    volunteers_created: int


def seed_region(
    session: Session,
    *,
    region: str,
    volunteers: int,
    seed: int,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> DemoSummary:
    """Create buurtsteunpunten (unless the region has some) and ``volunteers`` synthetic volunteers.

    ``progress`` is called after every batch with the number of volunteers created so far.
    """
    reference = load_reference_data()
    if region not in reference.regions:
        raise InvalidInput(f"Onbekende veiligheidsregio: {region}.", field="region")
    if volunteers < 0:
        raise InvalidInput("Het aantal vrijwilligers kan niet negatief zijn.", field="volunteers")
    points = list(
        session.exec(
            select(SupportPoint)
            .where(SupportPoint.vr_code == region, SupportPoint.active == True)  # noqa: E712
            .order_by(col(SupportPoint.id))
        )
    )
    created_points = 0
    if not points:
        points = places.create_support_points(session, reference, region, seed=seed, now=now)
        created_points = len(points)
    created = population.create_volunteers(
        session, reference, region, points, count=volunteers, seed=seed, now=now, progress=progress
    )
    return DemoSummary(
        region=region,
        region_name=reference.regions[region].name,
        support_points_created=created_points,
        support_points_total=len(points),
        volunteers_created=created,
    )


def count_volunteers(session: Session) -> int:
    """How many volunteers the database holds (any kind)."""
    return int(session.exec(select(func.count()).select_from(Volunteer)).one())


def run_cli(engine: Engine, *, region: str, volunteers: int, if_empty: bool, seed: int) -> None:
    """``zorgbrigade demo``: seed a region with a progress bar, committing once at the end."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    console = Console()
    with session_scope(engine) as session:
        if if_empty and count_volunteers(session) > 0:
            console.print("Er zijn al vrijwilligers; demodata overgeslagen.")
            return
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task(f"Demovrijwilligers in {region}", total=volunteers)
            try:
                summary = seed_region(
                    session,
                    region=region,
                    volunteers=volunteers,
                    seed=seed,
                    now=clock.now(),
                    progress=lambda done: bar.update(task, completed=done),
                )
            except InvalidInput as exc:
                console.print(f"[red]{exc.message}[/red]")
                raise SystemExit(1) from exc
    console.print(
        f"{summary.region} {summary.region_name}: {summary.support_points_total} "
        f"buurtsteunpunten ({summary.support_points_created} nieuw), "
        f"{summary.volunteers_created} synthetische vrijwilligers aangemaakt."
    )
