"""``POST /api/v1/volunteers`` (the sign-up) as a raw ASGI endpoint, in front of FastAPI's routing.

A sign-up surge (a whole country in a weekend) is this one request, thousands a second. On one
process FastAPI's router, dependency machinery and response serialisation cost more CPU than the
sign-up's own work. This middleware serves the valid sign-ups itself, with the same steps and
answers as the route in :mod:`brigades.volunteers.routes`, which stays for everything else:

- only a JSON body (``application/json``) that parses and validates as
  :class:`~brigades.volunteers.schemas.VolunteerSignUp` is served here; any other request (other
  content types, malformed JSON, fields that fail validation) goes on to the route with its body
  as read, so FastAPI gives its own answer (422 with the field errors) unchanged;
- the sign-up runs through the request's transaction runner (group commit: see
  :mod:`brigades.web.groupcommit`), with the client's address and the app's per-client limiter,
  and 202 is sent only after its batch is committed;
- domain errors (rate limits: 429 with Retry-After; refused fields: 422) and database errors
  (503/507) are answered as the app's handlers answer them on ``/api/`` paths.

It sits inside the metrics, security-header, body-size and NUL-refusing middleware, so those
apply unchanged.
"""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any, Protocol, TypeVar, cast

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brigades.deps import client_ref, get_settings, get_transaction
from brigades.errors import DomainError
from brigades.volunteers import service
from brigades.volunteers.schemas import SignUpAccepted, VolunteerSignUp
from brigades.web.groupcommit import group_commit_of
from brigades.web.raw import Disconnected, answer_error, overridden, read_body, replay

log = logging.getLogger(__name__)

SIGN_UP_PATH = "/api/v1/volunteers"
_ROUTE = SimpleNamespace(path=SIGN_UP_PATH)
_JSON = b"application/json"

# The route's answer, rendered once the way FastAPI renders it (JSONResponse of the model).
_ACCEPTED = JSONResponse(SignUpAccepted().model_dump(mode="json"), status_code=202)
_ACCEPTED_START: Message = {
    "type": "http.response.start",
    "status": 202,
    "headers": list(_ACCEPTED.raw_headers),
}
_ACCEPTED_BODY: Message = {"type": "http.response.body", "body": bytes(_ACCEPTED.body)}

T = TypeVar("T")


class _Runner(Protocol):
    async def run(self, work: Any) -> Any: ...


class SignUpFastPath:
    """Serves valid ``POST /api/v1/volunteers`` sign-ups (see the module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != SIGN_UP_PATH
            or scope["method"] != "POST"
            or _content_type(scope) != _JSON
        ):
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body(receive)
        except Disconnected:
            return  # nothing was written; the answer would go nowhere
        data = _valid_sign_up(body)
        if data is None:
            await self.app(scope, replay(body, receive), send)
            return
        # Answered here in place of the route: metrics and the request log name its template.
        scope["route"] = _ROUTE
        request = Request(scope)
        settings = get_settings(request)
        client = client_ref(request)

        def work(session: Session) -> object:
            return service.sign_up(session, data=data, client=client, settings=settings)

        try:
            await _runner(scope["app"]).run(work)
        except (DomainError, SQLAlchemyError) as exc:
            await answer_error(exc, scope, receive, send, log)
            return
        # Copies: a middleware further out may add to the headers of the message it is sent.
        await send({**_ACCEPTED_START, "headers": list(_ACCEPTED_START["headers"])})
        await send(_ACCEPTED_BODY)


def _content_type(scope: Scope) -> bytes:
    for key, value in scope["headers"]:
        if key == b"content-type":
            return cast(bytes, value).partition(b";")[0].strip().lower()
    return b""


def _valid_sign_up(body: bytes) -> VolunteerSignUp | None:
    """The sign-up as FastAPI would read it (``json.loads``, then the model); None if not."""
    try:
        payload = json.loads(body)
    except ValueError:  # not JSON, or not UTF-8
        return None
    if not isinstance(payload, dict):
        return None
    try:
        return VolunteerSignUp.model_validate(payload)
    except ValidationError:
        return None


def _runner(app: Starlette) -> _Runner:
    """The route's transaction runner: the app's group commit, or an override of
    :func:`brigades.deps.get_transaction` (taking no arguments: the tests' shared session)."""
    override = overridden(app, get_transaction)
    return cast(_Runner, override) if override is not None else group_commit_of(app)
