"""A citizen signs up on a phone-sized screen in real headless Chromium.

The app runs in its own uvicorn process (development mode: console SMS and the phone simulator)
on a committed throwaway database; the verification code is read from the console inbox the way a
developer would, in the phone simulator.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from brigades import clock
from brigades.db import make_engine, session_scope
from brigades.demo.service import seed_region
from tests.support.browser import chromium
from tests.support.live_server import live_server

pytestmark = [pytest.mark.postgres_only, pytest.mark.browser]

PHONE = "06 4123 4567"
E164 = "+31641234567"


def test_sign_up_verify_and_land_on_personal_page(fresh_database: str, tmp_path: Path) -> None:
    engine = make_engine(fresh_database)
    with session_scope(engine) as session:
        seed_region(session, region="VR09", volunteers=0, seed=3, now=clock.now())

    with live_server(fresh_database) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 360, "height": 740}, locale="nl-NL")
        page.goto(base + "/")
        page.get_by_role("link", name=re.compile("Aanmelden", re.I)).first.click()

        # Step 1: where do you live (the nearest buurtsteunpunt is then preselected).
        page.get_by_label("Postcode").fill("3512 JK")
        page.get_by_role("button", name="Verder").click()

        # Step 2: the full form.
        page.get_by_label("Naam").fill("Anna de Vries")
        page.get_by_label("Mobiel nummer").fill(PHONE)
        assert page.locator("input[name=support_point_id]:checked").count() == 1
        page.locator("#skill_boodschappen").check()
        page.locator("#skill_gezelschap").check()
        page.locator("#avail_0_ochtend").check()
        page.locator("#avail_2_middag").check()
        page.get_by_label("Ik ben 18 jaar of ouder.").check()
        page.locator("#consent").check()
        # Nothing on the page is wider than the phone.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360
        page.get_by_role("button", name="Aanmelden").click()

        # The code page; the SMS is in the console inbox (phone simulator).
        page.wait_for_url(re.compile(r"/aanmelden/code"))
        inbox = browser.new_page(viewport={"width": 360, "height": 740})
        code = None
        for _ in range(50):
            inbox.goto(f"{base}/dev/telefoon/{quote(E164)}")
            match = re.search(r"je code is (\d{6})", inbox.content())
            if match:
                code = match.group(1)
                break
            inbox.wait_for_timeout(200)
        assert code is not None, "no verification SMS reached the console inbox"

        page.get_by_label("Code uit de sms").fill(code)
        page.get_by_role("button", name="Bevestigen").click()
        page.wait_for_url(re.compile(r"/mijn"))
        body = page.content()
        assert "Anna de Vries" in body
        assert "Boodschappen" in body
        page.screenshot(path=str(tmp_path / "signup-mijn-360.png"), full_page=True)

    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT status, phone_verified_at IS NOT NULL, vr_code FROM volunteer "
                "WHERE phone = :p"
            ),
            {"p": E164},
        ).one()
    engine.dispose()
    assert row == ("active", True, "VR09")
