"""axe-core (WCAG 2.1 A/AA, vendored from npm) over the coordinator and volunteer pages in real
headless Chromium: no serious or critical violation on any of them.

One regional coordinator (TOTP) walks the staff pages of an incident with tasks; one volunteer
opens their personal link and walks their own pages.
"""

from __future__ import annotations

import re

import pytest

from brigades import clock
from brigades.db import make_engine, session_scope
from brigades.volunteers import access
from tests.conftest import make_settings
from tests.e2e.test_dashboard_browser import _log_in, _scene
from tests.support.axe import violations
from tests.support.browser import chromium
from tests.support.live_server import live_server

pytestmark = [pytest.mark.postgres_only, pytest.mark.browser]

BLOCKING = frozenset({"serious", "critical"})


def _personal_link(database_url: str) -> str:
    from sqlmodel import col, select

    from brigades.volunteers.models import Volunteer

    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            volunteer = session.exec(
                select(Volunteer).where(col(Volunteer.name) == "Anna de Vries")
            ).one()
            issued = access.issue_link(
                session, volunteer=volunteer, now=clock.now(), settings=make_settings(database_url)
            )
            return "/l/" + issued.token
    finally:
        engine.dispose()


def test_no_serious_or_critical_violations_on_coordinator_and_volunteer_pages(
    fresh_database: str,
) -> None:
    scene = _scene(fresh_database)
    link = _personal_link(fresh_database)
    incident = f"/beheer/incidenten/{scene['incident_id']}"
    staff_pages = [
        "/beheer",
        "/beheer/incidenten",
        "/beheer/incidenten/nieuw",
        incident,
        incident + "/dashboard",
        incident + "/inzet",
        incident + "/sitrap",
        incident + "/taken/nieuw",
        incident + "/taken/importeren",
        "/beheer/taken",
        f"/beheer/taken/{scene['task_id']}",
        "/beheer/inbox",
        f"/beheer/steunpunten/{scene['point_id']}/bellijst",
        "/beheer/vetting",
        "/beheer/aanmelden-op-locatie",
        "/beheer/onderlinge-hulp",
        "/beheer/paraatheid",
        "/beheer/trainingen",
        "/beheer/oefeningen",
    ]
    public_pages = ["/", "/over", "/privacy", "/aanmelden", "/link-aanvragen", "/beheer/inloggen"]
    volunteer_pages = ["/mijn", "/mijn/wijzigen", "/mijn/inzet", "/mijn/verwijderen"]
    problems: list[str] = []
    env = {"ZB_WORKER_IN_PROCESS": "false"}
    with live_server(fresh_database, env=env) as base, chromium() as browser:

        def check(page: object, path: str) -> None:
            assert hasattr(page, "goto")
            page.goto(base + path)  # type: ignore[attr-defined]
            if path.endswith("/dashboard"):
                page.wait_for_selector("body[data-map-ready]")  # type: ignore[attr-defined]
            for v in violations(page):  # type: ignore[arg-type]
                if v.get("impact") in BLOCKING:
                    targets = "; ".join(str(n["target"]) for n in v["nodes"][:3])
                    problems.append(f"{path}: {v['id']} ({v['impact']}) {v['help']} — {targets}")

        anonymous = browser.new_context(locale="nl-NL", bypass_csp=True).new_page()
        for path in public_pages:
            check(anonymous, path)
        anonymous.goto(base + link)
        anonymous.wait_for_url(re.compile(r"/mijn"))
        for path in volunteer_pages:
            check(anonymous, path)

        staff = browser.new_context(locale="nl-NL", bypass_csp=True).new_page()
        _log_in(staff, base, str(scene["secret"]), "/beheer")
        for path in staff_pages:
            check(staff, path)
    assert not problems, "axe-core found:\n  " + "\n  ".join(problems)


def test_the_axe_check_does_fail_on_a_broken_page() -> None:
    with chromium() as browser:
        page = browser.new_page()
        page.set_content(
            '<html lang="nl"><body><main><input type="text"><img src="x.png">'
            '<p style="color:#ccc;background:#fff">onleesbaar</p></main></body></html>'
        )
        found = {v["id"] for v in violations(page) if v.get("impact") in BLOCKING}
    assert {"label", "image-alt", "color-contrast"} <= found
