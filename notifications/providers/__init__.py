"""SMS providers: the interface and its implementations (console here; Twilio in its own module)."""

from notifications.providers.base import (
    OutboundSms,
    PermanentSendError,
    SendError,
    SendResult,
    SmsProvider,
    TransientSendError,
    UncertainSendError,
    refuse_synthetic,
)

__all__ = [
    "OutboundSms",
    "PermanentSendError",
    "SendError",
    "SendResult",
    "SmsProvider",
    "TransientSendError",
    "UncertainSendError",
    "refuse_synthetic",
]
