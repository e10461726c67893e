"""The SMS reply grammar (DESIGN.md, "SMS conversation"): text in, meaning out.

Pure functions; :func:`parse_reply` never raises, whatever it is given.

How a reply is read, in order:

1. **Empty.** No letter and no digit at all (whitespace, punctuation, emoji only) → ``EMPTY``.
2. **Twilio's keywords.** When the whole message is one of Twilio's own keywords (STOP, STOPALL,
   UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, START, YES, UNSTOP, HELP, INFO), Twilio has
   already acted on it before we see it, so it keeps Twilio's meaning: opt-out words → ``STOP``,
   START/YES/UNSTOP → ``START`` (YES is *not* an accept), HELP/INFO → ``HELP``, with
   ``twilio_keyword=True``. "Whole message" ignores case, surrounding whitespace, punctuation and
   emoji ("Stop!"); that is a little broader than Twilio's own match, on purpose: a word of
   Twilio's never gets another meaning here. Inside a longer reply, the words whose Twilio meaning
   is also ours count as ours (stop, stopall, unsubscribe, optout → STOP; start, unstop → START);
   "help" is an ordinary word there (in Dutch it also means "I help": "ja, ik help graag"); the
   others (yes, cancel, end, quit, revoke, info) make the reply ``UNKNOWN``, so that "yes 4821"
   or "cancel 4821" never accepts or cancels anything.
3. **Normalising.** Case, accents (Jáá), punctuation and emoji are dropped, and letters repeated
   for emphasis count once ("jaaa", "neeee", "klaaar"). Letters and digits are split apart
   ("JA4821").
4. **The question code** is a number of 3 to 6 digits anywhere in the reply ("Ja 4821.",
   "4821 ja"). Two different codes, or any other number ("ja om 3 uur", "JA 48" — a time, or a
   code mistyped), make the reply ``UNKNOWN``: it must not answer the wrong question.
5. **The word.** The reply must *start* with a known word or phrase (after greetings and filler
   such as "hoi", "sorry", "ik", and after the code): JA, NEE, AANGEKOMEN, KLAAR, AFZEGGEN,
   PAUZE, BESCHIKBAAR, STATUS, HULP, STOP/STOPPEN/UITSCHRIJVEN, START and their common variants
   ("jazeker", "ok", "prima", "nee dank je", "kan niet", "helaas niet", "ben er", "gedaan",
   "ben klaar", "stoppen aub" …). Free text that does not start so ("ik ben ziek", "wie is dit?")
   is ``UNKNOWN`` and goes to a person.
6. **Extra words** after a clear word are tolerated ("ja hoor", "nee hoor, sorry", "ja, ik kom
   eraan"), except:

   - a **condition or hedge** anywhere (maar, als, tenzij, pas, misschien, bijna, later, morgen,
     over, uur …) → ``UNKNOWN``: "ja maar ik kan pas om 3 uur" and "ben er bijna" need a person;
   - a **negation** (niet, geen, nooit, and "ziek", "verhinderd") → ``UNKNOWN``, except in
     refusals (NEE, AFZEGGEN, PAUZE, STOP), where it only repeats the refusal ("nee, ik ben
     ziek"). A yes-phrase negated a word or two later is a no: "ik kan echt niet", "ik kom
     niet", "zeker niet";
   - a **question mark**, except for STATUS and HULP → ``UNKNOWN`` ("ja?" is a question);
   - more than 10 other words → ``UNKNOWN``: a long message is for a person to read.
7. **Weak words** ("ok", "oke", "prima", "goed", "top", "graag", "helaas") count only when nothing
   else is said: "ok" is yes, "ok, ik ben ziek" is ``UNKNOWN``.
8. **Two words together.** A yes next to AANGEKOMEN, KLAAR, BESCHIKBAAR, STATUS or HULP is that
   word ("ja, ben er" → arrived); a no next to AFZEGGEN, PAUZE or STOP is that word ("nee, stop");
   any other pair ("ja nee", "klaar, ben er") is ``UNKNOWN``.

A reply of only a code ("4821") is ``UNKNOWN`` with that code.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable
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


# -- vocabulary ---------------------------------------------------------------------------------

TWILIO_KEYWORDS: dict[str, ReplyIntent] = {
    "stop": ReplyIntent.STOP,
    "stopall": ReplyIntent.STOP,
    "unsubscribe": ReplyIntent.STOP,
    "cancel": ReplyIntent.STOP,
    "end": ReplyIntent.STOP,
    "quit": ReplyIntent.STOP,
    "revoke": ReplyIntent.STOP,
    "optout": ReplyIntent.STOP,
    "start": ReplyIntent.START,
    "yes": ReplyIntent.START,
    "unstop": ReplyIntent.START,
    "help": ReplyIntent.HELP,
    "info": ReplyIntent.HELP,
}

# Twilio words whose Twilio meaning differs from what the same word would mean to us: inside a
# longer reply they make it unknown rather than mean anything.
_TWILIO_ONLY = frozenset({"yes", "cancel", "end", "quit", "revoke", "info"})


def _phrases(text: str) -> tuple[str, ...]:
    """A comma-separated list of words and phrases (kept compact so the vocabulary reads easily)."""
    return tuple(p.strip() for p in text.split(",") if p.strip())


_STRONG: dict[ReplyIntent, tuple[str, ...]] = {
    ReplyIntent.YES: _phrases(
        """ja, jaja, jawel, ja hoor, jazeker, ja zeker, ja graag, zeker, zeker weten, jep, jup,
        yep, jes, akkoord, accepteer, ik accepteer, accepteren, natuurlijk, tuurlijk, uiteraard,
        geen probleem, doe ik, doe ik graag, ik doe het, ik doe het graag, kom eraan, kom er aan,
        ik kom, ik kom eraan, ik kom er aan, kom ik, ik kan, kan ik, dat kan, wil wel, wil ik wel,
        lukt, lukt wel, gaat lukken, ik ga, ga ik doen"""
    ),
    ReplyIntent.NO: _phrases(
        """nee, neen, nope, no, nee hoor, nee dank je, nee dank je wel, nee bedankt, nee dankjewel,
        no thanks, kan niet, ik kan niet, kan ik niet, dat kan niet, kan helaas niet,
        ik kan helaas niet, helaas niet, helaas nee, liever niet, lukt niet, lukt me niet,
        lukt mij niet, gaat niet, gaat niet lukken, geen tijd, heb geen tijd, niet beschikbaar,
        ben niet beschikbaar, afwijzen, weiger, sla over"""
    ),
    ReplyIntent.ARRIVED: _phrases(
        """aangekomen, ben aangekomen, gearriveerd, ben er, ben binnen, ingecheckt, inchecken,
        check in, ter plaatse, ben ter plaatse, aanwezig, ben aanwezig"""
    ),
    ReplyIntent.DONE: _phrases(
        """klaar, ben klaar, gedaan, is gedaan, alles gedaan, taak gedaan, taak klaar,
        helemaal klaar, afgerond, voltooid, uitgecheckt, uitchecken, check uit"""
    ),
    ReplyIntent.CANCEL: _phrases("afzeggen, zeg af, moet afzeggen, afgezegd, annuleren, annuleer"),
    ReplyIntent.PAUSE: _phrases("pauze, pauzeer, pauzeren, op pauze"),
    ReplyIntent.AVAILABLE: _phrases(
        "beschikbaar, ben beschikbaar, ben weer beschikbaar, ben terug"
    ),
    ReplyIntent.STATUS: _phrases("status, mijn status, wat is mijn status"),
    ReplyIntent.HELP: _phrases("hulp, hulp nodig"),
    ReplyIntent.STOP: _phrases(
        """stop, stoppen, ga stoppen, uitschrijven, schrijf me uit, schrijf mij uit, stopall,
        unsubscribe, optout, opt out, geen sms meer, geen berichten meer"""
    ),
    ReplyIntent.START: _phrases("start, starten, unstop"),
}

_WEAK: dict[ReplyIntent, tuple[str, ...]] = {
    ReplyIntent.YES: _phrases(
        """ok, oke, okay, oki, okido, okidoki, o k, prima, goed, is goed, dat is goed,
        helemaal goed, in orde, top, super, fijn, graag"""
    ),
    ReplyIntent.NO: _phrases("helaas"),
}

# Skipped before the word, harmless after it. Phrases here also shield their words
# ("tot straks" is not a hedge, "geen dank" not a negation, "graag gedaan" not KLAAR).
_FILLERS = _phrases(
    """hoi, hallo, hey, hi, hee, he, ha, hai, goedemorgen, goedemiddag, goedenavond, beste, dag,
    oh, o, eh, uh, uhm, ehm, nou, sorry, excuus, ik, moet, wil, even, weer, aub, alsjeblieft,
    alstublieft, svp, hoor, wel, dank je, dank je wel, dankjewel, dankuwel, dank u, dank u wel,
    bedankt, thanks, geen dank, graag gedaan, tot zo, tot straks, tot dan, tot later, groetjes,
    groet, gr, mvg, met vriendelijke groet, zo snel mogelijk, zsm"""
)

# Negations, and words that say "I cannot" without one.
_NEGATIONS = _phrases("niet, geen, nooit, niks, niets, nergens, ziek, verhinderd")

_CONDITIONS = _phrases(
    """maar, als, tenzij, mits, pas, alleen, misschien, eventueel, behalve, wellicht, mogelijk,
    hopelijk, denk, weet, of, indien, wanneer, zodra, eerst, later, straks, morgen, overmorgen,
    vanavond, vanmiddag, vanochtend, vannacht, volgende, vanaf, bijna, zo, onderweg, over, uur,
    minuten, min, kwartier, ongeveer"""
)

# A yes next to these is these; a no next to those is those (the stronger word says more).
_YES_GIVES_WAY = frozenset(
    {
        ReplyIntent.ARRIVED,
        ReplyIntent.DONE,
        ReplyIntent.AVAILABLE,
        ReplyIntent.STATUS,
        ReplyIntent.HELP,
    }
)
_NO_GIVES_WAY = frozenset({ReplyIntent.CANCEL, ReplyIntent.PAUSE, ReplyIntent.STOP})
_REFUSALS = frozenset({ReplyIntent.NO, ReplyIntent.CANCEL, ReplyIntent.PAUSE, ReplyIntent.STOP})
_QUESTIONS = frozenset({ReplyIntent.STATUS, ReplyIntent.HELP})

MAX_EXTRA_WORDS = 10
# Longer than ten concatenated SMS segments: not a reply to a question, and not worth reading.
MAX_CHARS = 1600


class _Kind(enum.Enum):
    STRONG = "strong"
    WEAK = "weak"
    FILLER = "filler"
    NEGATION = "negation"
    CONDITION = "condition"


@dataclass(frozen=True)
class _Entry:
    kind: _Kind
    intent: ReplyIntent | None = None


_REPEATS = re.compile(r"(.)\1+")


def _collapse(word: str) -> str:
    """Letters repeated for emphasis count once ("jaaa" → "ja"; "klaar" → "klar")."""
    return _REPEATS.sub(r"\1", word)


def _build() -> dict[tuple[str, ...], _Entry]:
    table: dict[tuple[str, ...], _Entry] = {}

    def add(phrases: Iterable[str], entry: _Entry) -> None:
        for phrase in phrases:
            key = tuple(_collapse(w) for w in phrase.split())
            if key in table and table[key] != entry:
                raise ValueError(f"reply phrase {phrase!r} has two meanings")
            table[key] = entry

    for intent, phrases in _STRONG.items():
        add(phrases, _Entry(_Kind.STRONG, intent))
    for intent, phrases in _WEAK.items():
        add(phrases, _Entry(_Kind.WEAK, intent))
    add(_FILLERS, _Entry(_Kind.FILLER))
    add(_NEGATIONS, _Entry(_Kind.NEGATION))
    add(_CONDITIONS, _Entry(_Kind.CONDITION))
    return table


_PHRASES = _build()
_LONGEST = max(len(key) for key in _PHRASES)


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    text: str  # lower-case, accents dropped (words) or ASCII digits (numbers)
    number: bool


def _tokens(text: str) -> list[_Token]:
    """Words and numbers of ``text``; everything else separates them."""
    folded = unicodedata.normalize("NFKD", text).casefold()
    tokens: list[_Token] = []
    current: list[str] = []
    current_is_number = False

    def flush() -> None:
        if current:
            tokens.append(_Token("".join(current), current_is_number))
            current.clear()

    for char in folded:
        category = unicodedata.category(char)
        if category == "Mn":  # a combining accent: "á" became "a" + this
            continue
        if category == "Nd":
            if not current_is_number:
                flush()
                current_is_number = True
            current.append(str(unicodedata.decimal(char, 0)))
        elif category.startswith("L"):
            if current_is_number:
                flush()
                current_is_number = False
            current.append(char)
        else:
            flush()
    flush()
    return tokens


@dataclass(frozen=True)
class _Item:
    entry: _Entry | None  # None: a word we do not know
    code: str | None = None  # a 3–6 digit number
    stray_number: bool = False


def _items(tokens: list[_Token]) -> list[_Item]:
    """Tokens grouped into known phrases (longest first), codes and other words."""
    items: list[_Item] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.number:
            if 3 <= len(token.text) <= 6:
                items.append(_Item(entry=_Entry(_Kind.FILLER), code=token.text))
            else:
                items.append(_Item(entry=None, stray_number=True))
            i += 1
            continue
        for length in range(min(_LONGEST, len(tokens) - i), 0, -1):
            window = tokens[i : i + length]
            if any(t.number for t in window):
                continue
            entry = _PHRASES.get(tuple(_collapse(t.text) for t in window))
            if entry is not None:
                items.append(_Item(entry=entry))
                i += length
                break
        else:
            items.append(_Item(entry=None))
            i += 1
    return _negated_yes(items)


_NO = _Entry(_Kind.STRONG, ReplyIntent.NO)
_NEGATION_WINDOW = 2


def _negated_yes(items: list[_Item]) -> list[_Item]:
    """A yes phrase negated a word or two later is a no: "ik kan echt niet", "ik kom toch niet"."""
    result = list(items)
    for i, item in enumerate(result):
        if item.entry is None or item.entry.intent is not ReplyIntent.YES:
            continue
        if item.entry.kind is not _Kind.STRONG:
            continue
        for j in range(i + 1, min(i + 1 + _NEGATION_WINDOW, len(result))):
            following = result[j].entry
            if following is not None and following.kind is _Kind.NEGATION:
                result[i] = _Item(entry=_NO)
                result[j] = _Item(entry=_Entry(_Kind.FILLER))
                break
            if following is not None and following.kind is not _Kind.FILLER:
                break
    return result


def parse_reply(text: str | None) -> ParsedReply:
    """What a volunteer's SMS reply means (see the module docstring for the rules)."""
    if text is None:
        return ParsedReply(ReplyIntent.EMPTY)
    if len(text) > MAX_CHARS:
        has_content = any(c.isalnum() for c in text)
        return ParsedReply(ReplyIntent.UNKNOWN if has_content else ReplyIntent.EMPTY)
    tokens = _tokens(text)
    if not tokens:
        return ParsedReply(ReplyIntent.EMPTY)

    if len(tokens) == 1 and not tokens[0].number and tokens[0].text in TWILIO_KEYWORDS:
        return ParsedReply(TWILIO_KEYWORDS[tokens[0].text], twilio_keyword=True)

    items = _items(tokens)
    codes = {item.code for item in items if item.code is not None}
    code = next(iter(codes)) if len(codes) == 1 else None
    unknown = ParsedReply(ReplyIntent.UNKNOWN, code=code)
    if len(codes) > 1 or any(item.stray_number for item in items):
        return unknown
    if any(not t.number and t.text in _TWILIO_ONLY for t in tokens):
        return unknown

    leading = next(
        (item for item in items if item.entry is None or item.entry.kind is not _Kind.FILLER),
        None,
    )
    if leading is None:
        return unknown  # only greetings and a code
    if leading.entry is None or leading.entry.kind not in (_Kind.STRONG, _Kind.WEAK):
        return unknown

    kinds = [item.entry.kind if item.entry else None for item in items]
    strong = _intents(items, _Kind.STRONG)
    weak = _intents(items, _Kind.WEAK)
    others = kinds.count(None)
    intent: ReplyIntent | None
    if strong:
        intent = _combine(strong)
    elif len(weak) == 1 and others == 0:
        intent = next(iter(weak))
    else:
        intent = None
    if intent is None:
        return unknown

    if _Kind.CONDITION in kinds:
        return unknown
    if _Kind.NEGATION in kinds and intent not in _REFUSALS:
        return unknown
    if intent not in _QUESTIONS and any(c in text for c in "?？¿"):
        return unknown
    if others > MAX_EXTRA_WORDS:
        return unknown
    return ParsedReply(intent, code=code)


def _intents(items: list[_Item], kind: _Kind) -> set[ReplyIntent]:
    return {
        item.entry.intent
        for item in items
        if item.entry is not None and item.entry.kind is kind and item.entry.intent is not None
    }


def _combine(intents: set[ReplyIntent]) -> ReplyIntent | None:
    """One meaning for the clear words of a reply, or None when they disagree."""
    if len(intents) == 1:
        return next(iter(intents))
    if len(intents) == 2:
        if ReplyIntent.YES in intents:
            (other,) = intents - {ReplyIntent.YES}
            return other if other in _YES_GIVES_WAY else None
        if ReplyIntent.NO in intents:
            (other,) = intents - {ReplyIntent.NO}
            return other if other in _NO_GIVES_WAY else None
    return None
