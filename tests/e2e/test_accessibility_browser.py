"""axe-core (WCAG 2.1 A/AA, vendored from npm) over every coordinator and volunteer page in real
headless Chromium: no serious or critical violation on any of them.

The pages come from the app itself: every GET route that is not an API, a file download or a
static asset must be visited below (``VISITS``) or be exempt with a reason (``EXEMPT``), so a
new page without an axe check fails the suite. Each visit must answer 200 on the page asked for
(not a redirect to a login, not an error page).

Data is seeded so that the forms are on the pages: an incident with tasks in several states, a
volunteer with a pending offer, an accepted assignment (check-in and problem form on /mijn), a
phone change waiting for its code and a praktijkverklaring; an unrecognised text and a problem
report in the inbox (reply boxes); a drill with two reports; a training, an import, an assisted
sign-up waiting for its code. One browser; one page per caller (public and volunteer share one;
a regional coordinator, an administrator and a care organisation each have their own).
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
from fastapi.routing import iter_route_contexts
from playwright.sync_api import Page
from sqlmodel import Session, col, select

from brigades import clock, security
from brigades.accounts import auth, reset
from brigades.accounts import service as accounts
from brigades.accounts.models import CareOrganisation, Role, User
from brigades.accounts.schemas import UserCreate
from brigades.accounts.scope import scope_for
from brigades.app import create_app
from brigades.audit.service import CLI, SYSTEM
from brigades.conversation import inbound
from brigades.db import make_engine, session_scope
from brigades.dispatch import acceptance
from brigades.drills import service as drills
from brigades.incidents.models import Incident
from brigades.readiness import statements
from brigades.readiness.models import TrainingModule
from brigades.supportpoints.models import SupportPoint
from brigades.tasks import transitions
from brigades.tasks.models import ImportMode, ImportState, TaskImport, TaskState
from brigades.volunteers import access
from brigades.volunteers import service as volunteers
from brigades.volunteers.models import VerificationPurpose, Volunteer
from tests.accounts.factories import PASSWORD
from tests.conftest import make_settings
from tests.dispatch.factories import task
from tests.e2e.test_dashboard_browser import EMAIL, _scene
from tests.support.axe import BLOCKING, violations
from tests.support.browser import chromium
from tests.support.live_server import live_server
from tests.tasks.factories import make_assignment
from tests.vetting.factories import make_volunteer

pytestmark = [pytest.mark.postgres_only, pytest.mark.browser]

SECRET = "accessibility-secret-key-0123456789abcdef"
ADMIN_EMAIL = "beheerder@zorgbrigade.example"
ORGANISATION_EMAIL = "koppeling@thuiszorg.example"
NEW_PHONE = "+31612340000"

# Who opens a page: the public (no login), the volunteer (personal link), a regional coordinator
# of VR09, an administrator, a care organisation; "login" pages are checked during a login.
PUBLIC, VOLUNTEER, COORDINATOR, ADMIN, ORGANISATION, LOGIN = (
    "public",
    "volunteer",
    "coordinator",
    "admin",
    "organisation",
    "login",
)
Scene = dict[str, object]
INCIDENT = "/beheer/incidenten/{incident_id}"

# Route → (caller, the path to open). ``{name}`` is filled from the scene.
VISITS: dict[str, tuple[str, str]] = {
    "/": (PUBLIC, "/"),
    "/over": (PUBLIC, "/over"),
    "/privacy": (PUBLIC, "/privacy"),
    "/aanmelden": (PUBLIC, "/aanmelden"),
    "/aanmelden/code": (PUBLIC, "/aanmelden/code"),  # with a sign-up waiting for its code
    "/link-aanvragen": (PUBLIC, "/link-aanvragen"),
    "/verklaring": (PUBLIC, "/verklaring"),
    "/verklaring/{code}": (PUBLIC, "/verklaring/{statement_code}"),
    "/beheer/inloggen": (PUBLIC, "/beheer/inloggen"),
    "/beheer/wachtwoord-vergeten": (PUBLIC, "/beheer/wachtwoord-vergeten"),
    "/beheer/wachtwoord/herstel/{token}": (PUBLIC, "/beheer/wachtwoord/herstel/{reset_token}"),
    "/dev/telefoon": (PUBLIC, "/dev/telefoon"),
    "/dev/telefoon/{number}": (PUBLIC, "/dev/telefoon/{phone}"),
    "/beheer/inloggen/code": (LOGIN, "/beheer/inloggen/code"),
    "/l/{token}": (VOLUNTEER, "/l/{link_token}"),  # signs in and lands on /mijn
    "/mijn": (VOLUNTEER, "/mijn"),
    "/mijn/wijzigen": (VOLUNTEER, "/mijn/wijzigen"),
    "/mijn/telefoon/code": (VOLUNTEER, "/mijn/telefoon/code"),
    "/mijn/inzet": (VOLUNTEER, "/mijn/inzet"),
    "/mijn/praktijkverklaring/{statement_id}": (
        VOLUNTEER,
        "/mijn/praktijkverklaring/{statement_id}",
    ),
    "/mijn/verwijderen": (VOLUNTEER, "/mijn/verwijderen"),
    "/beheer": (COORDINATOR, "/beheer"),
    "/beheer/incidenten": (COORDINATOR, "/beheer/incidenten"),
    "/beheer/incidenten/nieuw": (COORDINATOR, "/beheer/incidenten/nieuw"),
    "/beheer/incidenten/{incident_id}": (COORDINATOR, INCIDENT),
    "/beheer/incidenten/{incident_id}/dashboard": (COORDINATOR, INCIDENT + "/dashboard"),
    "/beheer/incidenten/{incident_id}/inzet": (COORDINATOR, INCIDENT + "/inzet"),
    "/beheer/incidenten/{incident_id}/sitrap": (COORDINATOR, INCIDENT + "/sitrap"),
    "/beheer/incidenten/{incident_id}/taken/nieuw": (COORDINATOR, INCIDENT + "/taken/nieuw"),
    "/beheer/incidenten/{incident_id}/taken/importeren": (
        COORDINATOR,
        INCIDENT + "/taken/importeren",
    ),
    "/beheer/importen/{import_id}": (COORDINATOR, "/beheer/importen/{import_id}"),
    "/beheer/taken": (COORDINATOR, "/beheer/taken"),
    "/beheer/taken/{task_id}": (COORDINATOR, "/beheer/taken/{task_id}"),
    "/beheer/inbox": (COORDINATOR, "/beheer/inbox"),
    "/beheer/steunpunten/{support_point_id}/bellijst": (
        COORDINATOR,
        "/beheer/steunpunten/{point_id}/bellijst",
    ),
    "/beheer/vetting": (COORDINATOR, "/beheer/vetting"),
    "/beheer/vetting/{volunteer_id}": (COORDINATOR, "/beheer/vetting/{volunteer_id}"),
    "/beheer/aanmelden-op-locatie": (COORDINATOR, "/beheer/aanmelden-op-locatie"),
    "/beheer/aanmelden-op-locatie/{volunteer_id}/code": (
        COORDINATOR,
        "/beheer/aanmelden-op-locatie/{assisted_id}/code",
    ),
    "/beheer/onderlinge-hulp": (COORDINATOR, "/beheer/onderlinge-hulp"),
    "/beheer/paraatheid": (COORDINATOR, "/beheer/paraatheid"),
    "/beheer/paraatheid/doelen": (COORDINATOR, "/beheer/paraatheid/doelen"),
    "/beheer/trainingen": (COORDINATOR, "/beheer/trainingen"),
    "/beheer/trainingen/{module_id}": (COORDINATOR, "/beheer/trainingen/{module_id}"),
    "/beheer/oefeningen": (COORDINATOR, "/beheer/oefeningen"),
    "/beheer/oefeningen/{drill_id}": (COORDINATOR, "/beheer/oefeningen/{drill_id}"),
    "/beheer/oefeningen/evaluaties/{run_id}": (
        COORDINATOR,
        "/beheer/oefeningen/evaluaties/{run_id}",
    ),
    "/beheer/oefeningen/vergelijk": (
        COORDINATOR,
        "/beheer/oefeningen/vergelijk?a={run_id}&b={second_run_id}",
    ),
    "/beheer/audit": (ADMIN, "/beheer/audit"),
    "/beheer/gebruikers": (ADMIN, "/beheer/gebruikers"),
    "/beheer/gebruikers/nieuw": (ADMIN, "/beheer/gebruikers/nieuw"),
    "/beheer/gebruikers/{user_id}": (ADMIN, "/beheer/gebruikers/{coordinator_id}"),
    "/beheer/organisaties": (ADMIN, "/beheer/organisaties"),
    "/beheer/zorgwerk": (ADMIN, "/beheer/zorgwerk"),
    "/beheer/koppeling": (ORGANISATION, "/beheer/koppeling"),
    # Voluntary enrolment of an account whose role does not require the authenticator app.
    "/beheer/2fa/instellen": (ORGANISATION, "/beheer/2fa/instellen"),
}
EXEMPT: dict[str, str] = {
    "/beheer/incidenten/{incident_id}/dashboard/taken": (
        "a fragment the dashboard fetches into itself; checked as part of the dashboard"
    ),
    "/beheer/incidenten/{incident_id}/dashboard/dekking": (
        "a fragment the dashboard fetches into itself; checked as part of the dashboard"
    ),
    "/mijn/gegevens": "a JSON download of the volunteer's own data, not a page",
    "/beheer/oefeningen/evaluaties/{run_id}/{name}": "a CSV file of a report, not a page",
}
# What the seeded data must have put on a page (so that its forms are checked too).
EXPECT = {
    "/aanmelden/code": "text=naar 06",
    "/mijn": 'form[action$="/ja"] >> nth=0',
    "/mijn/telefoon/code": "text=naar 06",
    "/mijn/praktijkverklaring/{statement_id}": "text={statement_code}",
    "/beheer/inbox": 'textarea[id^="problem-reply-"]',
    "/beheer/incidenten/{incident_id}/dashboard": "details.aid",
}
SEEDED_FORMS = {
    "/mijn": ('textarea[name="problem"]', 'form[action$="/aangekomen"]'),
    "/beheer/inbox": ('textarea[id^="reply-"]', 'form[action$="/afgehandeld"]'),
}
# Where the visit ends when it is not the path asked for.
LANDS_ON = {"/l/{token}": "/mijn"}
NOT_PAGES = re.compile(
    r"^/(api|static|docs)(/|$)|^/(healthz|readyz|metrics)$|\.(csv|json|geojson)$"
)


def page_routes() -> list[str]:
    """Every GET route of the app that a person opens in a browser."""
    app = create_app(make_settings("sqlite://"))
    found = {
        str(route.path)
        for route in iter_route_contexts(app.routes)
        if "GET" in set(route.methods or ()) and not NOT_PAGES.search(str(route.path))
    }
    return sorted(found)


def test_every_page_route_is_checked_or_exempt_with_a_reason() -> None:
    routes = set(page_routes())
    listed = set(VISITS) | set(EXEMPT)
    assert not set(VISITS) & set(EXEMPT)
    missing = sorted(routes - listed)
    assert not missing, (
        "Pages without an axe check: add them to VISITS (or to EXEMPT with a reason) in "
        f"tests/e2e/test_accessibility_browser.py: {missing}"
    )
    assert not sorted(listed - routes), f"Listed routes that no longer exist: {listed - routes}"
    assert all(reason.strip() for reason in EXEMPT.values())


def _more(database_url: str, scene: Scene) -> Scene:
    """What the dashboard scene lacks to put every form on its page."""
    settings = make_settings(database_url, secret_key=SECRET)
    acceptance.register()
    engine = make_engine(database_url)
    try:
        with session_scope(engine) as session:
            now = clock.now()
            anna = session.exec(
                select(Volunteer).where(col(Volunteer.name) == "Anna de Vries")
            ).one()
            coordinator = session.exec(select(User).where(col(User.email) == EMAIL)).one()
            incident_id = int(str(scene["incident_id"]))
            incident = session.get(Incident, incident_id)
            assert incident is not None and anna.id is not None
            # Anna holds a slot of a filled task (check-in and problem form on /mijn) and
            # reported a problem on it; she also sent a text nobody understood.
            held = task(session, incident, start_in=timedelta(minutes=30))
            transitions.transition(session, held, TaskState.OFFERING, actor=SYSTEM, now=now)
            transitions.transition(session, held, TaskState.FILLED, actor=SYSTEM, now=now)
            assignment = make_assignment(session, held, anna)
            acceptance.report_problem(
                session,
                assignment_id=assignment.id or 0,
                volunteer_id=anna.id,
                text="Er doet niemand open",
                now=now,
            )
            inbound.handle_inbound(
                session,
                provider="console",
                provider_sid=f"SMaxe{time.time_ns()}",
                from_number=anna.phone or "",
                to_number=None,
                body="ik ben vandaag ziek, sorry",
                now=now,
                settings=settings,
            )
            # A new number waiting for its code; a praktijkverklaring to print and verify.
            volunteers.send_code(
                session,
                volunteer_id=anna.id,
                phone=NEW_PHONE,
                purpose=VerificationPurpose.PHONE_CHANGE,
                synthetic=False,
                now=now,
                settings=settings,
            )
            statement = statements.issue(session, volunteer=anna, now=now)
            point = session.get(SupportPoint, int(str(scene["point_id"])))
            assisted = make_volunteer(
                session, point=point, name="Cor Zonder Telefoon", verified=False
            )
            module = TrainingModule(
                vr_code="VR09",
                title="Tillen en verplaatsen",
                skill_code="lichte_persoonlijke_verzorging",
                created_by_label="test",
                created_at=now,
            )
            record = TaskImport(
                incident_id=incident_id,
                vr_code="VR09",
                mode=ImportMode.VALID_ROWS,
                state=ImportState.DONE,
                filename="taken.csv",
                total_rows=3,
                processed_rows=3,
                imported_rows=2,
                error_rows=1,
                errors=[{"row": 3, "column": "postcode", "message": "Onbekende postcode."}],
                created_at=now,
                updated_at=now,
            )
            session.add_all([module, record])
            lead = scope_for(session, coordinator)
            drill = drills.start_roll_call_drill(
                session,
                scope=lead,
                actor=CLI,
                vr_code="VR09",
                name="Oproepoefening",
                hours=4,
                caps_shared=False,
                now=now,
            )
            runs = [
                drills.record_report(
                    session,
                    scope=lead,
                    actor=CLI,
                    drill=drill,
                    settings=settings,
                    now=now,
                )
                for _ in range(2)
            ]
            admin = _staff(session, ADMIN_EMAIL, Role.ADMINISTRATOR, enrol=True)
            organisation = CareOrganisation(
                name="Thuiszorg Utrecht", vr_code="VR09", created_at=now
            )
            session.add(organisation)
            session.flush()
            _staff(session, ORGANISATION_EMAIL, Role.CARE_ORGANISATION, organisation=organisation)
            link, _ = reset.issue_link(
                session, user=coordinator, actor=CLI, now=now, settings=settings
            )
            issued = access.issue_link(session, volunteer=anna, now=now, settings=settings)
            session.flush()
            return {
                **scene,
                "link_token": issued.token,
                "statement_id": statement.id,
                "statement_code": statements.code_of(settings.secret_key, statement),
                "assisted_id": assisted.id,
                "volunteer_id": anna.id,
                "module_id": module.id,
                "import_id": record.id,
                "drill_id": drill.id,
                "run_id": runs[0].id,
                "second_run_id": runs[1].id,
                "coordinator_id": coordinator.id,
                "admin_secret": admin,
                "reset_token": link.rsplit("/", 1)[1],
                "signup_cookie": security.sign_pending_phone(
                    SECRET, "+31687654321", expires_at=now + timedelta(minutes=10)
                ),
            }
    finally:
        engine.dispose()


def _staff(
    session: Session,
    email: str,
    role: Role,
    *,
    enrol: bool = False,
    organisation: CareOrganisation | None = None,
) -> str:
    """A staff account (with the authenticator app when ``enrol``); returns its TOTP secret."""
    now = clock.now()
    user = accounts.create_user(
        session,
        data=UserCreate(
            email=email,
            name=f"Test {role.value}",
            role=role,
            password=PASSWORD,
            organisation_id=organisation.id if organisation else None,
        ),
        actor=CLI,
        now=now,
    )
    if not enrol:
        return ""
    secret = auth.enrolment_secret(session, user=user)
    user.totp_enabled_at = now
    session.add(user)
    return secret


def test_no_serious_or_critical_violations_on_any_page(fresh_database: str) -> None:
    scene = _more(fresh_database, _scene(fresh_database))
    problems: list[str] = []
    seen: set[str] = set()
    env = {"ZB_WORKER_IN_PROCESS": "false", "ZB_SECRET_KEY": SECRET}
    with live_server(fresh_database, env=env) as base, chromium() as browser:

        def check(page: Page, route: str, path: str | None = None) -> None:
            """Open the page (200, no redirect elsewhere), wait for its live parts, run axe."""
            target = path or VISITS[route][1].format(**scene)
            response = page.goto(base + target)
            assert response is not None and response.status == 200, (target, response)
            landed = urlsplit(page.url).path
            assert landed == LANDS_ON.get(route, urlsplit(target).path), (target, page.url)
            if route.endswith("/dashboard"):
                page.wait_for_selector("body[data-map-ready]", timeout=10_000)
                page.wait_for_selector("body[data-volunteers-ready]", timeout=10_000)
                assert page.locator("#dekking [data-coverage]").count() == 1
            for selector in (EXPECT.get(route, ""), *SEEDED_FORMS.get(route, ())):
                if selector:
                    found = page.locator(selector.format(**scene)).count()
                    assert found, f"{target}: nothing matches {selector}"
            audit(page, route)

        def audit(page: Page, route: str) -> None:
            seen.add(route)
            for v in violations(page):
                if v.get("impact") in BLOCKING:
                    targets = "; ".join(str(n["target"]) for n in v["nodes"][:3])
                    problems.append(f"{route}: {v['id']} ({v['impact']}) {v['help']} — {targets}")

        def visits(caller: str) -> list[str]:
            return [route for route, (who, _) in VISITS.items() if who == caller]

        def log_in(page: Page, email: str, secret: str, *, check_code_page: bool = False) -> None:
            page.goto(base + "/beheer/inloggen")
            page.get_by_label("E-mailadres").fill(email)
            page.get_by_label("Wachtwoord").fill(PASSWORD)
            page.get_by_role("button", name="Inloggen").click()
            if secret:
                page.wait_for_url(re.compile(r"/beheer/inloggen/code"))
                if check_code_page:
                    audit(page, "/beheer/inloggen/code")
                page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
                page.get_by_role("button", name="Verder").click()
            page.wait_for_url(lambda url: "/inloggen" not in url)

        # The public and then the volunteer, in one page.
        public = browser.new_context(locale="nl-NL", bypass_csp=True)
        public.add_cookies(
            [
                {
                    "name": security.SIGNUP_COOKIE,
                    "value": str(scene["signup_cookie"]),
                    "url": base + "/aanmelden",
                }
            ]
        )
        person = public.new_page()
        for route in visits(PUBLIC):
            check(person, route)
        for route in visits(VOLUNTEER):
            check(person, route)

        staff: list[tuple[str, str, str]] = [
            (COORDINATOR, EMAIL, str(scene["secret"])),
            (ADMIN, ADMIN_EMAIL, str(scene["admin_secret"])),
            (ORGANISATION, ORGANISATION_EMAIL, ""),
        ]
        for caller, email, secret in staff:
            page = browser.new_context(locale="nl-NL", bypass_csp=True).new_page()
            log_in(page, email, secret, check_code_page=caller == COORDINATOR)
            for route in visits(caller):
                check(page, route)
            page.context.close()

    assert seen == set(VISITS), f"not checked: {set(VISITS) - seen}"
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
