"""The SMS reply grammar (DESIGN.md, "SMS conversation"): text in, meaning out.

Pure functions; never raises on any input.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ReplyIntent(enum.StrEnum):
    YES = "yes"  # JA: accept an offer / yes to a roll-call or re-confirmation
    NO = "no"  # NEE
    ARRIVED = "arrived"  # AANGEKOMEN: checked in
    DONE = "done"  # KLAAR
    CANCEL = "cancel"  # AFZEGGEN: cancel an accepted task
    PAUSE = "pause"  # PAUZE
    AVAILABLE = "available"  # BESCHIKBAAR (also revives a dormant volunteer)
    STATUS = "status"
    HELP = "help"  # HULP (and Twilio's HELP/INFO)
    STOP = "stop"  # STOP/STOPPEN/UITSCHRIJVEN (and Twilio's opt-out words)
    START = "start"  # START (and Twilio's opt-in words)
    UNKNOWN = "unknown"  # free text: goes to the buurtsteunpunt's inbox
    EMPTY = "empty"


@dataclass(frozen=True)
class ParsedReply:
    intent: ReplyIntent
    code: str | None = None  # the question code given with the reply, e.g. "4821"
    # True when the word is one of Twilio's own keywords (Twilio acts on it before we see it).
    twilio_keyword: bool = False
