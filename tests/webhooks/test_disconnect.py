"""A caller that hangs up before its body arrives gets a quiet 4xx path, not a traceback."""

from __future__ import annotations

import asyncio

import pytest
from fastapi import FastAPI
from starlette.requests import Request

from brigades.errors import DomainError
from brigades.webhooks.deps import signed_form
from tests.conftest import make_settings


def test_client_disconnect_while_reading_the_form_is_a_domain_error(database_url: str) -> None:
    settings = make_settings(database_url, twilio_auth_token="token", twilio_account_sid="AC1")

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/webhooks/twilio/sms",
        "query_string": b"",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
        "app": FastAPI(),
    }
    request = Request(scope, receive)  # type: ignore[arg-type]
    with pytest.raises(DomainError) as caught:
        asyncio.run(signed_form(request, settings))
    assert caught.value.status_code == 400
