"""Every page carries the security headers; its CSP needs no 'unsafe-inline' because no page has
inline scripts or styles; HSTS follows its setting (ZB_HSTS, by default on in production)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlmodel import Session

from brigades.app import create_app
from brigades.clock import ManualClock
from brigades.settings import Environment, Settings
from tests.conftest import TEST_SECRET, make_settings
from tests.test_access_matrix import ROUTES
from tests.web.callers import admit, fill_path

PAGES = sorted(
    r.path
    for r in ROUTES
    if r.method == "GET" and not r.path.startswith(("/api/", "/webhooks/", "/docs/"))
)
HSTS = "strict-transport-security"
# An inline script (no src) or an inline style: a CSP without 'unsafe-inline' would block them.
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=",
    re.IGNORECASE,
)


def assert_security_headers(response: Response, what: str) -> None:
    headers = response.headers
    csp = headers.get("content-security-policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, (what, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (what, csp)
    assert directives.get("script-src") == ["'self'"], (what, csp)
    assert directives.get("style-src") == ["'self'"], (what, csp)
    assert directives.get("object-src") == ["'none'"], (what, csp)
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "no-referrer", what
    assert headers.get("x-frame-options") == "DENY", what


def test_the_pages_are_found() -> None:
    assert {"/", "/aanmelden", "/beheer", "/mijn", "/beheer/incidenten/{incident_id}"} <= set(PAGES)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_security_headers_and_no_inline_code(
    client: TestClient,
    session: Session,
    settings: Settings,
    clock: ManualClock,
    path: str,
) -> None:
    sign_in = admit(client, session, settings, clock, f"GET {path}")
    url = fill_path(session, path)
    sign_in()
    session.commit()

    response = client.get(url)

    assert response.status_code < 500, (path, response.status_code)
    assert_security_headers(response, path)
    assert HSTS not in response.headers, path  # the test settings leave HSTS at its default
    if response.headers.get("content-type", "").startswith("text/html"):
        assert not INLINE.search(response.text), (path, INLINE.search(response.text))


def test_errors_and_the_api_carry_them_too(client: TestClient) -> None:
    for response in (
        client.get("/bestaat-niet"),
        client.get("/api/v1/skills"),
        client.get("/api/v1/me"),
        client.post("/aanmelden", data={}),
    ):
        assert_security_headers(response, str(response.request.url))


@pytest.mark.parametrize(
    ("env", "hsts", "expected"),
    [
        (Environment.TEST, None, False),
        (Environment.TEST, True, True),
        (Environment.PRODUCTION, None, True),
        (Environment.PRODUCTION, False, False),
    ],
)
def test_hsts_follows_its_setting(
    database_url: str, env: Environment, hsts: bool | None, expected: bool
) -> None:
    settings = make_settings(database_url, env=env, hsts=hsts, secret_key=TEST_SECRET)
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        response = client.get("/healthz")
    assert (response.headers.get(HSTS) == "max-age=31536000") is expected
    assert (HSTS in response.headers) is expected
