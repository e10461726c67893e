"""The form body the worker posts to Twilio is exactly what ``urlencode`` makes of the fields."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.providers.base import SYNTHETIC_RECIPIENT, OutboundSms, PermanentSendError
from notifications.providers.twilio import TwilioProvider, form_quote, status_callback_url

ACCOUNT = "AC" + "1" * 32
SERVICE = "MG" + "2" * 32

# Any text a message may hold, lone surrogates aside (no UTF-8 form: urlencode raises too).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=400)


PROVIDERS = {
    "service": TwilioProvider(
        account_sid=ACCOUNT, auth_token="token", messaging_service_sid=SERVICE
    ),
    "number": TwilioProvider(account_sid=ACCOUNT, auth_token="token", from_number="+3197010203040"),
}


@settings(deadline=None)
@given(TEXT)
def test_form_quote_is_quote_plus(value: str) -> None:
    assert form_quote(value) == urlencode({"": value})[1:]


@pytest.mark.parametrize("sender", sorted(PROVIDERS))
@settings(deadline=None)
@given(to=TEXT, body=TEXT, outbox_id=st.integers(1, 2**31 - 1), callback=st.booleans())
def test_the_body_equals_urlencode_of_the_fields(
    sender: str, to: str, body: str, outbox_id: int, callback: bool
) -> None:
    twilio = PROVIDERS[sender]
    url = status_callback_url("https://zorgbrigade.example/", outbox_id) if callback else None
    message = OutboundSms(outbox_id=outbox_id, to=to, body=body, status_callback_url=url)
    encoded = twilio.form_body(message)
    assert encoded == urlencode(twilio._form(message)).encode()
    assert dict(parse_qsl(encoded.decode(), keep_blank_values=True)) == twilio._form(message)


def test_a_dutch_message_round_trips() -> None:
    body = "OEFENING Zorgbrigade: kun je om 14:00 in 3512 helpen? Antwoord JA 4821 (€0, ‘gratis’)."
    message = OutboundSms(outbox_id=7, to="+31612345678", body=body)
    encoded = PROVIDERS["service"].form_body(message)
    assert encoded.startswith(b"To=%2B31612345678&Body=OEFENING+Zorgbrigade%3A+kun+je")
    assert dict(parse_qsl(encoded.decode()))["Body"] == body


def test_a_synthetic_recipient_is_refused_before_encoding() -> None:
    message = OutboundSms(outbox_id=1, to="+31612345678", body="JA", synthetic=True)
    with pytest.raises(PermanentSendError) as refused:
        PROVIDERS["service"].form_body(message)
    assert refused.value.code == SYNTHETIC_RECIPIENT
