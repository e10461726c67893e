"""A regional coordinator logs in (password and TOTP), opens an incident for a gemeente and
imports tasks from a CSV file, in real headless Chromium against a uvicorn process.

The coordinator is created through the accounts service in the throwaway database, with TOTP
set up; the authenticator app's code is computed with pyotp from the stored secret. The app's
clock is the wall clock here, so the tasks are planned for tomorrow.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import text

from brigades import clock
from brigades.accounts import auth
from brigades.accounts import service as accounts
from brigades.accounts.models import Role
from brigades.accounts.schemas import UserCreate
from brigades.audit.service import CLI
from brigades.db import make_engine, session_scope
from tests.accounts.factories import PASSWORD
from tests.support.browser import chromium
from tests.support.live_server import live_server

pytestmark = [pytest.mark.postgres_only, pytest.mark.browser]

EMAIL = "coordinator@vr09.example"
HEADER = (
    "type;postcode;huisnummer;straat;plaats;datum;van;tot;duur_minuten;aantal;prioriteit;"
    "omschrijving;contact_instructie;externe_referentie"
)


def _coordinator(database_url: str) -> str:
    """A VR09 regional coordinator with TOTP set up; returns the TOTP secret."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            now = clock.now()
            user = accounts.create_user(
                session,
                data=UserCreate(
                    email=EMAIL,
                    name="Coördinator Utrecht",
                    role=Role.REGIONAL_COORDINATOR,
                    password=PASSWORD,
                    vr_codes=["VR09"],
                ),
                actor=CLI,
                now=now,
            )
            secret = auth.enrolment_secret(session, user=user)
            user.totp_enabled_at = now  # as if the app had been confirmed
            session.add(user)
            return secret
    finally:
        engine.dispose()


def _csv(path: Path) -> Path:
    day = (clock.local(clock.now()) + timedelta(days=1)).strftime("%d-%m-%Y")
    rows = [
        HEADER,
        f"boodschappen;3512 JK;12;Oudegracht;Utrecht;{day};10:00;12:00;45;1;normaal;"
        "Boodschappen halen bij de supermarkt;Bel aan bij de zijdeur;BR-1",
        f"gezelschap;3581 AB;7;Maliebaan;Utrecht;{day};14:00;16:00;60;1;hoog;"
        "Een uurtje gezelschap;Sleutel bij de buren;BR-2",
        f"telefonische check-in;3521 AA;3;Croeselaan;Utrecht;{day};09:00;09:30;20;1;laag;"
        "Even bellen hoe het gaat;;BR-3",
    ]
    path.write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode())
    return path


def test_coordinator_opens_an_incident_and_imports_tasks(
    fresh_database: str, tmp_path: Path
) -> None:
    secret = _coordinator(fresh_database)
    upload = _csv(tmp_path / "taken.csv")

    with live_server(fresh_database) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="nl-NL")

        # Log in: password, then the code of the authenticator app.
        page.goto(base + "/beheer/incidenten")
        page.wait_for_url(re.compile(r"/beheer/inloggen"))
        page.get_by_label("E-mailadres").fill(EMAIL)
        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_url(re.compile(r"/beheer/inloggen/code"))
        page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Verder").click()
        page.wait_for_url(lambda url: "/inloggen" not in url)

        # Open an incident for the gemeente Utrecht.
        page.get_by_role("navigation").get_by_role("link", name="Incidenten").click()
        page.get_by_role("link", name="Incident openen").click()
        page.get_by_label("Naam").fill("Griepgolf Utrecht-stad")
        page.get_by_label("Gemeenten", exact=True).check()
        page.get_by_label("Utrecht", exact=True).check()
        page.get_by_role("button", name="Incident openen").click()
        page.wait_for_url(re.compile(r"/beheer/incidenten/\d+"))
        assert "Het incident is geopend." in page.content()
        year = clock.local(clock.now()).year
        assert f"VR09-{year}-001" in page.content()

        # Import the tasks and follow the progress page until it is done.
        page.get_by_role("link", name="Taken importeren (CSV)").click()
        page.set_input_files("#file", str(upload))
        page.get_by_role("button", name="Importeren").click()
        page.wait_for_url(re.compile(r"/beheer/importen/\d+"))
        page.get_by_text("3 taken geïmporteerd").wait_for(timeout=15_000)

        page.get_by_role("link", name="Naar het incident").click()
        body = page.content()
        for reference in ("BR-1", "BR-2", "BR-3"):
            assert reference in body
        # The dispatcher takes new tasks at once (no volunteers here: they become unfillable),
        # so the three are counted in whatever state the page shows them.
        counted = re.findall(r"(Open|Wordt aangeboden|Niet te bezetten): (\d+)", body)
        assert sum(int(n) for _, n in counted) == 3, counted
        page.screenshot(path=str(tmp_path / "incident-met-taken.png"), full_page=True)

    engine = make_engine(fresh_database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT t.external_reference, t.gm_code, i.area_kind FROM care_task t "
                    "JOIN incident i ON i.id = t.incident_id ORDER BY t.id"
                )
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("BR-1", "GM0344", "gemeenten"),
        ("BR-2", "GM0344", "gemeenten"),
        ("BR-3", "GM0344", "gemeenten"),
    ]
