"""The rate limits of sign-up and code entry hold through the HTML forms, not only the API: the
attempt over the limit gets a Dutch 429 page with Retry-After, and sends and stores nothing.
(The staff login form's limits: tests/accounts/test_login.py.)"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from brigades.clock import ManualClock
from brigades.settings import Settings
from brigades.volunteers.models import Volunteer, VolunteerStatus
from notifications.models import OutboxMessage
from tests.volunteers.factories import PHONE_E164, count, last_code, make_support_point
from tests.volunteers.test_pages import csrf_of, form_data


def _sign_up(client: TestClient, phone: str = "06 12345678") -> int:
    page = client.get("/aanmelden", params={"postcode": "3584 CS"})
    response = client.post("/aanmelden", data=form_data(csrf_of(page.text), phone=phone))
    return response.status_code


def _points(session: Session) -> None:
    make_support_point(session, name="Buurtsteunpunt Uithof", postcode="3584 CS")
    session.commit()


def _assert_limited(text: str, status: int, retry_after: str | None, minutes: int) -> None:
    assert status == 429
    assert retry_after is not None and int(retry_after) > 0
    assert f"Te veel pogingen. Probeer het over {minutes} minuten opnieuw." in text
    assert '<html lang="nl">' in text


def test_the_fourth_sign_up_of_a_number_in_an_hour_is_refused_on_the_page(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    _points(session)
    for _ in range(3):
        assert _sign_up(client) == 303
    sent = count(session, OutboxMessage)

    page = client.get("/aanmelden", params={"postcode": "3584 CS"})
    response = client.post("/aanmelden", data=form_data(csrf_of(page.text)))

    _assert_limited(response.text, response.status_code, response.headers.get("retry-after"), 60)
    assert response.headers["retry-after"] == "3600"
    assert count(session, OutboxMessage) == sent  # no fourth SMS


def test_sign_ups_from_one_client_are_limited_on_the_page(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock
) -> None:
    _points(session)
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"signup_limit_per_client": (2, 3600)}
    )
    for n in range(2):
        assert _sign_up(client, phone=f"06 1111111{n}") == 303
    before = count(session, Volunteer), count(session, OutboxMessage)

    page = client.get("/aanmelden", params={"postcode": "3584 CS"})
    response = client.post("/aanmelden", data=form_data(csrf_of(page.text), phone="06 22222222"))

    _assert_limited(response.text, response.status_code, response.headers.get("retry-after"), 60)
    assert (count(session, Volunteer), count(session, OutboxMessage)) == before


def test_code_entry_is_limited_per_number_on_the_page(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock
) -> None:
    _points(session)
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"code_limit_per_number": (3, 600), "verification_max_attempts": 100}
    )
    assert _sign_up(client) == 303
    code = last_code(session, PHONE_E164)
    wrong = "000000" if code != "000000" else "111111"
    csrf = csrf_of(client.get("/aanmelden/code").text)
    for _ in range(3):
        response = client.post("/aanmelden/code", data={"csrf_token": csrf, "code": wrong})
        assert response.status_code == 400
        assert "Deze code klopt niet" in response.text

    # Even the right code waits until the window is over.
    response = client.post("/aanmelden/code", data={"csrf_token": csrf, "code": code})

    _assert_limited(response.text, response.status_code, response.headers.get("retry-after"), 10)
    assert response.headers["retry-after"] == "600"
    session.expire_all()
    assert [v.status for v in session.exec(select(Volunteer))] == [VolunteerStatus.PENDING]
    clock.advance(601)
    done = client.post("/aanmelden/code", data={"csrf_token": csrf, "code": code})
    assert done.status_code == 303 and done.headers["location"] == "/mijn?welkom=1"


def test_code_entry_is_limited_per_client_on_the_page(
    client: TestClient, session: Session, settings: Settings, clock: ManualClock
) -> None:
    _points(session)
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"code_limit_per_client": (2, 3600), "verification_max_attempts": 100}
    )
    assert _sign_up(client) == 303
    csrf = csrf_of(client.get("/aanmelden/code").text)
    code = last_code(session, PHONE_E164)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(2):
        assert (
            client.post("/aanmelden/code", data={"csrf_token": csrf, "code": wrong}).status_code
            == 400
        )

    response = client.post("/aanmelden/code", data={"csrf_token": csrf, "code": code})

    _assert_limited(response.text, response.status_code, response.headers.get("retry-after"), 60)
