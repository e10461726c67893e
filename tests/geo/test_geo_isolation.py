"""The geo package stands alone: no imports of the application or the notifications package."""

from __future__ import annotations

import ast
from pathlib import Path

GEO = Path(__file__).resolve().parents[2] / "geo"


def test_geo_never_imports_brigades_or_notifications() -> None:
    for path in GEO.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in {"brigades", "notifications"}, path
