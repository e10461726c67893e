"""Per-request bookkeeping: the X-Request-ID header, the request metrics and one log line."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from brigades import logs
from brigades.metrics.http import HttpMetrics, route_template

log = logging.getLogger("brigades.requests")

REQUEST_ID_HEADER = b"x-request-id"
# An incoming id is kept when it is short and plain (a proxy's or a load balancer's id), so one
# request can be followed across systems; anything else is replaced by our own.
_SANE_ID = re.compile(rb"[A-Za-z0-9._:-]{8,64}")
# Probes and scrapes every few seconds would drown the log at INFO.
_QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


def incoming_request_id(scope: Scope) -> str | None:
    """The request's own X-Request-ID when it is sane."""
    for key, value in scope.get("headers", []):
        if key == REQUEST_ID_HEADER and _SANE_ID.fullmatch(value):
            return str(value.decode("ascii"))
    return None


class RequestObserver:
    """Give every request an id (also in the response), count it and log it by route template."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_request_id(scope) or uuid.uuid4().hex
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception that escaped the app

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER
                ]
                headers.append((REQUEST_ID_HEADER, rid.encode("ascii")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            method = str(scope.get("method", ""))
            self.metrics.observe(method=method, route=route, status=status, seconds=seconds)
            # The route template, never the path: a personal link's path is its credential,
            # and the query string is left out for the same reason.
            log.log(
                logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
                "%s %s %s %.1fms",
                method,
                route,
                status,
                seconds * 1000,
            )
            logs.request_id.reset(token)
