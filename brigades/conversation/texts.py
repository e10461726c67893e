"""Every SMS text of the conversation, in Dutch.

All texts stay inside the GSM 7-bit alphabet (no curly quotes, no accents outside GSM) and fit one
160-character segment with realistic values; tests/conversation/test_texts.py checks that.
"""

from __future__ import annotations

from collections.abc import Sequence

from brigades.conversation.models import QuestionKind
from notifications.replies import ReplyIntent

# One short line per question kind, for lists of open questions ("4821 (taak)").
KIND_LABELS: dict[QuestionKind, str] = {
    QuestionKind.OFFER: "taak",
    QuestionKind.ROLL_CALL: "beschikbaarheid",
    QuestionKind.RECONFIRMATION: "bevestiging",
    QuestionKind.ASSIGNMENT: "inzet",
}

# The word a volunteer types for an answer intent, to echo it back in examples.
INTENT_WORDS: dict[ReplyIntent, str] = {
    ReplyIntent.YES: "JA",
    ReplyIntent.NO: "NEE",
    ReplyIntent.ARRIVED: "AANGEKOMEN",
    ReplyIntent.DONE: "KLAAR",
    ReplyIntent.CANCEL: "AFZEGGEN",
}

HELP = (
    "Zorgbrigade: antwoord met het woord en de code, bijv. JA 4821 of NEE 4821. "
    "Ook: STATUS, PAUZE, BESCHIKBAAR, AANGEKOMEN, KLAAR, AFZEGGEN, STOP."
)
OPTED_OUT = "Je krijgt geen sms meer van Zorgbrigade. Stuur START om weer mee te doen."
OPTED_IN = "Welkom terug! Je krijgt weer sms van Zorgbrigade. Stuur HULP voor uitleg."
AVAILABLE = "Fijn! Je staat weer op beschikbaar. Stuur PAUZE als het even niet uitkomt."
NO_OPEN_QUESTION = "Je hebt nu geen open vraag. Stuur STATUS voor je overzicht of HULP voor uitleg."
FORWARDED = "Dank je, je bericht is doorgestuurd naar je buurtsteunpunt."
FORWARDED_REGION = "Dank je, je bericht is doorgestuurd naar de coordinatoren van Zorgbrigade."
EMPTY = "Je bericht was leeg. Stuur HULP voor uitleg."
SIGNUP_INCOMPLETE = (
    "Je aanmelding bij Zorgbrigade is nog niet af. Rond hem af met de code die je kreeg."
)
NOT_PROCESSED = (
    "Je antwoord is ontvangen, maar kon nu niet verwerkt worden. "
    "Je buurtsteunpunt neemt contact met je op."
)


def paused(until_local: str) -> str:
    """Confirmation of PAUZE; ``until_local`` like "30-11 10:00"."""
    return (
        f"Je hebt pauze tot {until_local}. Je krijgt tot dan geen vragen. "
        "Stuur BESCHIKBAAR om eerder weer mee te doen."
    )


def unknown_code(code: str) -> str:
    """A reply whose code matches none of the volunteer's open questions."""
    return f"Code {code} ken ik niet (meer). Stuur STATUS voor je open vragen."


def no_question_for_word(intent: ReplyIntent) -> str:
    """A bare answer word that fits none of the open questions."""
    word = INTENT_WORDS.get(intent, intent.value.upper())
    return f"Er is geen open vraag waar {word} bij past. Stuur STATUS voor je overzicht."


def wrong_word(code: str, intents: Sequence[ReplyIntent]) -> str:
    """An answer word that does not fit the question with this code."""
    words = [INTENT_WORDS.get(i, i.value.upper()) for i in intents]
    listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " of " + words[-1]
    return f"Op vraag {code} kun je antwoorden met {listed}."


def question_item(code: str, label: str, drill: bool) -> str:
    """One question in a list: "4821 (taak)" or "7310 (OEFENING beschikbaarheid)"."""
    return f"{code} (OEFENING {label})" if drill else f"{code} ({label})"


def which_question(items: Sequence[str], intent: ReplyIntent, example_code: str) -> str:
    """Several open questions fit a bare answer: ask which one, with their codes."""
    word = INTENT_WORDS.get(intent, intent.value.upper())
    return (
        f"Je hebt {len(items)} vragen open: {', '.join(items)}. "
        f"Antwoord bijv. {word} {example_code}."
    )


def status(state_line: str, items: Sequence[str]) -> str:
    """The answer to STATUS: availability and open questions."""
    questions = f"Open vragen: {', '.join(items)}." if items else "Geen open vragen."
    return f"{state_line} {questions}"


STATE_ACTIVE = "Je staat op beschikbaar."
STATE_PAUSED = "Je hebt pauze."
STATE_DORMANT = "Je staat op niet actief. Stuur BESCHIKBAAR om weer mee te doen."


def state_paused_until(until_local: str) -> str:
    """Status line of a volunteer paused until a moment."""
    return f"Je hebt pauze tot {until_local}."


def unknown_number(signup_url: str) -> str:
    """Reply to a number that belongs to no volunteer."""
    return (
        "Dit nummer kennen we niet bij Zorgbrigade. Wil je je aanmelden als vrijwilliger? "
        f"Ga naar {signup_url}"
    )
