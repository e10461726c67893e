"""Log configuration of ``zorgbrigade serve`` and ``worker``: JSON or text, without personal data.

Every handler carries :class:`RedactionFilter`, which rewrites a record before it is written:
phone numbers (Dutch and E.164, in any of their usual spellings), e-mail addresses, postcodes
with their house number and the tokens of personal links are replaced by a placeholder, in the
message, its arguments and the exception text alike. The request id of the request being served
(:data:`request_id`) goes with every record.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.config
import re
from datetime import UTC, datetime
from typing import IO, Any

import phonenumbers

from brigades.settings import LogFormat, LogLevel, Settings

# The id of the request being served (set by brigades.metrics.middleware), None outside one.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "zb_request_id", default=None
)

PHONE = "[telefoon]"
EMAIL = "[e-mail]"
ADDRESS = "[adres]"
TOKEN = "[token]"

_EMAIL_RE = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
# A PC6 postcode ("3512 JK", "3512JK", "3512jk"), with the house number and addition that may
# follow. Lower case only without a space, and never a unit ("1200ms"): "1234 en" is prose.
_POSTCODE_RE = re.compile(
    r"\b[1-9][0-9]{3}(?:\s?[A-Z]{2}|(?!(?:ms|ns|us|kb|mb|gb|km|px|th|st|nd|rd)\b)[a-z]{2})\b"
    r"(?:[\s,]*(?:nr\.?\s*)?[0-9]{1,5}(?:\s?[A-Za-z]{1,3}\b|[-/][0-9A-Za-z]{1,4}\b)?)?"
)
# Spellings the phone matcher may leave behind: E.164 of any country and Dutch numbers written
# with separators or a 00 prefix (0612345678, 06-12345678, 0031 6 1234 5678, +31 (0)6 …).
_PHONE_RES = (
    re.compile(r"(?<![\w+])\+[1-9][0-9]{7,14}\b"),
    re.compile(r"(?<![\w+])(?:\+|00)31[\s.-]*(?:\(0\)[\s.-]*)?[1-9](?:[\s.-]*[0-9]){8}\b"),
    re.compile(r"(?<![\w+])0[1-9](?:[\s.-]*[0-9]){8}\b"),
)
# Personal links and password-reset links carry their credential in the path.
_TOKEN_PATH_RE = re.compile(r"(/l/|/wachtwoord/herstel/)[A-Za-z0-9_~.%-]{6,}")
_DIGITS_RE = re.compile(r"[0-9]")


def _redact_phones(text: str) -> str:
    if len(_DIGITS_RE.findall(text)) < 8:  # no phone number fits in fewer digits
        return text
    spans = [(match.start, match.end) for match in phonenumbers.PhoneNumberMatcher(text, "NL")]
    for start, end in reversed(spans):
        text = text[:start] + PHONE + text[end:]
    for pattern in _PHONE_RES:
        text = pattern.sub(PHONE, text)
    return text


def redact(text: str) -> str:
    """The text with phone numbers, e-mail addresses, postcodes and link tokens replaced."""
    text = _TOKEN_PATH_RE.sub(lambda m: m.group(1) + TOKEN, text)
    text = _EMAIL_RE.sub(EMAIL, text)
    text = _redact_phones(text)
    return _POSTCODE_RE.sub(ADDRESS, text)


class RedactionFilter(logging.Filter):
    """Rewrite a record so that no personal data reaches the output (message, args, exception)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format
            message = f"{record.msg} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RequestIdFilter(logging.Filter):
    """Put the current request id on the record (``request_id``, None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid is not None:
            entry["request_id"] = rid
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """A line for a terminal, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.rid = f" [{rid}]" if rid else ""
        return super().format(record)


def make_handler(log_format: LogFormat, stream: IO[str] | None = None) -> logging.Handler:
    """The handler every process writes through: redacted, with the request id, formatted."""
    handler = logging.StreamHandler(stream)  # None: standard error
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else TextFormatter())
    # Redaction first: the request id filter adds nothing personal.
    handler.addFilter(RedactionFilter())
    handler.addFilter(RequestIdFilter())
    return handler


def logging_config(
    log_format: LogFormat = LogFormat.TEXT, level: LogLevel = LogLevel.INFO
) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for one process (uvicorn applies it in every worker)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"default": {"()": make_handler, "log_format": log_format}},
        "root": {"handlers": ["default"], "level": level.value},
        "loggers": {
            # uvicorn's own handlers are replaced by ours; its access log stays off (the path of
            # a personal link is its credential): brigades.metrics logs each request instead.
            "uvicorn": {"handlers": [], "propagate": True, "level": level.value},
            "uvicorn.error": {"handlers": [], "propagate": True, "level": level.value},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            # SQLAlchemy logs statements at INFO and result rows (phone numbers, names) at DEBUG
            # whenever the root logger lets it: only its warnings, whatever ZB_LOG_LEVEL says.
            "sqlalchemy": {"level": "WARNING"},
        },
    }


def settings_config(settings: Settings) -> dict[str, Any]:
    """The logging configuration the settings ask for."""
    return logging_config(settings.effective_log_format, settings.log_level)


def configure(settings: Settings | None = None) -> None:
    """Configure this process's logging (text at INFO without settings)."""
    config = settings_config(settings) if settings is not None else logging_config()
    logging.config.dictConfig(config)
