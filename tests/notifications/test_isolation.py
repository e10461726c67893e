"""The notifications package stands alone: it never imports the application."""

from __future__ import annotations

import ast
from pathlib import Path

NOTIFICATIONS = Path(__file__).resolve().parents[2] / "notifications"


def test_notifications_never_imports_brigades() -> None:
    for path in NOTIFICATIONS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] != "brigades", path
