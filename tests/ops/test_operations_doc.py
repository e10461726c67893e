"""docs/operations.md documents every variable the application and compose read, with the real
default, and points at the scripts and files it tells operators to use."""

from __future__ import annotations

import inspect
import re

from brigades.settings import Settings
from tests.ops.deployfiles import ROOT, all_setting_names, env_example, env_names
from tests.ops.test_env_example import COMPOSE_ONLY

OPERATIONS = ROOT / "docs" / "operations.md"
# Documented under "Monitoring" before their settings exist in this tree; harmless once they do.
ANNOUNCED: set[str] = set()
NAME = re.compile(r"`([A-Z][A-Z0-9_]+)`")


def _section(title: str) -> str:
    text = OPERATIONS.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def variable_rows() -> dict[str, tuple[str, str]]:
    """Each variable in the tables of "Environment variables": (default cell, meaning cell)."""
    rows: dict[str, tuple[str, str]] = {}
    for line in _section("Environment variables").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not line.startswith("| `"):
            continue
        for name in NAME.findall(cells[0]):
            assert name not in rows, f"{name} is documented twice"
            rows[name] = (cells[1], cells[2])
    return rows


def test_every_setting_is_documented() -> None:
    documented = variable_rows().keys()
    missing = [
        field
        for field in Settings.model_fields
        if not any(name in documented for name in env_names(field))
    ]
    assert missing == [], f"settings not in docs/operations.md: {missing}"


def test_every_compose_variable_is_documented() -> None:
    assert COMPOSE_ONLY - variable_rows().keys() == set()


def test_the_tables_name_only_real_variables() -> None:
    unknown = variable_rows().keys() - all_setting_names() - COMPOSE_ONLY
    assert unknown == set(), f"docs/operations.md documents variables nobody reads: {unknown}"
    announced = set(NAME.findall(_section("Monitoring"))) - all_setting_names()
    assert announced <= ANNOUNCED


def test_documented_defaults_are_the_real_ones() -> None:
    # docker/env.example's commented values are checked against the settings' defaults
    # (test_env_example.py); the document must say the same.
    _, commented = env_example()
    rows = variable_rows()
    checked = 0
    for field, info in Settings.model_fields.items():
        if info.default is None:
            continue  # no default: the document explains what happens without one
        for name in env_names(field):
            if name in rows and name in commented:
                value = commented[name]
                expected = f"`{value}`" if value else "–"
                assert rows[name][0].startswith(expected), (name, rows[name][0], expected)
                checked += 1
    assert checked > 50


def test_the_files_it_refers_to_exist() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    paths = re.findall(r"`((?:scripts|docker|tests|brigades|geo|notifications)/[\w./-]+)`", text)
    assert "scripts/backup.sh" in paths and "scripts/restore.sh" in paths
    for path in paths:
        assert (ROOT / path).exists(), path
    for link in re.findall(r"\]\(([\w.-]+\.md)\)", text):
        assert (OPERATIONS.parent / link).exists(), link


def test_the_readme_links_it() -> None:
    assert "(docs/operations.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_refresh_intervals_it_states_are_the_code_s() -> None:
    # The per-process table's numbers, read from the code that keeps the caches.
    from brigades.dispatch import index
    from brigades.ratelimit.local import LocalRateLimiter
    from brigades.skills import service as skills
    from brigades.supportpoints import service as supportpoints

    table = _section("Scaling out: N API processes and M workers on one PostgreSQL")
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("|")}

    def row(starting: str) -> str:
        [found] = [line for what, line in rows.items() if what.startswith(starting)]
        return found

    assert f"reloaded after {skills.CACHE_SECONDS:g} s" in row("**skill codes**")
    assert f"within {supportpoints.CACHE_SECONDS:g} s" in row("**active buurtsteunpunten**")
    default_age = Settings.model_fields["dispatch_index_max_age_seconds"].default
    assert f"`ZB_DISPATCH_INDEX_MAX_AGE_SECONDS` ({default_age:g} s)" in row(
        "the dispatcher's **candidate index**"
    )
    assert index.__doc__ and "ZB_DISPATCH_INDEX_MAX_AGE_SECONDS" in index.__doc__
    max_keys = inspect.signature(LocalRateLimiter).parameters["max_keys"].default
    assert f"at {max_keys:,} addresses" in row("**per-client rate limits**")
