"""Domain errors: one exception type carrying its HTTP status, rendered by one handler.

Messages are written for the person who sees them (Dutch); ``code`` is for machines.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """Base of every error a service raises on purpose."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    # Errors that record what happened (a wrong code counts as an attempt, a refused request
    # counts against a rate limit) keep the transaction's changes; all others roll back.
    keep_changes: ClassVar[bool] = False

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
        self.retry_after = retry_after


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
