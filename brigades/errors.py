"""Domain errors: one exception type carrying its HTTP status, rendered by one handler.

Messages are written for the person who sees them (Dutch); ``code`` is for machines.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import ClassVar

from sqlalchemy import exc as sa_exc


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    # Errors that record what happened (a wrong code counts as an attempt, a refused request
    # counts against a rate limit) keep the transaction's changes; all others roll back.
    keep_changes: ClassVar[bool] = False
    # Seconds after which trying again makes sense (sent as a Retry-After header), if known.
    retry_after: int | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        """The JSON body for API clients."""
        return {"code": self.code, "detail": self.message, "field": self.field}


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class NotAuthenticated(DomainError):
    status_code = 401
    code = "not_authenticated"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"
    keep_changes = True

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after: int | None = retry_after


class InvalidPostcode(InvalidInput):
    code = "invalid_postcode"


class InvalidPhoneNumber(InvalidInput):
    code = "invalid_phone_number"


class InvalidCode(DomainError):
    status_code = 400
    code = "invalid_code"
    keep_changes = True


class ExpiredLink(DomainError):
    status_code = 401
    code = "expired_link"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "unavailable"


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached (restarting, connection lost, overloaded, locked)."""

    code = "database_unavailable"
    RETRY_SECONDS: ClassVar[int] = 5

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "De database is even niet bereikbaar. Er is niets opgeslagen. "
            "Probeer het over een paar seconden opnieuw."
        )
        self.retry_after = self.RETRY_SECONDS


class StorageFull(DomainError):
    """The database's disk is full: nothing can be written until an operator makes room."""

    status_code = 507
    code = "storage_full"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "Opslag vol: er kan nu niets worden opgeslagen en er is niets bewaard. "
            "Probeer het later opnieuw en meld het aan de beheerder."
        )


# What the framework itself refuses (no route, wrong method, an unreadable or too large body),
# answered in the same body and language as a DomainError: status → (code, message).
FRAMEWORK_ERRORS: dict[int, tuple[str, str]] = {
    400: (
        "unreadable_request",
        "Het verzoek kon niet worden gelezen. Controleer de gegevens en probeer het opnieuw.",
    ),
    401: ("not_authenticated", "U bent niet ingelogd."),
    403: ("forbidden", "Dat mag u niet doen."),
    404: ("not_found", "Deze pagina bestaat niet (meer). Controleer het adres."),
    405: ("method_not_allowed", "Dit adres kan dat verzoek niet verwerken."),
    413: ("too_large", "Het verzoek is te groot."),
    415: ("unsupported_media_type", "Dit soort gegevens wordt hier niet aangenomen."),
}
FRAMEWORK_FALLBACK = ("bad_request", "Het verzoek kon niet worden verwerkt.")


def framework_error(status_code: int) -> tuple[str, str]:
    """The code and Dutch message for an error the framework answers on its own."""
    return FRAMEWORK_ERRORS.get(status_code, FRAMEWORK_FALLBACK)


# SQLite result codes (primary, the low byte) that mean "not now" rather than "a bug".
_SQLITE_UNAVAILABLE = {
    sqlite3.SQLITE_BUSY,
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_CANTOPEN,
    sqlite3.SQLITE_PROTOCOL,
}
# PostgreSQL SQLSTATE classes and codes that mean the same: connection exceptions, the server
# shutting down or starting up, insufficient resources, a transaction to simply try again.
_PG_UNAVAILABLE_CLASSES = ("08", "53", "57P", "40")
_PG_UNAVAILABLE_CODES = {"57014"}  # statement cancelled (statement_timeout)
_PG_DISK_FULL = "53100"


def from_database_error(error: BaseException) -> DomainError | None:
    """What a database error means for the person who made the request, if it is not a bug.

    A full disk becomes :class:`StorageFull`; a database that cannot be reached (connection
    refused or lost, pool exhausted, locked, shutting down) becomes :class:`DatabaseUnavailable`.
    Anything else (a constraint violated, a bad statement) is a bug and stays unmapped (None).
    """
    if isinstance(error, sa_exc.TimeoutError):
        return DatabaseUnavailable()  # no connection free in the pool in time
    if not isinstance(error, sa_exc.DBAPIError):
        return None
    orig = error.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is None:
            return None
        if code & 0xFF == sqlite3.SQLITE_FULL:
            return StorageFull()
        if code & 0xFF in _SQLITE_UNAVAILABLE:
            return DatabaseUnavailable()
        return None
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate == _PG_DISK_FULL:
        return StorageFull()
    if error.connection_invalidated or isinstance(error, sa_exc.InterfaceError):
        return DatabaseUnavailable()
    if isinstance(error, sa_exc.OperationalError):
        # No SQLSTATE: the driver lost (or never got) its connection.
        if sqlstate is None:
            return DatabaseUnavailable()
        if sqlstate.startswith(_PG_UNAVAILABLE_CLASSES) or sqlstate in _PG_UNAVAILABLE_CODES:
            return DatabaseUnavailable()
    return None


def log_database_error(logger: logging.Logger, exc: Exception, status_code: int) -> None:
    """Log a database error answered with ``status_code``: the type and SQLSTATE only (the
    message carries the statement's parameters, personal data among them)."""
    orig = getattr(exc, "orig", None)
    logger.error(
        "database error %s (%s, sqlstate %s) answered %s",
        type(exc).__name__,
        type(orig).__name__ if orig is not None else "-",
        getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorcode", None),
        status_code,
    )
