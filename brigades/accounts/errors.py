"""Errors of staff accounts and logins."""

from __future__ import annotations

from brigades.errors import DomainError, NotAuthenticated

LOGIN_PATH = "/beheer/inloggen"
CODE_PATH = "/beheer/inloggen/code"
ENROL_PATH = "/beheer/2fa/instellen"

NOT_SIGNED_IN = "Je bent niet (meer) ingelogd. Log opnieuw in."
BAD_LOGIN = (
    "Het e-mailadres of het wachtwoord klopt niet, of er is te vaak een verkeerd wachtwoord "
    "gebruikt (dan kan inloggen een kwartier niet). Probeer het opnieuw."
)
BAD_CODE = "Deze code klopt niet of is al gebruikt. Wacht op de volgende code in je app."


class LoginRequired(NotAuthenticated):
    """No (complete) login: pages send the browser to ``location``, the API answers 401."""

    def __init__(self, message: str = NOT_SIGNED_IN, *, location: str = LOGIN_PATH) -> None:
        super().__init__(message)
        self.location = location


class InvalidCredentials(DomainError):
    """Wrong e-mail address, password or TOTP code; the failure count is kept."""

    status_code = 401
    code = "invalid_credentials"
    keep_changes = True
