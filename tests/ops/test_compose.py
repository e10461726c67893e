"""docker/compose.yaml: the services of a production stack, in the right order, configured only
through the environment. Docker cannot run here, so the file is read as compose reads it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ops.deployfiles import (
    COMPOSE,
    all_setting_names,
    compose,
    env_example,
    interpolate,
    variables_used,
)

APP_SERVICES = ("migrate", "api", "worker")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def _env(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def _resolved(value: object) -> str:
    """A value with env.example's active lines as docker/.env."""
    active, _ = env_example()
    return interpolate(str(value), active)


def test_the_stack_has_database_migration_api_and_workers(services: dict[str, Any]) -> None:
    assert set(services) == {"db", *APP_SERVICES}
    image = services["db"]["image"]
    name, _, tag = image.partition(":")
    assert name == "postgis/postgis"
    assert tag and tag != "latest" and tag[0].isdigit(), "the database image is pinned"


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name in ("db", "api", "worker"):
        check = services[name].get("healthcheck")
        assert check and not check.get("disable"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(services["api"]["healthcheck"]["test"])


def test_migrations_run_once_before_the_api_and_the_workers(services: dict[str, Any]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["zorgbrigade", "db", "upgrade"]
    assert migrate["restart"] == "no", "a one-shot step, not restarted"
    assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {
            "db": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name


def test_the_api_runs_several_processes_and_the_workers_scale(services: dict[str, Any]) -> None:
    api = [_resolved(part) for part in services["api"]["command"]]
    assert api[:2] == ["zorgbrigade", "serve"]
    assert int(api[api.index("--workers") + 1]) >= 2
    assert api[api.index("--host") + 1] == "0.0.0.0"
    worker = services["worker"]
    assert worker["command"] == ["zorgbrigade", "worker"]
    assert int(_resolved(worker["deploy"]["replicas"])) >= 2


def test_api_processes_leave_sending_to_the_workers(services: dict[str, Any]) -> None:
    for name in APP_SERVICES:
        env = _env(services[name])
        assert env["ZB_WORKER_IN_PROCESS"] == "false", name
        assert env["ZB_ENV"] == "production", name
        assert _resolved(env["DATABASE_URL"]).startswith("postgresql+psycopg://"), name
        assert "@db:5432/" in env["DATABASE_URL"], name


def test_configuration_is_only_environment(services: dict[str, Any]) -> None:
    known = all_setting_names()
    for name in APP_SERVICES:
        service = services[name]
        assert "volumes" not in service, f"{name}: no configuration files mounted"
        assert "configs" not in service and "secrets" not in service, name
        assert set(_env(service)) <= known, f"{name}: only variables the settings read"
        assert service["env_file"] == [{"path": ".env", "required": False}], name
        assert service["read_only"] is True, name


def test_secrets_come_from_the_environment_never_from_the_file(services: dict[str, Any]) -> None:
    env = _env(services["api"])
    for name in ("ZB_SECRET_KEY", "ZB_PUBLIC_URL"):
        assert env[name].startswith("${") and ":?" in env[name], f"{name} is required, not set"
    assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"]
    assert "${POSTGRES_PASSWORD:?" in services["db"]["environment"]["POSTGRES_PASSWORD"]
    with pytest.raises(KeyError, match="ZB_SECRET_KEY"):
        interpolate(env["ZB_SECRET_KEY"], {})


def test_every_compose_variable_is_in_env_example() -> None:
    active, commented = env_example()
    used = variables_used(COMPOSE.read_text(encoding="utf-8"))
    assert used - active.keys() - commented.keys() == set()


def test_the_default_stack_stays_within_the_database_connection_limit(
    services: dict[str, Any],
) -> None:
    """Every process may open its pool twice over (overflow): the defaults fit max_connections
    with room left for backups, migrations and psql."""
    pool = int(_resolved(_env(services["api"])["ZB_DB_POOL_SIZE"]))
    api_processes = int(_resolved(services["api"]["command"][-1]))
    workers = int(_resolved(services["worker"]["deploy"]["replicas"]))
    command = " ".join(_resolved(part) for part in services["db"]["command"])
    max_connections = int(command.split("max_connections=")[1].split()[0])
    assert (api_processes + workers) * 2 * pool + 10 <= max_connections
