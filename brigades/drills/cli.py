"""``zorgbrigade drill``: run a simulated surge from the command line, with a progress bar."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

drill_app = typer.Typer(
    help="Oefeningen: gesimuleerde pieken en hun evaluatie.", no_args_is_help=True
)


@drill_app.command("run")
def run(
    scenario: Annotated[
        str | None, typer.Argument(help="Scenarionaam (meegeleverd) of pad naar een JSON-bestand.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Map voor report.html, report.json en de CSV-bestanden.")
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            help="Lege database voor de simulatie (standaard: tijdelijk SQLite); een database "
            "met gegevens of echte vrijwilligers wordt geweigerd."
        ),
    ] = None,
    drill_id: Annotated[
        int | None,
        typer.Option(help="Een geplande oefening uit de database uitvoeren (de worker)."),
    ] = None,
) -> None:
    """Replay a scenario against a synthetic population and write the after-action report."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from brigades import clock
    from brigades.db import make_engine
    from brigades.drills import presentation, report, service
    from brigades.drills import scenario as scenarios
    from brigades.drills import scratch as scratch_db
    from brigades.errors import DomainError
    from brigades.settings import Settings

    console = Console()
    settings = Settings()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("Oefening", total=1.0)

        def progress(share: float, note: str) -> None:
            bar.update(task, completed=share, description=note)

        if drill_id is not None:
            engine = make_engine(settings.database_url)
            try:
                run_id = service.run_simulation(
                    engine, settings, drill_id=drill_id, scratch_url=database, progress=progress
                )
            except DomainError as exc:
                console.print(f"[red]Oefening {drill_id} mislukt:[/red] {exc.message}")
                raise SystemExit(2) from exc
            console.print(f"Oefening {drill_id}: evaluatie {run_id} opgeslagen.")
            return
        if scenario is None:
            console.print(
                "[red]Geef een scenario (of --drill-id).[/red] Meegeleverd: "
                + ", ".join(scenarios.shipped())
            )
            raise SystemExit(2)
        try:
            loaded = scenarios.load(scenario)
        except scenarios.ScenarioInvalid as exc:
            console.print("[red]Het scenario klopt niet:[/red]")
            for problem in exc.problems:
                console.print(f"  - {problem}")
            raise SystemExit(2) from exc
        with tempfile.TemporaryDirectory(prefix="zb-oefening-") as directory:
            try:
                scratch = (
                    scratch_db.open_scratch(database)
                    if database
                    else service.scratch_database(Path(directory))
                )
            except scratch_db.NotAScratchDatabase as exc:
                console.print(f"[red]{exc.message}[/red]")
                raise SystemExit(2) from exc
            try:
                built = service.simulate(scratch, settings, loaded, progress=progress)
            finally:
                scratch.dispose()
    stamp = clock.format_local(clock.now(), "%Y%m%d-%H%M%S")
    target = out or Path(f"oefening-{loaded.key or 'scenario'}-{stamp}")
    target.mkdir(parents=True, exist_ok=True)
    (target / "report.html").write_text(presentation.standalone_html(built), encoding="utf-8")
    (target / "report.json").write_text(built.to_json(), encoding="utf-8")
    for name, text in report.csv_files(built).items():
        (target / name).write_text(text, encoding="utf-8")
    for label, value in report.summary_rows(built):
        console.print(f"{label}: {value}")
    console.print(f"Evaluatie geschreven naar {target}/ (simulatie {built.wall_seconds:.0f} s)")
