"""The SMS provider interface: what the outbox worker needs from Twilio, the console, or a double.

A provider sends one message and answers with the provider's message id, or raises one of three
errors that tell the worker what it may do next:

- :class:`TransientSendError` — the provider certainly did not take the message (HTTP 429, a 5xx
  returned before the message was accepted, a connection that could not be opened). Retried with
  backoff.
- :class:`PermanentSendError` — the provider refused the message and will refuse it again (invalid
  number, opted out, synthetic recipient). Never retried; the subject's owner is told.
- :class:`UncertainSendError` — the request may have reached the provider but its answer was lost
  (a read timeout, a dropped connection after sending). Never retried automatically: re-sending
  could deliver the message twice, so the row is marked ``uncertain`` for a person or a status
  callback to resolve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class OutboundSms:
    """One message as handed to a provider (a snapshot of the outbox row)."""

    outbox_id: int
    to: str
    body: str
    sender_hint: str | None = None
    status_callback_url: str | None = None
    synthetic: bool = False


@dataclass(frozen=True)
class SendResult:
    """The provider took the message."""

    provider_sid: str
    status: str  # the provider's own status word, e.g. "queued" or "sent"
    sender: str | None = None  # the number or sender id the provider used


class SendError(Exception):
    """Base of the errors a provider raises for a message it did not (knowingly) send."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TransientSendError(SendError):
    """Not sent this time; trying again later may work."""

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        retry_after: float | None = None,
        counts_as_attempt: bool = True,
        provider_fault: bool = False,
    ) -> None:
        super().__init__(message or "transient provider error", code=code)
        self.retry_after = retry_after
        # True when the provider itself failed (a 5xx, or it could not be reached) rather than
        # refusing this message for now (429, a full sender queue): when every send of a round
        # fails like this, the worker holds the provider instead of using up attempts.
        self.provider_fault = provider_fault
        # False for faults of our own set-up (refused credentials): the message waits for the
        # operator's fix instead of running out of attempts.
        self.counts_as_attempt = counts_as_attempt


class PermanentSendError(SendError):
    """Not sent, and it never will be: do not retry."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class UncertainSendError(SendError):
    """The provider may or may not have taken the message; retrying could send it twice."""


# Error codes are stored in 16 characters (provider codes are short numbers, e.g. 21610).
SYNTHETIC_RECIPIENT = "synthetic"


def refuse_synthetic(message: OutboundSms) -> None:
    """Raise for a synthetic recipient: real network providers call this before sending."""
    if message.synthetic:
        raise PermanentSendError(
            SYNTHETIC_RECIPIENT, "synthetic (demo/simulator) recipient: not sent over the network"
        )


class SmsProvider(Protocol):
    """Sends one SMS. ``name`` is the value of ``OutboxMessage.provider`` it handles."""

    name: str

    def send(self, message: OutboundSms) -> SendResult:
        """Hand one message to the network (or record it); raise a SendError if not sent."""
        ...


@runtime_checkable
class ProbingProvider(Protocol):
    """A provider that can say whether it is reachable without sending anything.

    The worker asks while it holds the provider after a round failed on provider faults (see
    ``notifications.worker``); without it, one message is sent as the probe.
    """

    name: str

    def reachable(self) -> bool:
        """Whether the provider answers (anything but a 5xx or no connection)."""
        ...


@runtime_checkable
class AsyncSmsProvider(Protocol):
    """A provider that can also send without a thread per request (an async HTTP client).

    The worker sends a round's messages through ``send_async`` on its own event loop, many at
    once; ``aclose`` closes what the provider opened on that loop.
    """

    name: str

    def send(self, message: OutboundSms) -> SendResult:
        """As ``SmsProvider.send``."""
        ...

    async def send_async(self, message: OutboundSms) -> SendResult:
        """As ``send``, on the running event loop."""
        ...

    async def aclose(self) -> None:
        """Close the async client of the running event loop, if one was opened."""
        ...
