"""Every SMS of sign-up is Dutch, GSM-7 and fits one segment."""

from __future__ import annotations

from brigades.security import new_link_token
from brigades.volunteers import texts
from notifications.segments import count_segments


def _one_gsm7_segment(body: str) -> None:
    result = count_segments(body)
    assert result.encoding == "GSM-7", result.offending
    assert result.segments == 1, result.units


def test_code_sms_is_the_agreed_text_and_one_segment() -> None:
    body = texts.code_sms("123456", valid_minutes=15)
    assert body == (
        "Zorgbrigade: je code is 123456. Geldig 15 minuten. Deel deze code met niemand."
    )
    _one_gsm7_segment(body)


def test_link_sms_is_one_segment_with_a_long_public_url() -> None:
    token = new_link_token()
    assert len(token) == 16
    body = texts.link_sms("https://zorgbrigade.example.nl/", token, valid_days=7)
    assert body == (
        f"Zorgbrigade: open je persoonlijke pagina via https://zorgbrigade.example.nl/l/{token} "
        "(7 dagen geldig)."
    )
    _one_gsm7_segment(body)


def test_phone_changed_sms_is_one_segment() -> None:
    _one_gsm7_segment(texts.phone_changed_sms())
