"""The signed form of a Twilio webhook request, or 404 (no token) / 403 (bad signature)."""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from starlette.requests import ClientDisconnect

from brigades.deps import SettingsDep
from brigades.errors import DomainError, Forbidden, NotFound
from brigades.webhooks.signature import SIGNATURE_HEADER, FormParams, called_url, is_valid

log = logging.getLogger(__name__)

# Twilio posts a few dozen parameters at most.
MAX_FORM_FIELDS = 100


async def _form_items(request: Request) -> list[tuple[str, str]]:
    """The parameters of Twilio's ``application/x-www-form-urlencoded`` body, or 400.

    Parsed with ``urllib.parse`` (a quarter of the cost of the general multipart form parser);
    Twilio never posts anything else.
    """
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise DomainError("Ongeldig formulier.")
    try:
        body = await request.body()
    except ClientDisconnect as exc:
        # The caller hung up before its body arrived (an overloaded moment): nothing was
        # recorded and Twilio retries; answer quietly instead of logging a traceback.
        raise DomainError("De verbinding werd verbroken.") from exc
    try:
        return parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise DomainError("Ongeldig formulier.") from exc


async def signed_form(request: Request, settings: SettingsDep) -> FormParams:
    """The request's POST parameters, once their Twilio signature is checked."""
    if not settings.twilio_webhooks_enabled:
        raise NotFound("Deze pagina bestaat niet.")
    assert settings.twilio_auth_token is not None
    items = await _form_items(request)
    params = FormParams(items)
    url = called_url(settings.public_url, request.url.path, request.url.query)
    signature = request.headers.get(SIGNATURE_HEADER)
    if not is_valid(settings.twilio_auth_token.get_secret_value(), url, params, signature):
        # The path only: the parameters hold phone numbers and message texts.
        log.warning(
            "twilio webhook %s refused: %s signature",
            request.url.path,
            "invalid" if signature else "missing",
        )
        raise Forbidden("Ongeldige handtekening.")
    return params


TwilioFormDep = Annotated[FormParams, Depends(signed_form)]
