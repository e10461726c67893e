"""The ``zorgbrigade`` command line."""

from __future__ import annotations

from typing import Annotated

import typer

from brigades import logs
from brigades.accounts.cli import user_app
from brigades.db import make_engine
from brigades.drills.cli import drill_app
from brigades.settings import Environment, Settings

app = typer.Typer(help="Zorgbrigade: regionale zorgbrigades voor code zwart.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(drill_app, name="drill")


def _settings() -> Settings:
    return Settings()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Number of API processes.")] = 1,
) -> None:
    """Run the web application (and, if configured, the outbox worker inside it)."""
    import uvicorn

    settings = _settings()
    logs.configure(settings)
    typer.echo(f"Zorgbrigade draait op http://{host}:{port}/  (ZB_ENV={settings.env.value})")
    uvicorn.run(
        "brigades.app:served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # The access log would write personal link tokens (they are in the path) to the logs;
        # brigades.metrics logs each request by its route template instead.
        access_log=False,
        # Applied by uvicorn in every worker process: JSON or text, always redacted.
        log_config=logs.settings_config(settings),
        log_level=settings.log_level.value.lower(),
        proxy_headers=settings.trust_forwarded_for,
    )


@app.command()
def worker() -> None:
    """Run the outbox worker: send queued messages until stopped (Ctrl-C)."""
    from brigades import runtime

    settings = _settings()
    logs.configure(settings)
    runtime.run_worker_forever(settings)


@app.command()
def demo(
    volunteers: Annotated[int | None, typer.Option(help="Synthetic volunteers to create.")] = None,
    region: Annotated[str | None, typer.Option(help="Veiligheidsregio code, e.g. VR09.")] = None,
    if_empty: Annotated[bool, typer.Option(help="Only when there are no volunteers yet.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 2026,
) -> None:
    """Seed one realistic region with buurtsteunpunten and synthetic volunteers."""
    from brigades.demo import service as demo_service

    settings = _settings()
    engine = make_engine(settings.database_url)
    demo_service.run_cli(
        engine,
        region=region or settings.demo_region,
        volunteers=settings.demo_volunteers if volunteers is None else volunteers,
        if_empty=if_empty,
        seed=seed,
    )
    if settings.env is not Environment.DEVELOPMENT:
        typer.echo("Geen demo-inlog aangemaakt: dat kan alleen met ZB_ENV=development.")
        return
    from brigades import clock
    from brigades.db import session_scope
    from brigades.demo.staff import ensure_demo_coordinator

    with session_scope(engine) as session:
        login = ensure_demo_coordinator(
            session, region=region or settings.demo_region, now=clock.now()
        )
    typer.echo(
        f"Demo-inlog coördinator: {login.email} / {login.password} op /beheer/inloggen\n"
        f"  TOTP-geheim {login.totp_secret}; code: "
        f".venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{login.totp_secret}').now())\""
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations up to REVISION (default: the newest)."""
    from brigades import migrate

    settings = _settings()
    migrate.upgrade(make_engine(settings.database_url), revision)
    typer.echo(f"Database bijgewerkt tot {revision}.")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Undo migrations down to REVISION ("base" removes everything)."""
    from brigades import migrate

    settings = _settings()
    migrate.downgrade(make_engine(settings.database_url), revision)
    typer.echo(f"Database teruggezet tot {revision}.")


def main() -> None:
    """Entry point of the console script."""
    # Text at INFO, redacted, until a command that reads the settings configures its own.
    logs.configure()
    app()


if __name__ == "__main__":
    main()
