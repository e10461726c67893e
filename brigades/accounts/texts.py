"""Messages of staff accounts sent by SMS (Dutch, no personal data beyond the code)."""

from __future__ import annotations


def reset_code_sms(code: str, *, minutes: int) -> str:
    """The SMS with a password reset code."""
    return (
        f"Zorgbrigade beheer: je code om je wachtwoord opnieuw in te stellen is {code}. "
        f"De code is {minutes} minuten geldig. Heb je dit niet aangevraagd? Negeer dit bericht."
    )
