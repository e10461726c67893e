"""The coordinator's dashboard in real headless Chromium against a uvicorn process: log in, open
the incident's dashboard, see a task change state live after an SMS reply (no reload), print a
buurtsteunpunt's call list, and axe-core finds no serious or critical problems on the pages.

The volunteer's "JA" is handled in this process on the committed database, as the worker would
handle it after the webhook recorded it; the page must show the change within 3 s by polling.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page
from sqlmodel import col, select

from brigades import clock
from brigades.accounts import auth
from brigades.accounts import service as accounts
from brigades.accounts.models import Role
from brigades.accounts.schemas import UserCreate
from brigades.audit.models import AuditEvent
from brigades.audit.service import CLI, SYSTEM
from brigades.conversation import inbound
from brigades.conversation import service as questions
from brigades.conversation.models import QuestionKind
from brigades.db import make_engine, session_scope
from brigades.demo.service import seed_region
from brigades.dispatch import acceptance
from brigades.dispatch import repository as dispatch_repository
from brigades.supportpoints.models import SupportPoint
from brigades.tasks import transitions
from brigades.tasks.models import CareTask, Offer, OfferState, TaskPriority, TaskState
from brigades.volunteers.models import Volunteer
from notifications import outbox
from notifications.models import MessageState
from tests.accounts.factories import PASSWORD
from tests.conftest import make_settings
from tests.dispatch.factories import incident, ready_volunteer, task
from tests.support.axe import assert_accessible
from tests.support.browser import chromium
from tests.support.live_server import live_server
from tests.tasks.factories import draft, make_task

pytestmark = [pytest.mark.postgres_only, pytest.mark.browser]

EMAIL = "dashboard@vr09.example"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "dashboard.png"


def _scene(database_url: str) -> dict[str, object]:
    """A VR09 coordinator (TOTP), an incident with tasks in several states, one offer out."""
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
            user.totp_enabled_at = now
            session.add(user)
            point = SupportPoint(
                name="Buurtsteunpunt Lombok",
                postcode="3531 AA",
                lat=52.0907,
                lon=5.1000,
                gm_code="GM0344",
                vr_code="VR09",
                created_at=now,
            )
            session.add(point)
            session.flush()
            the_incident = incident(session)
            people = [ready_volunteer(session, km=0.5 + i / 10) for i in range(8)]
            for person in people:
                person.support_point_id = point.id
                session.add(person)
            people[0].name = "Anna de Vries"
            # A board with some of everything.
            for i in range(6):
                extra = task(session, the_incident, start_in=timedelta(hours=2 + i))
                if i % 3 == 1:
                    transitions.transition(
                        session, extra, TaskState.OFFERING, actor=SYSTEM, now=now
                    )
                if i % 3 == 2:
                    transitions.transition(
                        session, extra, TaskState.OFFERING, actor=SYSTEM, now=now
                    )
                    transitions.transition(
                        session,
                        extra,
                        TaskState.UNFILLABLE,
                        actor=SYSTEM,
                        reason="Niemand beschikbaar binnen 5 km",
                        now=now,
                    )
            open_task = task(session, the_incident, start_in=timedelta(hours=9))
            watched = task(session, the_incident, priority=TaskPriority.URGENT)
            offer = Offer(
                task_id=watched.id or 0,
                volunteer_id=people[0].id or 0,
                created_at=now,
                expires_at=now + timedelta(minutes=30),
                state_changed_at=now,
            )
            session.add(offer)
            session.flush()
            question = questions.open_question(
                session,
                volunteer_id=people[0].id or 0,
                kind=QuestionKind.OFFER,
                subject_kind=dispatch_repository.OFFER_SUBJECT,
                subject_id=offer.id or 0,
                drill=False,
                expires_at=offer.expires_at,
                now=now,
            )
            offer.question_id = question.id
            session.add(offer)
            transitions.transition(session, watched, TaskState.OFFERING, actor=SYSTEM, now=now)
            return {
                "secret": secret,
                "incident_id": the_incident.id,
                "task_id": watched.id,
                "open_task_id": open_task.id,
                "point_id": point.id,
                "phone": people[0].phone,
                "code": question.code,
            }
    finally:
        engine.dispose()


def _log_in(page: Page, base: str, secret: str, target: str) -> None:
    page.goto(base + target)
    page.wait_for_url(re.compile(r"/beheer/inloggen"))
    page.get_by_label("E-mailadres").fill(EMAIL)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(re.compile(r"/beheer/inloggen/code"))
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verder").click()
    page.wait_for_url(lambda url: "/inloggen" not in url)
    if not page.url.endswith(target):
        page.goto(base + target)


def _unfillable_and_failed(database_url: str, task_id: int) -> None:
    """A task of the incident becomes unfillable, and an SMS about one of its offers fails."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            now = clock.now()
            care_task = session.get(CareTask, task_id)
            assert care_task is not None
            transitions.transition(session, care_task, TaskState.OFFERING, actor=SYSTEM, now=now)
            transitions.transition(
                session,
                care_task,
                TaskState.UNFILLABLE,
                actor=SYSTEM,
                reason="Geen vervoer beschikbaar",
                now=now,
            )
            offer = session.exec(select(Offer)).first()
            assert offer is not None
            message = outbox.enqueue(
                session,
                recipient="+31600000000",
                body="Aanbod",
                provider="console",
                now=now,
                subject_kind=dispatch_repository.OFFER_SUBJECT,
                subject_id=offer.id,
            )
            message.state = MessageState.FAILED
            session.add(message)
    finally:
        engine.dispose()


def _reply(database_url: str, phone: str, text: str) -> str:
    acceptance.register()
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            return inbound.handle_inbound(
                session,
                provider="console",
                provider_sid=f"SMdashboard{time.time_ns()}",
                from_number=phone,
                to_number=None,
                body=text,
                now=clock.now(),
                settings=make_settings(database_url),
            ).outcome
    finally:
        engine.dispose()


def test_the_dashboard_follows_an_acceptance_live_and_prints_a_call_list(
    fresh_database: str, tmp_path: Path
) -> None:
    scene = _scene(fresh_database)
    incident_id, task_id = scene["incident_id"], scene["task_id"]
    dashboard = f"/beheer/incidenten/{incident_id}/dashboard"
    env = {"ZB_WORKER_IN_PROCESS": "false"}  # no dispatcher waves: the test decides

    with live_server(fresh_database, env=env) as base, chromium() as browser:
        context = browser.new_context(
            viewport={"width": 1440, "height": 1000}, locale="nl-NL", bypass_csp=True
        )
        page = context.new_page()
        _log_in(page, base, str(scene["secret"]), dashboard)
        page.wait_for_selector("body[data-map-ready]", timeout=10_000)
        assert int(page.get_attribute("#dashboard", "data-markers") or 0) == 8
        row = page.locator(f'tr[data-task="{task_id}"] [data-task-state]')
        assert row.inner_text() == "Wordt aangeboden"
        assert_accessible(page)
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

        # A keyboard user is on the task's first action when the live change comes in.
        page.locator(f'[data-key="task-{task_id}"]').focus()
        page.keyboard.press("Tab")
        focused = "() => document.activeElement.getAttribute('data-key')"
        assert page.evaluate(focused) == f"reoffer-{task_id}"

        # The volunteer answers JA by SMS; the page shows it without a reload.
        page.evaluate("window.__notReloaded = true")
        started = time.monotonic()
        assert _reply(fresh_database, str(scene["phone"]), f"JA {scene['code']}") == "accepted"
        page.wait_for_function(
            f"""() => {{
                const cell = document.querySelector('tr[data-task="{task_id}"] [data-task-state]');
                return cell && cell.textContent.trim() === "Bezet";
            }}""",
            timeout=3_000,
        )
        seen_after = time.monotonic() - started
        assert page.evaluate("window.__notReloaded") is True
        assert seen_after < 3.0
        assert page.locator('[data-figure="filled"]').inner_text() == "1"
        # The row was swapped, yet the same control still has the keyboard focus.
        assert page.evaluate(focused) == f"reoffer-{task_id}"
        assert page.evaluate(
            f"""() => document.activeElement.closest('tr').getAttribute('data-task') === '{task_id}'
                && document.activeElement.closest('tr').getAttribute('data-state') === 'filled'"""
        )

        # Another task becomes unfillable and a message fails: reasons and highlight follow.
        _unfillable_and_failed(fresh_database, int(str(scene["open_task_id"])))
        page.wait_for_function(
            """() => document.querySelector('[data-reasons]').textContent
                .includes('Geen vervoer beschikbaar')""",
            timeout=5_000,
        )
        page.wait_for_selector('li[data-attention="failed_messages"].attention', timeout=5_000)
        assert page.locator('[data-figure="failed_messages"]').inner_text() == "1"
        assert page.evaluate("window.__notReloaded") is True

        # Sitrap, inbox and the call list pass axe too; the call list prints on A4.
        for path in (f"/beheer/incidenten/{incident_id}/sitrap", "/beheer/inbox", "/aanmelden"):
            page.goto(base + path)
            assert_accessible(page)
        page.goto(base + f"/beheer/steunpunten/{scene['point_id']}/bellijst")
        assert "Anna de Vries" in page.content()
        assert_accessible(page)
        page.emulate_media(media="print")
        assert page.locator("nav.beheer").is_hidden()
        assert page.get_by_role("button", name="Afdrukken").is_hidden()
        pdf = page.pdf(path=str(tmp_path / "bellijst.pdf"), format="A4")
        assert pdf.startswith(b"%PDF")
        context.close()

    engine = make_engine(fresh_database)
    try:
        with session_scope(engine) as session:
            printed = session.exec(
                select(AuditEvent).where(col(AuditEvent.action) == "call_list.printed")
            ).all()
            assert [e.object_id for e in printed] == [str(scene["point_id"])]
            assert "06" not in str(printed[0].detail) and "Anna" not in str(printed[0].detail)
    finally:
        engine.dispose()


def _demo_scene(database_url: str) -> dict[str, object]:
    """The demo region (buurtsteunpunten, synthetic volunteers) with an incident of 80 tasks."""
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            now = clock.now()
            seed_region(session, region="VR09", volunteers=2500, seed=7, now=now)
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
            user.totp_enabled_at = now
            session.add(user)
            the_incident = incident(session, level=2)
            the_incident.name = "Griepgolf regio Utrecht"
            session.add(the_incident)
            people = session.exec(select(Volunteer).order_by(col(Volunteer.id)).limit(80)).all()
            postcodes = [
                "3512 JK",
                "3581 AB",
                "3521 AA",
                "3431 AA",
                "3701 AA",
                "3811 AA",
                "3402 AA",
                "3905 AA",
                "3991 AA",
                "3601 AA",
                "3731 AA",
                "3421 AA",
            ]
            types = ["boodschappen", "gezelschap", "maaltijden", "telefonische_checkin"]
            for i in range(80):
                care_task = make_task(
                    session,
                    the_incident,
                    task_draft=draft(
                        type_code=types[i % len(types)],
                        postcode=postcodes[i % len(postcodes)],
                        start=now + timedelta(hours=1 + i % 9),
                        priority=list(TaskPriority)[i % 4],
                    ),
                )
                step = i % 8
                if step == 0:
                    continue
                transitions.transition(
                    session, care_task, TaskState.OFFERING, actor=SYSTEM, now=now
                )
                if step in (1, 2):
                    continue
                if step == 3:
                    transitions.transition(
                        session,
                        care_task,
                        TaskState.UNFILLABLE,
                        actor=SYSTEM,
                        reason="Niemand beschikbaar binnen de zoekstraal",
                        now=now,
                    )
                    continue
                offer = Offer(
                    task_id=care_task.id or 0,
                    volunteer_id=people[i].id or 0,
                    state=OfferState.ACCEPTED,
                    created_at=now - timedelta(minutes=20),
                    answered_at=now - timedelta(minutes=20 - 2 - i % 5),
                    expires_at=now + timedelta(minutes=10),
                    state_changed_at=now,
                )
                session.add(offer)
                transitions.transition(session, care_task, TaskState.FILLED, actor=SYSTEM, now=now)
                if step >= 6:
                    transitions.transition(
                        session, care_task, TaskState.IN_PROGRESS, actor=SYSTEM, now=now
                    )
                if step == 7:
                    transitions.transition(
                        session, care_task, TaskState.DONE, actor=SYSTEM, now=now
                    )
            return {"secret": secret, "incident_id": the_incident.id}
    finally:
        engine.dispose()


def test_a_screenshot_of_the_dashboard_with_demo_data(fresh_database: str, tmp_path: Path) -> None:
    """Demo data on the dashboard; ZB_WRITE_SCREENSHOTS=1 refreshes the README's picture."""
    scene = _demo_scene(fresh_database)
    dashboard = f"/beheer/incidenten/{scene['incident_id']}/dashboard"
    with (
        live_server(fresh_database, env={"ZB_WORKER_IN_PROCESS": "false"}) as base,
        chromium() as browser,
    ):
        page = browser.new_page(viewport={"width": 1440, "height": 1500}, locale="nl-NL")
        _log_in(page, base, str(scene["secret"]), dashboard)
        page.wait_for_selector("body[data-map-ready]", timeout=10_000)
        assert int(page.get_attribute("#dashboard", "data-markers") or 0) > 10
        target = SCREENSHOT if os.environ.get("ZB_WRITE_SCREENSHOTS") else tmp_path / "d.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=False)


# A 1×1 transparent PNG: every tile the test's tile server hands out.
TILE = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001"
    "0d0a2db40000000049454e44ae426082"
)


@contextmanager
def _tile_server() -> Iterator[tuple[str, list[str]]]:
    """A tile server on its own origin; yields its URL template and the paths asked for."""
    asked: list[str] = []

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(TILE)))
            self.end_headers()
            self.wfile.write(TILE)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/{{z}}/{{x}}/{{y}}.png", asked
    finally:
        server.shutdown()
        server.server_close()


def test_a_configured_tile_layer_loads_under_the_pages_csp_and_is_credited(
    fresh_database: str,
) -> None:
    scene = _scene(fresh_database)
    dashboard = f"/beheer/incidenten/{scene['incident_id']}/dashboard"
    with _tile_server() as (tile_url, asked):
        env = {"ZB_WORKER_IN_PROCESS": "false", "ZB_MAP_TILE_URL": tile_url}
        with live_server(fresh_database, env=env) as base, chromium() as browser:
            page = browser.new_page(locale="nl-NL")  # the real CSP, not bypassed
            refused: list[str] = []
            page.on(
                "console",
                lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
            )
            _log_in(page, base, str(scene["secret"]), dashboard)
            page.wait_for_selector("body[data-map-ready]", timeout=10_000)
            page.wait_for_selector("#kaart img.leaflet-tile-loaded", timeout=10_000)
            credit = page.locator("#kaart .leaflet-control-attribution")
            assert "OpenStreetMap" in credit.inner_text()
            assert credit.get_by_role("link", name="OpenStreetMap").get_attribute("href") == (
                "https://www.openstreetmap.org/copyright"
            )
    assert asked and all(re.fullmatch(r"/\d+/\d+/\d+\.png", p) for p in asked)
    assert not refused, refused
