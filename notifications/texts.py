"""Message texts: shared helpers only.

The texts of each domain's messages (offers, roll-calls, reminders …) are written by that domain
in Dutch and passed to ``outbox.enqueue``. What every message shares lives here: a drill message
always starts with OEFENING, so that nobody mistakes an exercise for the real thing and a drill
answer can never accept a real task.
"""

from __future__ import annotations

DRILL_PREFIX = "OEFENING"


def is_drill_text(body: str) -> bool:
    """Whether a text already carries the drill prefix."""
    return body.startswith(DRILL_PREFIX)


def drill_text(body: str) -> str:
    """The text as sent in a drill: prefixed with OEFENING unless it already is."""
    if is_drill_text(body):
        return body
    return f"{DRILL_PREFIX}: {body}"
