"""BIG numbers: checked for form only, and an adapter interface for a lookup in the BIG-register.

A BIG number is exactly 11 digits. No checksum is applied: none is published by the CIBG that we
can cite, so a number of the right form is accepted and the coordinator checks the register (or a
configured adapter does). The default adapter is :class:`DisabledBigRegister` (no network here);
``ZB_BIG_REGISTER`` selects one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from brigades.errors import InvalidInput
from brigades.settings import BigRegisterName, Settings
from brigades.volunteers.validation import BIG_INVALID

BIG_NUMBER_DIGITS = 11
_BIG_NUMBER = re.compile(r"[0-9]{11}")
# People write the number in groups ("1234 5678 901"); spaces and dots are not part of it.
_SEPARATORS = re.compile(r"[\s.]")
_MAX_INPUT = 32


def normalise_big_number(text: str) -> str:
    """A BIG number as stored (11 digits), or raise InvalidInput with a Dutch message."""
    if not isinstance(text, str) or len(text) > _MAX_INPUT:
        raise InvalidInput(BIG_INVALID, field="big_number")
    digits = _SEPARATORS.sub("", text)
    if not digits.isascii() or not _BIG_NUMBER.fullmatch(digits):
        raise InvalidInput(BIG_INVALID, field="big_number")
    return digits


def is_big_number(text: str) -> bool:
    """Whether the text is a BIG number in form."""
    try:
        normalise_big_number(text)
    except InvalidInput:
        return False
    return True


@dataclass(frozen=True, slots=True)
class BigResult:
    """What the register says about a number: whether it is registered now, and as what."""

    big_number: str
    registered: bool
    professions: tuple[str, ...] = ()


class BigRegister(Protocol):
    """A lookup in the BIG-register. ``None``: no answer (register off or unreachable)."""

    def lookup(self, big_number: str) -> BigResult | None: ...


class DisabledBigRegister:
    """No lookup: the coordinator's own check is what is recorded."""

    def lookup(self, big_number: str) -> BigResult | None:
        """Never an answer."""
        return None


def register_for(settings: Settings) -> BigRegister:
    """The adapter the settings choose."""
    if settings.big_register is BigRegisterName.DISABLED:
        return DisabledBigRegister()
    raise ValueError(f"unknown ZB_BIG_REGISTER: {settings.big_register}")
