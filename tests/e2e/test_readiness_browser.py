"""The readiness page's coverage map in real headless Chromium against a uvicorn process: the
page's own script (under the page's CSP) draws the region and one circle per PC4 with enough
volunteers, and says how much it left out. (axe checks the page in
test_accessibility_browser.py, which needs the CSP bypassed to inject it.)"""

from __future__ import annotations

import pytest

from tests.e2e.test_dashboard_browser import _log_in, _scene
from tests.support.browser import chromium
from tests.support.live_server import live_server

pytestmark = [pytest.mark.postgres_only, pytest.mark.browser]


def test_the_coverage_map_draws_the_pc4_layer(fresh_database: str) -> None:
    scene = _scene(fresh_database)  # eight volunteers in PC4 3512
    env = {"ZB_WORKER_IN_PROCESS": "false"}
    with live_server(fresh_database, env=env) as base, chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
        page = context.new_page()
        errors: list[str] = []
        page.on("response", lambda r: errors.append(r.url) if r.status >= 400 else None)
        _log_in(page, base, str(scene["secret"]), "/beheer/paraatheid")
        page.wait_for_selector("body[data-map-ready]", timeout=10_000)
        assert page.get_attribute("#dekking", "data-cells") == "1"
        assert page.locator("#dekking canvas").count() >= 1  # drawn (on canvas)
        status = page.locator("[data-map-status]").inner_text()
        assert status.startswith("1 postcodegebieden op de kaart")
        assert errors == []  # no failed request (layer, script, stylesheet)
