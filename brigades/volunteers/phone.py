"""Phone number rules: only Dutch mobile numbers (06, E.164 +316…) can sign up."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType

from brigades.errors import InvalidPhoneNumber

MALFORMED = (
    "Dit is geen geldig mobiel nummer. Een mobiel nummer heeft 10 cijfers en begint met 06, "
    "zoals 06 12345678."
)
ONLY_DUTCH_MOBILE = "Alleen Nederlandse mobiele nummers (06) kunnen zich aanmelden."
SHORT_NUMBER = (
    "Alarmnummers en korte nummers (zoals 112) kunnen zich niet aanmelden. "
    "Vul je eigen 06-nummer in."
)
SERVICE_NUMBER = (
    "Servicenummers (0800, 0900, 0906, 0909) kunnen zich niet aanmelden. Vul je eigen 06-nummer in."
)
NON_GEOGRAPHIC = (
    "Nummers die beginnen met 085, 088 of 091 zijn geen mobiele nummers. Vul je eigen 06-nummer in."
)
LANDLINE = "Dit is een vast nummer. We sturen berichten per sms: vul je 06-nummer in."
MACHINE_TO_MACHINE = (
    "Nummers die beginnen met 097 zijn voor apparaten, niet voor mensen. Vul je eigen 06-nummer in."
)

_MAX_INPUT = 32
_SHORT_MAX_DIGITS = 6
# Digits and the usual separators only: phonenumbers would otherwise read letters as keypad
# digits ("06-CALLME00") and accept extensions ("ext. 3").
_ALLOWED = re.compile(r"[0-9+\-().\s/]+")
_SERVICE_PREFIXES = ("800", "900", "906", "909")
_NON_GEOGRAPHIC_PREFIXES = ("85", "88", "91")
_M2M_PREFIX = "97"


def _refuse(message: str) -> InvalidPhoneNumber:
    return InvalidPhoneNumber(message, field="phone")


def normalise_mobile(text: str) -> str:
    """A Dutch mobile number in E.164 (+316…); raise InvalidPhoneNumber with a Dutch reason."""
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        raise _refuse(MALFORMED)
    stripped = text.strip()
    if not stripped or not _ALLOWED.fullmatch(stripped):
        raise _refuse(MALFORMED)
    digits = re.sub(r"\D", "", stripped)
    if (
        not stripped.startswith("+")
        and not digits.startswith("0")
        and len(digits) <= _SHORT_MAX_DIGITS
    ):
        # 112, 144, 1400, 116000 …: no subscriber number to send a code to.
        raise _refuse(SHORT_NUMBER)
    # Emergency numbers are short (112, 911): a longer number cannot be one, and the check
    # parses the number once more (sign-up is the hot path).
    if len(digits) <= _SHORT_MAX_DIGITS and phonenumbers.is_emergency_number(digits, "NL"):
        raise _refuse(SHORT_NUMBER)
    try:
        number = phonenumbers.parse(stripped, "NL")
    except phonenumbers.NumberParseException:
        raise _refuse(MALFORMED) from None
    if number.country_code != 31:
        raise _refuse(ONLY_DUTCH_MOBILE)
    national = phonenumbers.national_significant_number(number)
    # phonenumbers classes 097 (machine-to-machine) as MOBILE: this check must come first.
    if national.startswith(_M2M_PREFIX):
        raise _refuse(MACHINE_TO_MACHINE)
    if national.startswith(_SERVICE_PREFIXES):
        raise _refuse(SERVICE_NUMBER)
    if national.startswith(_NON_GEOGRAPHIC_PREFIXES):
        raise _refuse(NON_GEOGRAPHIC)
    # One pattern match: for +31 (one region), is_valid_number is number_type != UNKNOWN.
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.UNKNOWN:
        raise _refuse(MALFORMED)
    if kind == PhoneNumberType.FIXED_LINE:
        raise _refuse(LANDLINE)
    if kind != PhoneNumberType.MOBILE or not national.startswith("6"):
        raise _refuse(ONLY_DUTCH_MOBILE)
    # What format_number(…, E164) returns, without formatting the number again.
    return f"+31{national}"


def display_mobile(e164: str) -> str:
    """How a Dutch person writes their own number: "06 12345678"."""
    if e164.startswith("+316") and len(e164) == 12:
        return f"06 {e164[4:]}"
    return e164


def masked(e164: str) -> str:
    """A number with all but the last two digits hidden, for pages that confirm where we sent it."""
    shown = display_mobile(e164)
    return "06 ••••••" + shown[-2:] if shown.startswith("06 ") else "••••" + shown[-2:]
