"""Twilio webhook tests: the app with a Twilio auth token, and requests signed like Twilio's."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from brigades.settings import Settings
from tests.conftest import make_settings

ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "webhook-test-auth-token"
# Twilio calls the public URL; the app sees http://testserver behind the "proxy".
PUBLIC_URL = "https://zorgbrigade.example"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Console sends, but a Twilio token is configured: the webhooks are served."""
    return make_settings(
        database_url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        public_url=PUBLIC_URL,
    )


def signature(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """Twilio's X-Twilio-Signature for a POST of ``params`` to ``url``."""
    return str(RequestValidator(token).compute_signature(url, params))


def post_signed(
    client: TestClient,
    path: str,
    params: dict[str, str],
    *,
    query: dict[str, str] | None = None,
    signed_url: str | None = None,
    token: str = AUTH_TOKEN,
) -> Any:
    """POST ``params`` as Twilio would, signed for the public URL (or ``signed_url``).

    Returns the test client's response.
    """
    qs = f"?{urlencode(query)}" if query else ""
    url = signed_url if signed_url is not None else f"{PUBLIC_URL}{path}{qs}"
    return client.post(
        f"{path}{qs}",
        data=params,
        headers={"X-Twilio-Signature": signature(url, params, token)},
    )
