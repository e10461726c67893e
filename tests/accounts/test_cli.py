"""``zorgbrigade user …`` against a fresh database, through typer's CliRunner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from brigades.accounts import passwords
from brigades.accounts.models import Role, User
from brigades.audit.models import AuditEvent
from brigades.cli import app
from brigades.db import make_engine
from tests.accounts.factories import PASSWORD


@pytest.fixture
def database(fresh_database: str) -> Iterator[tuple[CliRunner, Engine, dict[str, str]]]:
    engine = make_engine(fresh_database)
    env = {"DATABASE_URL": fresh_database, "ZB_ENV": "development"}
    yield CliRunner(), engine, env
    engine.dispose()


def _user(engine: Engine, email: str) -> User | None:
    with Session(engine) as session:
        return session.exec(select(User).where(col(User.email) == email)).first()


def test_user_create_with_the_password_on_stdin(
    database: tuple[CliRunner, Engine, dict[str, str]],
) -> None:
    runner, engine, env = database

    result = runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "Coordinator@VR09.example",
            "--name",
            "Coördinator",
            "--role",
            "regional_coordinator",
            "--region",
            "VR09",
            "--region",
            "vr10",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env=env,
    )

    assert result.exit_code == 0, result.output
    assert "aangemaakt: coordinator@vr09.example" in result.output
    user = _user(engine, "coordinator@vr09.example")
    assert user is not None and user.role is Role.REGIONAL_COORDINATOR
    assert passwords.verify_password(user.password_hash, PASSWORD)
    assert PASSWORD not in result.output
    with Session(engine) as session:
        event = session.exec(select(AuditEvent)).one()
    assert event.action == "user.created" and event.actor_user_id is None
    assert event.detail["vr_codes"] == ["VR09", "VR10"]

    listed = runner.invoke(app, ["user", "list"], env=env)
    assert listed.exit_code == 0
    assert "coordinator@vr09.example\tregional_coordinator\tVR09,VR10\tactief" in listed.output


def test_user_create_prompts_for_the_password_twice(
    database: tuple[CliRunner, Engine, dict[str, str]],
) -> None:
    runner, engine, env = database
    result = runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "beheer@zorg.example",
            "--name",
            "Beheer",
            "--role",
            "administrator",
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "tweestaps" in result.output
    assert _user(engine, "beheer@zorg.example") is not None


def test_user_create_refuses_a_weak_password_in_dutch(
    database: tuple[CliRunner, Engine, dict[str, str]],
) -> None:
    runner, engine, env = database
    result = runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "zwak@zorg.example",
            "--name",
            "Zwak",
            "--role",
            "viewer",
            "--region",
            "VR09",
            "--password-stdin",
        ],
        input="welkom123456\n",
        env=env,
    )
    assert result.exit_code == 1
    assert "te vaak gebruikt" in result.output
    assert _user(engine, "zwak@zorg.example") is None


def test_reset_password_prints_a_one_time_link(
    database: tuple[CliRunner, Engine, dict[str, str]],
) -> None:
    runner, engine, env = database
    runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "a@zorg.example",
            "--name",
            "A",
            "--role",
            "viewer",
            "--region",
            "VR09",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env=env,
    )

    link = runner.invoke(app, ["user", "reset-password", "--email", "a@zorg.example"], env=env)
    assert link.exit_code == 0, link.output
    assert "/beheer/wachtwoord/herstel/" in link.output

    direct = runner.invoke(
        app,
        ["user", "reset-password", "--email", "a@zorg.example", "--password-stdin"],
        input="nieuw-en-lang-genoeg-9\n",
        env=env,
    )
    assert direct.exit_code == 0, direct.output
    user = _user(engine, "a@zorg.example")
    assert user is not None and passwords.verify_password(
        user.password_hash, "nieuw-en-lang-genoeg-9"
    )

    unknown = runner.invoke(app, ["user", "reset-password", "--email", "x@zorg.example"], env=env)
    assert unknown.exit_code == 1


def test_organisations_and_api_keys_from_the_command_line(
    database: tuple[CliRunner, Engine, dict[str, str]],
) -> None:
    runner, engine, env = database
    org = runner.invoke(
        app, ["user", "create-organisation", "--name", "Thuiszorg", "--region", "VR09"], env=env
    )
    assert org.exit_code == 0, org.output
    created = runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "koppeling@thuiszorg.example",
            "--name",
            "Koppeling",
            "--role",
            "care_organisation",
            "--organisation",
            "1",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        env=env,
    )
    assert created.exit_code == 0, created.output
    key = runner.invoke(
        app,
        ["user", "api-key", "--email", "koppeling@thuiszorg.example", "--name", "Plan"],
        env=env,
    )
    assert key.exit_code == 0, key.output
    assert "zb_live_" in key.output
    revoked = runner.invoke(app, ["user", "revoke-token", "1"], env=env)
    assert revoked.exit_code == 0, revoked.output
    gone = runner.invoke(
        app, ["user", "deactivate", "--email", "koppeling@thuiszorg.example"], env=env
    )
    assert gone.exit_code == 0
    user = _user(engine, "koppeling@thuiszorg.example")
    assert user is not None and not user.active
