"""pip-audit finds no known vulnerability in the installed packages (needs PyPI: ``-m audit``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")


@pytest.mark.audit
@pytest.mark.timeout(600)
def test_no_installed_package_has_a_known_vulnerability() -> None:
    # --strict: a package whose data could not be fetched fails too, so a run that audited
    # nothing cannot pass as clean.
    result = subprocess.run(
        [str(PIP_AUDIT), "--strict", "--local", "--skip-editable", "--progress-spinner", "off"],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "No known vulnerabilities found" in report, report
