"""Parsing and normalising Dutch postcodes ("3512 JK", "3512jk", "3512")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

PostcodeErrorCode = Literal["malformed", "unknown", "po_box"]

MALFORMED_MESSAGE = (
    "Dit is geen geldige postcode. Een postcode is vier cijfers en twee letters, zoals 3512 JK."
)

# PostNL never issues these letter pairs (SS, SD and SA carry wartime associations).
_FORBIDDEN_LETTERS = frozenset({"SA", "SD", "SS"})
# Explicit [0-9]/[A-Za-z]: \d and \w would also accept other scripts' digits and letters.
_POSTCODE_RE = re.compile(r"([1-9][0-9]{3})(?:\s*-?\s*([A-Za-z]{2}))?")
# Anything longer is not a postcode; refuse before doing any work on it.
_MAX_INPUT_LENGTH = 32


class PostcodeError(ValueError):
    """A postcode that cannot be used, with a machine code and a Dutch message for people."""

    def __init__(self, code: PostcodeErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: PostcodeErrorCode = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Postcode:
    """A normalised Dutch postcode: the PC4 number and, for a PC6, its two capital letters."""

    pc4: int
    letters: str | None = None

    def __str__(self) -> str:
        """Format as PostNL writes it: "3512 JK", or "3512" for a PC4."""
        return f"{self.pc4} {self.letters}" if self.letters else str(self.pc4)

    @property
    def is_pc6(self) -> bool:
        """Whether the letters are known."""
        return self.letters is not None


def normalise_postcode(text: str | None) -> Postcode:
    """Parse "3512 JK", "3512jk", " 3512-JK " or "3512"; else raise PostcodeError("malformed")."""
    # Callers pass form fields and SMS text: treat anything that is not a short string as malformed.
    if not isinstance(text, str) or len(text) > _MAX_INPUT_LENGTH:
        raise PostcodeError("malformed", MALFORMED_MESSAGE)
    match = _POSTCODE_RE.fullmatch(text.strip())
    if match is None:
        raise PostcodeError("malformed", MALFORMED_MESSAGE)
    letters = match.group(2).upper() if match.group(2) else None
    if letters in _FORBIDDEN_LETTERS:
        raise PostcodeError("malformed", MALFORMED_MESSAGE)
    return Postcode(int(match.group(1)), letters)
