"""Reading docker/compose.yaml, docker/env.example and the Dockerfile the way their tools do."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices

from brigades.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"
ENV_EXAMPLE = DOCKER / "env.example"
DOCKERFILE = DOCKER / "Dockerfile"

ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
INTERPOLATION = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def env_names(field_name: str) -> list[str]:
    """The environment names that set one settings field."""
    field = Settings.model_fields[field_name]
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    prefix = str(Settings.model_config.get("env_prefix", ""))
    return [(prefix + field_name).upper()]


def all_setting_names() -> set[str]:
    """Every environment name the settings read."""
    return {name for field in Settings.model_fields for name in env_names(field)}


def env_example() -> tuple[dict[str, str], dict[str, str]]:
    """(active assignments, commented-out assignments) of docker/env.example."""
    active: dict[str, str] = {}
    commented: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = ASSIGNMENT.match(line.strip())
        if match:
            target = commented if match.group(1) else active
            target[match.group(2)] = match.group(3)
    return active, commented


def compose() -> dict[str, Any]:
    """docker/compose.yaml as YAML (anchors and merge keys resolved)."""
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's variable interpolation; a missing required variable raises KeyError."""

    def _one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        current = env.get(name)
        if op in (":-", ":?") and current == "":
            current = None
        if current is not None:
            return current
        if op and op.endswith("?"):
            raise KeyError(f"{name}: {arg}")
        return arg or ""

    return INTERPOLATION.sub(_one, value.replace("$$", "\0")).replace("\0", "$")


def variables_used(text: str) -> set[str]:
    """The ${NAME} variables a compose file refers to."""
    return {m.group(1) for m in INTERPOLATION.finditer(text)}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    result = []
    for line in lines:
        instruction, _, arguments = line.partition(" ")
        result.append((instruction.upper(), arguments.strip()))
    return result
