"""The sign-up pages without JavaScript: two steps, the code, the own page; CSRF; accessibility."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from brigades.clock import ManualClock
from brigades.security import SESSION_COOKIE, SIGNUP_COOKIE
from brigades.supportpoints.models import SupportPoint
from brigades.volunteers.models import (
    AvailabilityWindow,
    Volunteer,
    VolunteerSkill,
    VolunteerStatus,
)
from notifications.models import OutboxMessage
from tests.volunteers.factories import PHONE_E164, count, last_code, make_support_point


class FormAudit(HTMLParser):
    """Collects form controls, labels and ids of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.ids: set[str] = set()
        self.html_lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "html":
            self.html_lang = a.get("lang")
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"] or "")
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append(a)


def audit(html: str) -> FormAudit:
    parser = FormAudit()
    parser.feed(html)
    return parser


def assert_accessible(html: str) -> None:
    page = audit(html)
    assert page.html_lang == "nl"
    for control in page.controls:
        assert control.get("id") in page.label_for, f"no <label> for {control}"
        for ref in (control.get("aria-describedby") or "").split():
            assert ref in page.ids, f"aria-describedby points to missing #{ref}"


def csrf_of(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


@pytest.fixture
def points(session: Session) -> list[SupportPoint]:
    near = make_support_point(session, name="Buurtsteunpunt Uithof", postcode="3584 CS")
    far = make_support_point(session, name="Buurtsteunpunt Overvecht", postcode="3563 AB")
    make_support_point(session, name="Buurtsteunpunt Jordaan", postcode="1016 AB")
    session.commit()
    return [near, far]


def form_data(csrf: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "postcode": "3584 CS",
        "house_number": "",
        "name": "Fenna <script>alert(1)</script>",
        "phone": "06 12345678",
        "skill": ["boodschappen", "ehbo"],
        "evidence_ehbo": "certificate",
        "detail_ehbo": "EHBO-diploma 2024",
        "evidence_boodschappen": "self_declared",
        "avail": ["0-ochtend", "0-middag", "6-nacht"],
        "max_distance_km": "10",
        "language": ["nl", "ar"],
        "preferred_channel": "sms",
        "adult_confirmed": "ja",
        "consent": "ja",
    }
    data.update(overrides)
    return data


def test_landing_about_and_privacy_pages(client: TestClient) -> None:
    landing = client.get("/")
    assert landing.status_code == 200
    assert 'href="/aanmelden"' in landing.text and "Aanmelden als vrijwilliger" in landing.text
    assert 'lang="en"' in landing.text
    about = client.get("/over")
    assert "CBS" in about.text and "nl-covid19-data-dashboard" in about.text and "4pp" in about.text
    privacy = client.get("/privacy")
    assert "2026-11" in privacy.text and "artikel 17" in privacy.text


def test_the_whole_sign_up_by_pages(
    client: TestClient, session: Session, clock: ManualClock, points: list[SupportPoint]
) -> None:
    step1 = client.get("/aanmelden")
    assert step1.status_code == 200
    assert 'method="get"' in step1.text
    assert_accessible(step1.text)

    step2 = client.get("/aanmelden", params={"postcode": "3584cs"})
    assert step2.status_code == 200
    assert_accessible(step2.text)
    # The region's points, nearest first and preselected; the other region's point is not offered.
    assert step2.text.index("Uithof") < step2.text.index("Overvecht")
    assert "Jordaan" not in step2.text
    assert f'value="{points[0].id}"\n           checked' in step2.text
    assert "versie 2026-11" in step2.text

    response = client.post("/aanmelden", data=form_data(csrf_of(step2.text)))
    assert response.status_code == 303
    assert response.headers["location"] == "/aanmelden/code"
    assert "0612345678" not in response.headers["location"]
    assert SIGNUP_COOKIE in response.cookies

    volunteer = session.exec(select(Volunteer)).one()
    assert volunteer.support_point_id == points[0].id
    assert volunteer.languages == ["nl", "ar"]
    windows = session.exec(select(AvailabilityWindow).order_by(AvailabilityWindow.weekday)).all()
    # Monday morning + afternoon merge; Sunday night continues into Monday morning.
    assert [(w.weekday, w.start_minute, w.end_minute) for w in windows] == [
        (0, 0, 1080),
        (6, 1320, 1440),
    ]
    ehbo = session.exec(select(VolunteerSkill).where(VolunteerSkill.skill_code == "ehbo")).one()
    assert (ehbo.evidence_kind.value, ehbo.evidence_detail) == ("certificate", "EHBO-diploma 2024")

    code_page = client.get("/aanmelden/code")
    assert code_page.status_code == 200
    assert 'inputmode="numeric"' in code_page.text
    assert 'autocomplete="one-time-code"' in code_page.text
    assert "06 ••••••78" in code_page.text
    assert_accessible(code_page.text)

    wrong = client.post(
        "/aanmelden/code", data={"csrf_token": csrf_of(code_page.text), "code": "000000"}
    )
    if last_code(session) != "000000":
        assert wrong.status_code == 400
        assert "Deze code klopt niet" in wrong.text
        assert 'aria-describedby="fout-code"' in wrong.text

    done = client.post(
        "/aanmelden/code",
        data={"csrf_token": csrf_of(code_page.text), "code": last_code(session)},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/mijn?welkom=1"
    assert SESSION_COOKIE in done.cookies

    mine = client.get("/mijn?welkom=1")
    assert mine.status_code == 200
    assert "Welkom bij de Zorgbrigade" in mine.text
    # Stored as typed, escaped on output.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mine.text
    assert "<script>" not in mine.text
    assert_accessible(mine.text)
    session.refresh(volunteer)
    assert volunteer.status is VolunteerStatus.ACTIVE
    assert volunteer.name == "Fenna <script>alert(1)</script>"


def test_invalid_form_comes_back_with_values_and_errors_and_writes_nothing(
    client: TestClient, session: Session, clock: ManualClock, points: list[SupportPoint]
) -> None:
    csrf = csrf_of(client.get("/aanmelden", params={"postcode": "3584 CS"}).text)
    data = form_data(
        csrf,
        name="x" * 101,
        phone="030 1234567",
        skill=["verpleegtechnisch", "boodschappen"],
        evidence_verpleegtechnisch="big_registration",
        big_verpleegtechnisch="ABC",
        consent="",
    )
    response = client.post("/aanmelden", data=data)
    assert response.status_code == 422
    assert (count(session, Volunteer), count(session, OutboxMessage)) == (0, 0)
    html = response.text
    assert_accessible(html)
    assert 'class="error-summary" role="alert"' in html
    assert 'href="#phone"' in html and 'href="#big_verpleegtechnisch"' in html
    assert 'aria-describedby="fout-phone hint-phone"' in html
    assert "Dit is een vast nummer" in html
    assert "Een BIG-nummer bestaat uit precies 11 cijfers." in html
    assert "Geef toestemming" in html
    # What was typed is still there.
    assert 'value="030 1234567"' in html
    assert 'value="ABC"' in html
    assert 'value="0-ochtend"\n                 checked' in html


def test_form_with_availability_end_before_start_cannot_be_built(
    client: TestClient, session: Session, clock: ManualClock, points: list[SupportPoint]
) -> None:
    csrf = csrf_of(client.get("/aanmelden", params={"postcode": "3584 CS"}).text)
    response = client.post("/aanmelden", data=form_data(csrf, extra_window=["1:900:600"], avail=[]))
    assert response.status_code == 422
    assert "Een tijdvak moet eindigen na het begin" in response.text
    assert count(session, Volunteer) == 0


def test_step_one_refuses_a_po_box_and_a_bad_house_number(
    client: TestClient, session: Session, points: list[SupportPoint]
) -> None:
    po_box = client.get("/aanmelden", params={"postcode": "1000"})
    assert po_box.status_code == 422
    assert "alleen voor postbussen" in po_box.text
    assert_accessible(po_box.text)
    bad = client.get("/aanmelden", params={"postcode": "3584 CS", "house_number": "<b>"})
    assert bad.status_code == 422
    assert "&lt;b&gt;" in bad.text


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_posts_without_a_valid_csrf_token_are_forbidden_and_write_nothing(
    client: TestClient,
    session: Session,
    clock: ManualClock,
    points: list[SupportPoint],
    token: str | None,
) -> None:
    client.get("/aanmelden", params={"postcode": "3584 CS"})  # sets the CSRF cookie
    data = form_data("")
    if token is None:
        del data["csrf_token"]
    else:
        data["csrf_token"] = token
    response = client.post("/aanmelden", data=data)
    assert response.status_code == 403
    assert "formulier is verlopen" in response.text
    assert (count(session, Volunteer), count(session, OutboxMessage)) == (0, 0)


def test_a_token_from_another_browser_is_forbidden(
    client: TestClient, session: Session, clock: ManualClock, points: list[SupportPoint]
) -> None:
    csrf = csrf_of(client.get("/aanmelden", params={"postcode": "3584 CS"}).text)
    client.cookies.clear()
    client.get("/")  # a new CSRF cookie
    response = client.post("/aanmelden", data=form_data(csrf))
    assert response.status_code == 403
    assert count(session, Volunteer) == 0


def test_code_page_without_cookie_asks_for_the_number(
    client: TestClient, session: Session, clock: ManualClock, points: list[SupportPoint]
) -> None:
    csrf = csrf_of(client.get("/aanmelden", params={"postcode": "3584 CS"}).text)
    client.post("/aanmelden", data=form_data(csrf))
    client.cookies.delete(SIGNUP_COOKIE, path="/aanmelden")
    page = client.get("/aanmelden/code")
    assert 'id="phone"' in page.text
    response = client.post(
        "/aanmelden/code",
        data={"csrf_token": csrf, "phone": "+31612345678", "code": last_code(session)},
    )
    assert response.status_code == 303


def test_resend_from_the_code_page(
    client: TestClient, session: Session, clock: ManualClock, points: list[SupportPoint]
) -> None:
    csrf = csrf_of(client.get("/aanmelden", params={"postcode": "3584 CS"}).text)
    client.post("/aanmelden", data=form_data(csrf))
    response = client.post("/aanmelden/code/opnieuw", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert response.headers["location"] == "/aanmelden/code?opnieuw=1"
    assert (
        len(session.exec(select(OutboxMessage).where(OutboxMessage.recipient == PHONE_E164)).all())
        == 2
    )
    assert "nieuwe sms" in client.get("/aanmelden/code?opnieuw=1").text


def test_the_own_page_needs_a_session(client: TestClient) -> None:
    response = client.get("/mijn")
    assert response.status_code == 303
    assert response.headers["location"] == "/link-aanvragen"
    assert client.get("/mijn/gegevens").status_code == 303
