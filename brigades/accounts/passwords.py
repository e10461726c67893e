"""Password hashing (argon2id) and the rules a new password must meet."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from brigades.errors import InvalidInput

MIN_LENGTH = 12
# argon2 hashes anything, but a megabyte "password" is a denial of service, not a password.
MAX_LENGTH = 256

# The most common passwords that meet the length rule (from public breach lists, Dutch ones
# added). Short ones need no entry: the length rule refuses them.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456789123",
        "111111111111",
        "000000000000",
        "qwertyuiopas",
        "qwertyuiop123",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "asdfghjkl123",
        "password1234",
        "password12345",
        "password123!",
        "passwordpassword",
        "passw0rd1234",
        "wachtwoord12",
        "wachtwoord123",
        "wachtwoord1234",
        "wachtwoord!!",
        "welkom123456",
        "welkomwelkom",
        "welkom2024!!",
        "welkom2025!!",
        "welkom2026!!",
        "zomer2026!!!",
        "winter2026!!",
        "iloveyou1234",
        "abcdefghijkl",
        "abc123abc123",
        "letmein12345",
        "administrator",
        "administrator1",
        "beheerder123",
        "zorgbrigade1",
        "zorgbrigade12",
        "zorgbrigade123",
        "zorgbrigade2026",
        "codezwart123",
        "veiligheidsregio",
        "coordinator1",
        "changeme1234",
        "trustno1trustno1",
        "football1234",
        "princess1234",
        "sunshine1234",
        "monkey123456",
        "dragon123456",
        "starwars1234",
        "superman1234",
    }
)

TOO_SHORT = f"Kies een wachtwoord van minstens {MIN_LENGTH} tekens."
TOO_LONG = f"Kies een wachtwoord van hoogstens {MAX_LENGTH} tekens."
TOO_COMMON = "Dit wachtwoord wordt te vaak gebruikt en is makkelijk te raden. Kies een ander."
LIKE_EMAIL = "Gebruik niet je e-mailadres als wachtwoord."
ONE_CHARACTER = "Een wachtwoord van één herhaald teken is te makkelijk te raden."

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash to store."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the stored hash (False for a malformed hash too)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("zorgbrigade: no such account")


def verify_dummy(password: str) -> None:
    """Spend the time of a real verification, so an unknown e-mail address is not faster."""
    verify_password(_dummy_hash(), password)


def check_rules(password: str, *, email: str) -> None:
    """Refuse a new password that is too short, too long, too common or the e-mail address."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(TOO_SHORT, field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(TOO_LONG, field="password")
    folded = password.strip().casefold()
    address = email.strip().casefold()
    local_part = address.split("@", 1)[0]
    if address and (address in folded or folded == local_part):
        raise InvalidInput(LIKE_EMAIL, field="password")
    if folded in COMMON_PASSWORDS:
        raise InvalidInput(TOO_COMMON, field="password")
    if len(set(folded)) == 1:
        raise InvalidInput(ONE_CHARACTER, field="password")
