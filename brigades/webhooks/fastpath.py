"""``POST /webhooks/twilio/sms`` as a raw ASGI endpoint, in front of FastAPI's routing.

Inbound SMS come in bursts (a roll-call answered by thousands at once), and on one process the
route through FastAPI's router and dependency machinery cost more than the webhook's own work.
This middleware answers that one path and method itself, with the same steps and the same
answers as the route in :mod:`brigades.webhooks.routes` (which stays for everything else: no
Twilio token configured → its 404, other methods → 405):

- the body must be ``application/x-www-form-urlencoded`` and parse strictly (400 otherwise);
- the ``X-Twilio-Signature`` must validate for ``ZB_PUBLIC_URL`` + path + query (403, logged
  with the path only);
- the row is checked (400) and recorded by the app's group-commit recorder, and the empty TwiML
  is sent only after its batch is committed; database errors map as everywhere (503/507),
  anything else propagates to the server error handler (500).

It sits inside the security-header and body-size middleware, so those apply unchanged.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from urllib.parse import parse_qsl

from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brigades import clock
from brigades.errors import DomainError, Forbidden
from brigades.settings import Settings
from brigades.web.raw import Disconnected, answer_error, read_body
from brigades.webhooks import service
from brigades.webhooks.deps import MAX_FORM_FIELDS
from brigades.webhooks.recorder import recorder_of
from brigades.webhooks.routes import EMPTY_TWIML
from brigades.webhooks.signature import FormParams, is_valid

log = logging.getLogger(__name__)

SMS_PATH = "/webhooks/twilio/sms"
_FORM_TYPE = b"application/x-www-form-urlencoded"
_TWIML = EMPTY_TWIML.encode()
_TWIML_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-length", str(len(_TWIML)).encode()),
        (b"content-type", b"application/xml"),
    ],
}
_TWIML_BODY: Message = {"type": "http.response.body", "body": _TWIML}


_ROUTE = SimpleNamespace(path=SMS_PATH)


class TwilioSmsWebhook:
    """Serves ``POST /webhooks/twilio/sms`` when a Twilio auth token is configured."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != SMS_PATH
            or scope["method"] != "POST"
            or not self.settings.twilio_webhooks_enabled
        ):
            await self.app(scope, receive, send)
            return
        # Answered here in place of the route: metrics and the request log name its template.
        scope["route"] = _ROUTE
        try:
            await self._serve(scope, receive)
        except (DomainError, SQLAlchemyError) as exc:
            await answer_error(exc, scope, receive, send, log)
            return
        # Copies: a middleware further out may add to the headers of the message it is sent.
        await send({**_TWIML_START, "headers": list(_TWIML_START["headers"])})
        await send(_TWIML_BODY)

    async def _serve(self, scope: Scope, receive: Receive) -> None:
        content_type = b""
        signature: str | None = None
        for key, value in scope["headers"]:
            if key == b"content-type" and not content_type:
                content_type = value.partition(b";")[0].strip().lower() or b"-"
            elif key == b"x-twilio-signature" and signature is None:
                signature = value.decode("latin-1")
        if content_type != _FORM_TYPE:
            raise DomainError("Ongeldig formulier.")
        try:
            body = await read_body(receive)
        except Disconnected:
            # The caller hung up before its body arrived: nothing was recorded and Twilio
            # retries; answered quietly (the answer goes nowhere) instead of a traceback.
            raise DomainError("De verbinding werd verbroken.") from None
        try:
            items = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                max_num_fields=MAX_FORM_FIELDS,
                errors="strict",
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise DomainError("Ongeldig formulier.") from exc
        params = FormParams(items)
        token = self.settings.twilio_auth_token
        assert token is not None
        url = self.settings.public_url.rstrip("/") + SMS_PATH
        query = scope.get("query_string", b"")
        if query:
            # Not UTF-8: cannot be the URL Twilio signed, and the check below says so.
            url = f"{url}?{query.decode('utf-8', 'surrogateescape')}"
        if not is_valid(token.get_secret_value(), url, params, signature):
            # The path only: the parameters hold phone numbers and message texts.
            log.warning(
                "twilio webhook %s refused: %s signature",
                SMS_PATH,
                "invalid" if signature else "missing",
            )
            raise Forbidden("Ongeldige handtekening.")
        row = service.inbound_sms_row(params, now=clock.now())
        await recorder_of(scope["app"]).record(row)
