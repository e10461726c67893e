"""Only Dutch mobile numbers can sign up; every other kind is refused with its own reason."""

from __future__ import annotations

import phonenumbers
import pytest

from brigades.errors import InvalidPhoneNumber
from brigades.volunteers import phone


@pytest.mark.parametrize(
    "text",
    [
        "06 12345678",
        "0612345678",
        "+31612345678",
        "+31 6 1234 5678",
        "0031 6-1234 5678",
        "0031612345678",
        "(06) 1234-5678",
        " 06.12.34.56.78 ",
        "+31 (0)6 12345678",
    ],
)
def test_dutch_mobile_numbers_are_normalised_to_e164(text: str) -> None:
    assert phone.normalise_mobile(text) == "+31612345678"


def _refusal(text: str) -> InvalidPhoneNumber:
    with pytest.raises(InvalidPhoneNumber) as caught:
        phone.normalise_mobile(text)
    assert caught.value.field == "phone"
    return caught.value


@pytest.mark.parametrize(
    "text", ["", "   ", "abc", "06-CALLME00", "06 1234567", "06 123456789", "0612345678 ext 3"]
)
def test_malformed_numbers_are_refused(text: str) -> None:
    assert _refusal(text).message == phone.MALFORMED


def test_a_very_long_input_is_refused_without_parsing() -> None:
    assert _refusal("0" * 10_000).message == phone.MALFORMED


@pytest.mark.parametrize("text", ["030 1234567", "020-1234567", "+31 30 123 4567", "0501234567"])
def test_landlines_are_refused(text: str) -> None:
    assert _refusal(text).message == phone.LANDLINE


@pytest.mark.parametrize("text", ["112", "144", "1400", "116000", "911"])
def test_emergency_and_short_numbers_are_refused(text: str) -> None:
    assert _refusal(text).message == phone.SHORT_NUMBER


@pytest.mark.parametrize(
    "text", ["0800 1234", "0800-0432", "0900 1234567", "0906 1234567", "0909 1234567", "0900-1234"]
)
def test_service_numbers_are_refused(text: str) -> None:
    assert _refusal(text).message == phone.SERVICE_NUMBER


@pytest.mark.parametrize("text", ["085 1234567", "088 1234567", "091 1234567"])
def test_non_geographic_numbers_are_refused(text: str) -> None:
    assert _refusal(text).message == phone.NON_GEOGRAPHIC


def test_097_machine_to_machine_numbers_are_refused_although_classed_as_mobile() -> None:
    # The premise of the separate rule: the library itself calls these mobile numbers.
    parsed = phonenumbers.parse("097012345678", "NL")
    assert phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
    for text in ("097012345678", "0970 12345678", "+31 97 0 1234 5678"):
        assert _refusal(text).message == phone.MACHINE_TO_MACHINE


@pytest.mark.parametrize(
    "text", ["+32470123456", "+4915112345678", "0049 151 12345678", "+1 202 555 0123"]
)
def test_foreign_numbers_are_refused(text: str) -> None:
    assert _refusal(text).message == phone.ONLY_DUTCH_MOBILE
    assert "Alleen Nederlandse mobiele nummers (06)" in phone.ONLY_DUTCH_MOBILE


def test_pager_numbers_are_not_mobile() -> None:
    assert _refusal("066 1234567").message == phone.ONLY_DUTCH_MOBILE


def test_display_and_masking() -> None:
    assert phone.display_mobile("+31612345678") == "06 12345678"
    assert phone.masked("+31612345678") == "06 ••••••78"
