"""axe-core (vendored from npm, tests/support/vendor) run in a Playwright page.

The page's Content-Security-Policy forbids injected scripts, so pages to check must come from a
browser context made with ``bypass_csp=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = frozenset({"serious", "critical"})


def violations(page: Page) -> list[dict[str, Any]]:
    """axe's WCAG 2.1 A/AA violations of the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}
        })"""
    )
    return list(result["violations"])


def assert_accessible(page: Page) -> None:
    """Fail on serious or critical violations, naming the rule and the first elements."""
    found = [v for v in violations(page) if v.get("impact") in BLOCKING]
    report = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in found
    ]
    assert not found, f"{page.url}:\n  " + "\n  ".join(report)
