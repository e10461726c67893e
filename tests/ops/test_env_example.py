"""docker/env.example documents every variable the application reads, with its real default."""

from __future__ import annotations

import json

import pytest

from brigades.settings import Settings
from tests.ops.deployfiles import all_setting_names, env_example, env_names

COMPOSE_ONLY = {
    "POSTGRES_PASSWORD",
    "POSTGRES_USER",
    "POSTGRES_DB",
    "POSTGRES_MAX_CONNECTIONS",
    "API_PROCESSES",
    "WORKER_REPLICAS",
    "HTTP_PORT",
    "IMAGE_TAG",
}


def test_every_setting_is_in_env_example() -> None:
    active, commented = env_example()
    documented = active.keys() | commented.keys()
    missing = [
        field
        for field in Settings.model_fields
        if not any(name in documented for name in env_names(field))
    ]
    assert missing == [], f"settings not in docker/env.example: {missing}"


def test_env_example_names_only_real_variables() -> None:
    active, commented = env_example()
    unknown = (active.keys() | commented.keys()) - all_setting_names() - COMPOSE_ONLY
    assert unknown == set(), f"docker/env.example names variables nobody reads: {unknown}"


def test_commented_values_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    _, commented = env_example()
    for name in list(commented):
        monkeypatch.delenv(name, raising=False)
    checked = []
    for field, info in Settings.model_fields.items():
        names = [n for n in env_names(field) if n in commented]
        if not names or info.default is None:
            continue  # an example value, not a default
        monkeypatch.setenv(names[0], commented[names[0]])
        checked.append(field)
    monkeypatch.setenv("ZB_ENV", "test")  # the one default the check itself must leave
    parsed = Settings(_env_file=None)  # type: ignore[call-arg]
    defaults = Settings.model_construct()
    wrong = {
        field: (getattr(parsed, field), getattr(defaults, field))
        for field in checked
        if field != "env" and _plain(getattr(parsed, field)) != _plain(getattr(defaults, field))
    }
    assert len(checked) > 50
    assert wrong == {}, f"documented default differs from the real one: {wrong}"


def _plain(value: object) -> object:
    # Tuples and lists compare equal once both are JSON; secrets compare by their value.
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    return json.loads(json.dumps(value, default=str))


def test_active_lines_are_the_ones_production_needs() -> None:
    active, _ = env_example()
    # A production stack cannot start without these; placeholders must be replaced.
    for name in ("ZB_PUBLIC_URL", "ZB_SECRET_KEY", "POSTGRES_PASSWORD", "TWILIO_AUTH_TOKEN"):
        assert name in active
    assert "change-me" in active["ZB_SECRET_KEY"]
