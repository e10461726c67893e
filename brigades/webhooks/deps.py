"""The signed form of a Twilio webhook request, or 404 (no token) / 403 (bad signature)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Request
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from brigades.deps import SettingsDep
from brigades.errors import DomainError, Forbidden, NotFound
from brigades.webhooks.signature import SIGNATURE_HEADER, FormParams, called_url, is_valid

log = logging.getLogger(__name__)

# Twilio posts a few dozen parameters at most.
MAX_FORM_FIELDS = 100


async def signed_form(request: Request, settings: SettingsDep) -> FormParams:
    """The request's POST parameters, once their Twilio signature is checked."""
    if not settings.twilio_webhooks_enabled:
        raise NotFound("Deze pagina bestaat niet.")
    assert settings.twilio_auth_token is not None
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except HTTPException as exc:
        # Starlette's answer to a body it cannot parse (too many fields, bad multipart).
        raise DomainError("Ongeldig formulier.") from exc
    except ClientDisconnect as exc:
        # The caller hung up before its body arrived (an overloaded moment): nothing was
        # recorded and Twilio retries; answer quietly instead of logging a traceback.
        raise DomainError("De verbinding werd verbroken.") from exc
    items: list[tuple[str, str]] = []
    for key, value in form.multi_items():
        if not isinstance(value, str):
            raise DomainError("Bestanden worden niet aangenomen.")
        items.append((key, value))
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
