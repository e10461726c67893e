"""The FastAPI application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from brigades import routing
from brigades.db import make_engine
from brigades.errors import (
    DomainError,
    framework_error,
    from_database_error,
    log_database_error,
)
from brigades.metrics.http import HttpMetrics
from brigades.metrics.middleware import RequestObserver
from brigades.ratelimit.local import LocalRateLimiter
from brigades.settings import Settings
from brigades.tasks.uploads import upload_limits
from brigades.volunteers.fastpath import SignUpFastPath
from brigades.web import openapi
from brigades.web.middleware import BodySizeLimit, RejectNul, SecurityHeaders
from brigades.web.templating import render
from brigades.webhooks.fastpath import TwilioSmsWebhook

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000


def _wants_json(request: Request) -> bool:
    path = request.url.path
    machine = path.startswith(("/api/", "/webhooks/", "/metrics"))
    return machine or "application/json" in request.headers.get("accept", "")


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    if _wants_json(request):
        return JSONResponse(exc.as_dict(), status_code=exc.status_code, headers=headers)
    response = render(
        request,
        "error.html",
        {"message": exc.message, "status": exc.status_code},
        status_code=exc.status_code,
    )
    if headers:
        response.headers.update(headers)
    return response


async def _database_error(request: Request, exc: Exception) -> Response:
    """A database that is down or full is the person's problem to wait out, not a 500."""
    mapped = from_database_error(exc)
    if mapped is None:
        raise exc  # a bug: the server error handler logs it and answers 500
    log_database_error(log, exc, mapped.status_code)
    return await _domain_error(request, mapped)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _wants_json(request):
        errors = [
            {"field": ".".join(str(p) for p in err.get("loc", ())[1:]), "message": err.get("msg")}
            for err in exc.errors()
        ]
        return JSONResponse(
            {"code": "invalid_input", "detail": "De invoer klopt niet.", "errors": errors},
            status_code=422,
        )
    return render(
        request,
        "error.html",
        {"message": "Er ging iets mis met de gegevens van dit formulier.", "status": 422},
        status_code=422,
    )


async def _framework_error(request: Request, exc: Exception) -> Response:
    """No route, a wrong method, an unreadable body: the app's own Dutch error."""
    assert isinstance(exc, StarletteHTTPException)
    code, message = framework_error(exc.status_code)
    headers = dict(exc.headers or {})
    if _wants_json(request):
        return JSONResponse(
            {"code": code, "detail": message, "field": None},
            status_code=exc.status_code,
            headers=headers or None,
        )
    response = render(
        request,
        "error.html",
        {"message": message, "status": exc.status_code},
        status_code=exc.status_code,
    )
    response.headers.update(headers)
    return response


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, freeze_gc: bool = False
) -> FastAPI:
    """Build the application around one settings object and one database engine.

    ``freeze_gc``: at startup, move every object built so far out of the garbage collector's
    reach (for a process that serves this one app until it exits; see :func:`served_app`).
    """
    settings = settings or Settings()
    engine = engine or make_engine(settings.database_url, pool_size=settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = routing.start_background_worker(settings, engine)
        if freeze_gc:
            # Everything built so far (routes, models, templates: some 250,000 objects) lives
            # as long as the process. Left in the collector's oldest generation, every full
            # collection walked it again: a 120-140 ms pause every few seconds under load, the
            # webhook's whole p99. Frozen, a full collection scans only what requests created.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    app = FastAPI(
        title="Zorgbrigade",
        summary="Regionale Zorgbrigades: burgers helpen in de niet-acute zorg bij code zwart.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.client_limiter = LocalRateLimiter()
    # Per app (and so per process): tests build many apps, each counting its own requests.
    app.state.http_metrics = HttpMetrics()
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _framework_error)
    # Innermost: the inbound SMS webhook and valid sign-ups are answered before FastAPI's
    # routing, inside the body-size limit and the security headers (RejectNul leaves webhooks
    # to their own checks, and refuses a sign-up with a NUL before it gets here).
    app.add_middleware(SignUpFastPath)
    app.add_middleware(TwilioSmsWebhook, settings=settings)
    app.add_middleware(RejectNul)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES, larger=upload_limits(settings))
    app.add_middleware(SecurityHeaders, hsts=settings.hsts_enabled)
    # Outermost: every answer (a 413 too) is counted, timed, logged and carries X-Request-ID.
    app.add_middleware(RequestObserver, metrics=app.state.http_metrics)
    app.mount("/static", StaticFiles(directory=str(routing.STATIC_DIR)), name="static")
    routing.include_routers(app, settings)
    openapi.install(app)
    return app


def served_app() -> FastAPI:
    """The app as ``zorgbrigade serve`` runs it in each server process (uvicorn's factory)."""
    return create_app(freeze_gc=True)
