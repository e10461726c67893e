"""The real app plus one baseline route, for the SMS benchmark only.

``POST /bench/noop`` reads the same form body as ``POST /webhooks/twilio/sms`` and answers the
same empty TwiML, with no signature check and no database: the floor under the real webhook
(HTTP + form parsing through the same middleware stack).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from brigades.app import create_app
from brigades.webhooks.routes import EMPTY_TWIML


def create_bench_app() -> FastAPI:
    """The production app with the unsigned no-op baseline route added."""
    app = create_app(freeze_gc=True)  # as `zorgbrigade serve` runs it

    @app.post("/bench/noop", include_in_schema=False)
    async def noop(request: Request) -> Response:
        await request.form()
        return Response(EMPTY_TWIML, media_type="application/xml")

    return app
