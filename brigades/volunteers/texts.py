"""SMS texts of sign-up and the personal page (Dutch, GSM-7, one segment each)."""

from __future__ import annotations


def code_sms(code: str, *, valid_minutes: int) -> str:
    """The verification code message."""
    return (
        f"Zorgbrigade: je code is {code}. Geldig {valid_minutes} minuten. "
        "Deel deze code met niemand."
    )


def link_sms(public_url: str, token: str, *, valid_days: int) -> str:
    """The personal-link message."""
    days = "1 dag" if valid_days == 1 else f"{valid_days} dagen"
    return (
        f"Zorgbrigade: open je persoonlijke pagina via {public_url.rstrip('/')}/l/{token} "
        f"({days} geldig)."
    )


def phone_changed_sms() -> str:
    """Sent to the old number once a new one is verified, so a hijack does not go unnoticed."""
    return (
        "Zorgbrigade: je telefoonnummer is gewijzigd. Berichten gaan voortaan naar je nieuwe "
        "nummer. Was jij dit niet? Neem contact op met je buurtsteunpunt."
    )
