"""``zorgbrigade user …``: staff accounts from the command line (audited as the CLI)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from sqlmodel import Session

from brigades import clock
from brigades.accounts import repository, reset, service
from brigades.accounts.models import ROLE_LABELS_NL, TWO_FACTOR_ROLES, Role, User
from brigades.accounts.schemas import OrganisationCreate, UserCreate, UserUpdate
from brigades.audit.service import CLI
from brigades.db import make_engine, session_scope
from brigades.errors import DomainError, NotFound
from brigades.settings import Settings

user_app = typer.Typer(help="Accounts voor beheer en coördinatie.", no_args_is_help=True)

T = TypeVar("T")


@contextmanager
def _session() -> Iterator[tuple[Session, Settings]]:
    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            yield session, settings
    finally:
        engine.dispose()


def _run(work: Callable[[Session, Settings], T]) -> T:
    """Run in one transaction; a domain error is printed (in Dutch) and exits with status 1."""
    try:
        with _session() as (session, settings):
            return work(session, settings)
    except DomainError as exc:
        where = f" ({exc.field})" if exc.field else ""
        typer.echo(f"Fout{where}: {exc.message}", err=True)
        raise typer.Exit(code=1) from exc
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            typer.echo(f"Fout ({where}): {error['msg']}", err=True)
        raise typer.Exit(code=1) from exc


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Wachtwoord", hide_input=True, confirmation_prompt=True)
    return password


def _user(session: Session, email: str) -> User:
    user = repository.user_by_email(session, email.strip().lower())
    if user is None:
        raise NotFound("Er is geen account met dit e-mailadres.", field="email")
    return user


@user_app.command("create")
def create(
    email: Annotated[str, typer.Option(help="E-mailadres (inlognaam).")],
    name: Annotated[str, typer.Option(help="Naam.")],
    role: Annotated[Role, typer.Option(help="Rol.")],
    region: Annotated[
        list[str] | None, typer.Option(help="Veiligheidsregio, bijv. VR09 (vaker te geven).")
    ] = None,
    support_point: Annotated[
        list[int] | None, typer.Option(help="Id van een buurtsteunpunt (vaker te geven).")
    ] = None,
    organisation: Annotated[int | None, typer.Option(help="Id van de zorgorganisatie.")] = None,
    phone: Annotated[str | None, typer.Option(help="Mobiel nummer voor herstelcodes.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Lees het wachtwoord van standaardinvoer.")
    ] = False,
) -> None:
    """Create an account; the password is asked for (hidden) or read from stdin."""
    password = _read_password(password_stdin)

    def work(session: Session, settings: Settings) -> User:
        data = UserCreate(
            email=email,
            name=name,
            role=role,
            password=password,
            phone=phone,
            vr_codes=region or [],
            support_point_ids=support_point or [],
            organisation_id=organisation,
        )
        return service.create_user(session, data=data, actor=CLI, now=clock.now())

    user = _run(work)
    typer.echo(f"Account {user.id} aangemaakt: {user.email} ({ROLE_LABELS_NL[user.role]}).")
    if user.role in TWO_FACTOR_ROLES:
        typer.echo(
            "Bij de eerste login op /beheer/inloggen stelt de gebruiker tweestapsverificatie in."
        )


@user_app.command("reset-password")
def reset_password(
    email: Annotated[str, typer.Option(help="E-mailadres van het account.")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Stel het nieuwe wachtwoord direct in (van standaardinvoer) in plaats van een "
            "herstellink te maken.",
        ),
    ] = False,
) -> None:
    """Print a one-time reset link (valid one hour), or set the password from stdin."""
    if password_stdin:
        password = _read_password(True)

        def set_it(session: Session, settings: Settings) -> None:
            reset.set_password(
                session,
                user=_user(session, email),
                password=password,
                actor=CLI,
                now=clock.now(),
                how="cli",
            )

        _run(set_it)
        typer.echo("Wachtwoord ingesteld; alle sessies en tokens van het account zijn ingetrokken.")
        return

    def link(session: Session, settings: Settings) -> str:
        url, _ = reset.issue_link(
            session, user=_user(session, email), actor=CLI, now=clock.now(), settings=settings
        )
        return url

    typer.echo(f"Herstellink (één keer te gebruiken, een uur geldig):\n{_run(link)}")


@user_app.command("list")
def list_users() -> None:
    """Every account: id, e-mail address, role, state."""

    def work(session: Session, settings: Settings) -> list[str]:
        lines = []
        for user in service.list_users(session):
            assignments = service.assignments_of(session, user)
            reach = ",".join(assignments.vr_codes) or ",".join(
                f"bsp{i}" for i in assignments.support_point_ids
            )
            if assignments.organisation_id is not None:
                reach = f"org{assignments.organisation_id}"
            state = "actief" if user.active else "gedeactiveerd"
            tfa = "2fa" if user.totp_enabled_at else "-"
            lines.append(f"{user.id}\t{user.email}\t{user.role.value}\t{reach}\t{state}\t{tfa}")
        return lines

    for line in _run(work):
        typer.echo(line)


@user_app.command("deactivate")
def deactivate(email: Annotated[str, typer.Option(help="E-mailadres van het account.")]) -> None:
    """Deactivate an account; its sessions and tokens end."""
    _run(
        lambda session, settings: service.update_user(
            session,
            user=_user(session, email),
            data=UserUpdate(active=False),
            actor=CLI,
            now=clock.now(),
        )
    )
    typer.echo("Account gedeactiveerd.")


@user_app.command("reset-2fa")
def reset_two_factor(email: Annotated[str, typer.Option(help="E-mailadres.")]) -> None:
    """Forget the TOTP secret (a lost phone): the next login enrols again."""
    _run(
        lambda session, settings: service.reset_two_factor(
            session, user=_user(session, email), actor=CLI, now=clock.now()
        )
    )
    typer.echo("Tweestapsverificatie gewist.")


@user_app.command("create-organisation")
def create_organisation(
    name: Annotated[str, typer.Option(help="Naam van de zorgorganisatie.")],
    region: Annotated[str, typer.Option(help="Veiligheidsregio, bijv. VR09.")],
    callback_url: Annotated[
        str | None, typer.Option(help="https-adres voor terugmeldingen.")
    ] = None,
) -> None:
    """Register a care organisation (its accounts get role care_organisation)."""
    organisation = _run(
        lambda session, settings: service.create_organisation(
            session,
            data=OrganisationCreate(name=name, vr_code=region.upper(), callback_url=callback_url),
            actor=CLI,
            now=clock.now(),
        )
    )
    typer.echo(f"Zorgorganisatie {organisation.id} aangemaakt: {organisation.name}.")


@user_app.command("api-key")
def api_key(
    email: Annotated[str, typer.Option(help="E-mailadres van het zorgorganisatie-account.")],
    name: Annotated[str, typer.Option(help="Naam van de sleutel (de koppeling).")],
    days: Annotated[int | None, typer.Option(help="Geldigheid in dagen.")] = None,
) -> None:
    """Issue an API key for a care organisation's account; it is printed once."""
    issued = _run(
        lambda session, settings: service.create_api_key(
            session,
            user=_user(session, email),
            name=name,
            valid_days=days or settings.api_key_ttl_days,
            actor=CLI,
            now=clock.now(),
        )
    )
    typer.echo(f"API-sleutel {issued.record.id} (alleen nu te zien):\n{issued.token}")


@user_app.command("revoke-token")
def revoke_token(token_id: Annotated[int, typer.Argument(help="Id van het token.")]) -> None:
    """Revoke an access token or API key by id."""
    _run(
        lambda session, settings: service.revoke_token(
            session, record=service.get_token(session, token_id), actor=CLI, now=clock.now()
        )
    )
    typer.echo("Token ingetrokken.")
