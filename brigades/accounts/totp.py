"""TOTP two-factor codes (RFC 6238, 30-second steps, 6 digits) for staff logins."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta

import pyotp
import segno

ISSUER = "Zorgbrigade"
STEP_SECONDS = 30
# One step either side: phones whose clock is a little off still work.
DRIFT_STEPS = 1


def new_secret() -> str:
    """A fresh shared secret (160 random bits, base32)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, email: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (typed in or from the QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code, rendered offline."""
    return str(segno.make(uri, error="m").svg_inline(scale=4, title="QR-code voor je app"))


def grouped(secret: str) -> str:
    """The secret in groups of four characters, for typing it over."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, *, now: datetime, last_step: int | None) -> int | None:
    """The time step the code belongs to, or None when it is wrong or was already used."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    found: int | None = None
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        moment = now + timedelta(seconds=offset * STEP_SECONDS)
        # Compare every candidate (no early exit) so the timing says nothing about which matched.
        if hmac.compare_digest(totp.at(moment), code):
            found = totp.timecode(moment)
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def code_at(secret: str, moment: datetime) -> str:
    """The code an authenticator shows at a moment (for tests and the demo)."""
    return pyotp.TOTP(secret).at(moment)
