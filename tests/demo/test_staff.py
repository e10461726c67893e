"""The demo coordinator exists once, with TOTP enrolled, and only in development."""

from __future__ import annotations

from sqlmodel import Session
from typer.testing import CliRunner

from brigades import clock
from brigades.accounts import passwords
from brigades.accounts import repository as accounts_repository
from brigades.accounts.models import Role
from brigades.cli import app as cli_app
from brigades.demo.staff import DEMO_EMAIL, DEMO_PASSWORD, ensure_demo_coordinator


def test_demo_coordinator_is_created_once_with_totp(session: Session) -> None:
    first = ensure_demo_coordinator(session, region="VR09", now=clock.now())
    second = ensure_demo_coordinator(session, region="VR09", now=clock.now())
    assert (first.created, second.created) == (True, False)
    user = accounts_repository.user_by_email(session, DEMO_EMAIL)
    assert user is not None
    assert user.role is Role.REGIONAL_COORDINATOR
    assert user.totp_enabled_at is not None
    assert passwords.verify_password(user.password_hash, DEMO_PASSWORD)


def test_demo_cli_makes_no_login_outside_development(fresh_database: str) -> None:
    result = CliRunner().invoke(
        cli_app,
        ["demo", "--volunteers", "5"],
        env={"DATABASE_URL": fresh_database, "ZB_ENV": "test"},
    )
    assert result.exit_code == 0, result.output
    assert "Geen demo-inlog" in result.output
    assert DEMO_PASSWORD not in result.output
