"""Telling a message's subject that it will never arrive.

An outbox row names its subject (``subject_kind`` + ``subject_id``, e.g. offer 123). When the
message fails for good, the owner of that kind of subject must react (an offer that never reached
the volunteer becomes ``failed`` and the dispatcher moves on). ``notifications`` never imports
``brigades``: the owners register a handler at application start, and the worker calls it in the
same transaction that marks the message failed, so the two changes commit together or not at all.

Some failures say something about the *recipient* rather than the subject (Twilio's 21610: the
number opted out at Twilio). Handlers for such provider error codes are registered the same way
(:meth:`FailureHandlers.register_error_code`) and called for every failed message with that
code, before the subject's handler.

The registry is an explicit :class:`FailureHandlers` object. The module-level
:data:`default_handlers` is what the application uses; tests build a fresh ``FailureHandlers()``
and hand it to the worker or to ``apply_status``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlmodel import Session

from notifications.models import OutboxMessage

log = logging.getLogger(__name__)

FailureHandler = Callable[[Session, int, OutboxMessage], None]
ErrorCodeHandler = Callable[[Session, OutboxMessage], None]


class FailureHandlers:
    """Handlers by subject kind; the last registration for a kind wins."""

    def __init__(self) -> None:
        self._handlers: dict[str, FailureHandler] = {}
        self._code_handlers: dict[str, ErrorCodeHandler] = {}
        self._lock = threading.Lock()

    def register(self, subject_kind: str, handler: FailureHandler) -> None:
        """Call ``handler(session, subject_id, message)`` when a message about this kind fails."""
        # Last wins (rather than raising) because an app factory may run several times in one
        # process, e.g. one app per test, each registering its handlers again.
        with self._lock:
            self._handlers[subject_kind] = handler

    def register_error_code(self, code: str, handler: ErrorCodeHandler) -> None:
        """Call ``handler(session, message)`` when a message fails with provider error ``code``."""
        with self._lock:
            self._code_handlers[code] = handler

    def unregister(self, subject_kind: str) -> None:
        """Forget the handler of a kind (no error when there is none)."""
        with self._lock:
            self._handlers.pop(subject_kind, None)

    def handler_for(self, subject_kind: str) -> FailureHandler | None:
        """The handler registered for a kind, if any."""
        with self._lock:
            return self._handlers.get(subject_kind)

    def kinds(self) -> frozenset[str]:
        """The subject kinds that have a handler."""
        with self._lock:
            return frozenset(self._handlers)

    def notify(self, session: Session, message: OutboxMessage) -> bool:
        """Call the handlers for the message's error code and subject; False when it has none."""
        with self._lock:
            code_handler = self._code_handlers.get(message.provider_error_code or "")
        if code_handler is not None:
            code_handler(session, message)
        if message.subject_kind is None or message.subject_id is None:
            return False
        handler = self.handler_for(message.subject_kind)
        if handler is None:
            log.warning(
                "no failure handler for subject kind %s (outbox=%s)",
                message.subject_kind,
                message.id,
            )
            return False
        handler(session, message.subject_id, message)
        return True


default_handlers = FailureHandlers()


def register_failure_handler(subject_kind: str, handler: FailureHandler) -> None:
    """Register a handler in the application's default registry."""
    default_handlers.register(subject_kind, handler)


def register_error_code_handler(code: str, handler: ErrorCodeHandler) -> None:
    """Register a provider error code's handler in the application's default registry."""
    default_handlers.register_error_code(code, handler)


def notify_failure(
    session: Session, message: OutboxMessage, *, handlers: FailureHandlers | None = None
) -> bool:
    """Tell the message's subject owner that it failed for good (default registry unless given)."""
    return (default_handlers if handlers is None else handlers).notify(session, message)
