"""Whatever a (signed or unsigned) request carries, the webhooks answer 2xx/4xx, never 500."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.webhooks.conftest import PUBLIC_URL, post_signed, signature

# Text that can travel in a form (no lone surrogates), NUL and odd Unicode included.
TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=80)
KNOWN = [
    "MessageSid",
    "SmsSid",
    "MessageStatus",
    "SmsStatus",
    "ErrorCode",
    "From",
    "To",
    "Body",
    "AccountSid",
]
FIELDS = st.dictionaries(st.one_of(st.sampled_from(KNOWN), TEXT), TEXT, max_size=8)
SID_LIKE = st.one_of(TEXT, st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True))
PATHS = st.sampled_from(["/webhooks/twilio/sms", "/webhooks/twilio/status"])
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(path=PATHS, fields=FIELDS, sid=SID_LIKE, outbox_id=TEXT)
def test_signed_random_forms_never_fail_with_500(
    client: TestClient, path: str, fields: dict[str, str], sid: str, outbox_id: str
) -> None:
    params = {"MessageSid": sid, **fields}
    response = post_signed(client, path, params, query={"outbox_id": outbox_id})
    assert response.status_code in (200, 400), response.text


@FUZZ
@given(path=PATHS, fields=FIELDS, header=TEXT)
def test_unsigned_random_forms_are_refused(
    client: TestClient, path: str, fields: dict[str, str], header: str
) -> None:
    url = f"{PUBLIC_URL}{path}"
    if header == signature(url, fields):
        return
    headers = [(b"x-twilio-signature", header.encode())]
    response = client.post(path, data=fields, headers=headers)
    assert response.status_code in (400, 403)


@FUZZ
@given(path=PATHS, body=st.binary(max_size=300), multipart=st.booleans())
def test_random_bodies_never_fail_with_500(
    client: TestClient, path: str, body: bytes, multipart: bool
) -> None:
    content_type = (
        "multipart/form-data; boundary=xyz" if multipart else "application/x-www-form-urlencoded"
    )
    query = urlencode({"outbox_id": "1"})
    response = client.post(
        f"{path}?{query}",
        content=body,
        headers={"content-type": content_type, "X-Twilio-Signature": "abc"},
    )
    assert response.status_code in (400, 403)
