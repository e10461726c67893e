"""How a server process runs the app: its startup objects are frozen out of the collector."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from brigades import cli

# In a fresh interpreter: the freeze is process-wide, and the test process must keep collecting.
PROBE = """
import gc, json, sys
from fastapi.testclient import TestClient
from brigades import app as module
factory = getattr(module, sys.argv[1])
before = gc.get_freeze_count()
with TestClient(factory()) as client:
    status = client.get("/healthz").status_code
    frozen = gc.get_freeze_count()
print(json.dumps({"before": before, "frozen": frozen, "status": status}))
"""


def _probe(factory: str, tmp_path: Path) -> dict[str, int]:
    env = {
        **os.environ,
        "ZB_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serving.db'}",
        "ZB_WORKER_IN_PROCESS": "false",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, factory],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_served_app_freezes_its_startup_objects(tmp_path: Path) -> None:
    """Full collections in a server process skip the app itself (no 100+ ms pauses)."""
    result = _probe("served_app", tmp_path)
    assert result["status"] == 200
    assert result["before"] == 0
    # The app, its routes, models and templates: far more than a bare interpreter's objects.
    assert result["frozen"] > 50_000


def test_plain_app_leaves_the_collector_alone(tmp_path: Path) -> None:
    """Apps built for tests and tools are collected as usual."""
    result = _probe("create_app", tmp_path)
    assert result["status"] == 200
    assert result["frozen"] == 0


def test_serve_hands_uvicorn_the_freezing_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``zorgbrigade serve`` gives uvicorn (for every process) the factory that freezes."""
    import uvicorn

    handed: dict[str, object] = {}

    def run(target: str, **options: object) -> None:  # uvicorn itself is not started here
        handed.update(options, target=target)

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setenv("ZB_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    result = CliRunner().invoke(cli.app, ["serve", "--port", "8123", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert handed["factory"] is True
    assert handed["workers"] == 2
    module, _, factory = str(handed["target"]).partition(":")
    assert module == "brigades.app"
    assert _probe(factory, tmp_path)["frozen"] > 50_000
