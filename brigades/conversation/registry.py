"""Who answers a question: one handler per question kind, registered by the owning domain.

The conversation knows codes and words; what a JA *means* belongs to the domain that asked
(dispatch accepts an offer, a drill records a roll-call answer …). Those domains register a
handler for their :class:`QuestionKind` when their module is imported; inbound processing looks it
up in a registry. The registry is an explicit object with one default instance, so a test can hand
``handle_inbound`` a fresh one with its own handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from brigades.conversation import texts
from brigades.conversation.models import Question, QuestionKind
from brigades.settings import Settings
from notifications.models import Priority
from notifications.replies import ReplyIntent

# The words a question can be answered with unless its handler says otherwise.
DEFAULT_INTENTS: frozenset[ReplyIntent] = frozenset({ReplyIntent.YES, ReplyIntent.NO})
# Words that answer a question (as opposed to commands such as STATUS or PAUZE).
ANSWER_INTENTS: frozenset[ReplyIntent] = frozenset(
    {
        ReplyIntent.YES,
        ReplyIntent.NO,
        ReplyIntent.ARRIVED,
        ReplyIntent.DONE,
        ReplyIntent.CANCEL,
    }
)
# A stable order for listing words back to a volunteer.
_INTENT_ORDER = [
    ReplyIntent.YES,
    ReplyIntent.NO,
    ReplyIntent.ARRIVED,
    ReplyIntent.DONE,
    ReplyIntent.CANCEL,
]


@dataclass(frozen=True)
class AnswerOutcome:
    """What a handler did with an answer, and the Dutch text to send back (None: send nothing)."""

    reply_text: str | None
    # False keeps the question open (e.g. the handler refused this answer for now).
    close_question: bool = True
    # A short machine label for the inbound message's record ("accepted", "too_late" …).
    outcome: str = "answered"
    priority: Priority = Priority.NOTICE


# handler(session, question, intent, now, settings)
AnswerHandler = Callable[[Session, Question, ReplyIntent, datetime, Settings], AnswerOutcome]


@dataclass(frozen=True)
class HandlerEntry:
    """A registered handler with the answer words it accepts and its one-word label."""

    handler: AnswerHandler
    intents: frozenset[ReplyIntent]
    label: str

    def ordered_intents(self) -> list[ReplyIntent]:
        """The accepted words in a fixed order (JA before NEE …)."""
        return [i for i in _INTENT_ORDER if i in self.intents]


class AnswerHandlerRegistry:
    """Handlers per question kind."""

    def __init__(self) -> None:
        self._entries: dict[QuestionKind, HandlerEntry] = {}

    def register(
        self,
        kind: QuestionKind,
        handler: AnswerHandler,
        *,
        intents: Iterable[ReplyIntent] = DEFAULT_INTENTS,
        label: str | None = None,
        replace: bool = False,
    ) -> None:
        """Register the handler of one question kind (twice only with ``replace=True``)."""
        accepted = frozenset(intents)
        if not accepted or not accepted <= ANSWER_INTENTS:
            raise ValueError(f"a handler answers with words from {sorted(ANSWER_INTENTS)}")
        if kind in self._entries and not replace:
            raise ValueError(f"a handler for {kind.value} is already registered")
        self._entries[kind] = HandlerEntry(
            handler=handler, intents=accepted, label=label or texts.KIND_LABELS[kind]
        )

    def get(self, kind: QuestionKind) -> HandlerEntry | None:
        """The entry for a kind, or None when no domain registered one."""
        return self._entries.get(kind)

    def accepts(self, kind: QuestionKind, intent: ReplyIntent) -> bool:
        """Whether a question of this kind can be answered with this word.

        A kind without a handler counts as a JA/NEE question, so that a bare JA still finds it
        (and is then routed to a person rather than silently dropped).
        """
        entry = self._entries.get(kind)
        return intent in (entry.intents if entry else DEFAULT_INTENTS)

    def label(self, kind: QuestionKind) -> str:
        """The one-word description of a kind for lists of open questions."""
        entry = self._entries.get(kind)
        return entry.label if entry else texts.KIND_LABELS[kind]


default_registry = AnswerHandlerRegistry()


def register_answer_handler(
    kind: QuestionKind,
    handler: AnswerHandler,
    *,
    intents: Iterable[ReplyIntent] = DEFAULT_INTENTS,
    label: str | None = None,
    registry: AnswerHandlerRegistry | None = None,
) -> None:
    """Register the handler answering questions of ``kind`` (in the default registry)."""
    (registry or default_registry).register(kind, handler, intents=intents, label=label)
