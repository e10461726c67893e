"""Twilio's webhooks: ``POST /webhooks/twilio/status`` and ``POST /webhooks/twilio/sms``.

Served whenever a Twilio auth token is configured (whichever provider sends), 404 otherwise;
every request must carry a valid ``X-Twilio-Signature`` (403 otherwise). Both answer with empty
TwiML: replies to an inbound message are queued in the outbox, not returned inline.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from brigades import clock
from brigades.deps import SessionDep
from brigades.webhooks import service
from brigades.webhooks.deps import TwilioFormDep
from brigades.webhooks.recorder import RecorderDep

router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"], include_in_schema=False)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post("/status")
def twilio_status(request: Request, params: TwilioFormDep, session: SessionDep) -> Response:
    """A message's delivery status changed (queued, sent, delivered, undelivered, failed)."""
    outbox_id = service.outbox_id_from_query(request.query_params.get("outbox_id"))
    service.receive_status(session, params, outbox_id=outbox_id, now=clock.now())
    return _twiml()


@router.post("/sms")
async def twilio_sms(params: TwilioFormDep, recorder: RecorderDep) -> Response:
    """A volunteer (or anyone) sent us an SMS: recorded here, handled by the worker.

    Answered once the message is committed (group commit with the requests of the moment, see
    :mod:`brigades.webhooks.recorder`); the signature check and the form never leave the event
    loop.
    """
    row = service.inbound_sms_row(params, now=clock.now())
    await recorder.record(row)
    return _twiml()
