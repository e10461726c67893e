"""Every SMS text of the code base is GSM-7 and fits one segment; drill texts start with OEFENING.

The texts live in the ``texts.py`` module of each domain. This test finds them all (a new domain's
texts are checked without touching this file): every public string constant, the strings in
public dicts of labels, and every public function returning ``str``, called with realistic (long)
values for its parameters. Drill messages carry the OEFENING prefix and must still fit. A text
that is meant to take more than one segment is listed in MULTI_SEGMENT (or DRILL_MULTI_SEGMENT)
with the reason.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from sqlmodel import Session

from brigades.clock import ManualClock
from notifications.outbox import enqueue
from notifications.replies import ReplyIntent
from notifications.segments import count_segments
from notifications.texts import DRILL_PREFIX, drill_text
from tests.support.live_server import ROOT

PUBLIC_URL = "https://zorgbrigade.veiligheidsregio-utrecht.nl"
ITEMS = [
    "4821 (taak)",
    "7310 (OEFENING beschikbaarheid)",
    "1234 (bevestiging)",
]
# Realistic worst cases by parameter name: long URLs, the longest words, three open questions.
SAMPLES: dict[str, Any] = {
    "code": "482193",
    "example_code": "4821",
    "until_local": "30-11 10:00",
    "label": "beschikbaarheid",
    "drill": True,
    "intent": ReplyIntent.ARRIVED,
    "intents": [ReplyIntent.YES, ReplyIntent.NO],
    "items": ITEMS,
    "state_line": "Je staat op niet actief. Stuur BESCHIKBAAR om weer mee te doen.",
    "signup_url": f"{PUBLIC_URL}/aanmelden",
    "public_url": PUBLIC_URL,
    "token": "A" * 16,
    "valid_minutes": 15,
    "valid_days": 7,
    "minutes": 15,
    "body": "Kun je helpen met boodschappen in Lombok? Antwoord JA 4821 of NEE 4821.",
    # Dispatch: the longest task type name, a window across midnight, the farthest radius.
    "type_name": "Lichte persoonlijke verzorging",
    "start": datetime(2026, 11, 24, 21, 0, tzinfo=UTC),
    "end": datetime(2026, 11, 25, 1, 0, tzinfo=UTC),
    "expires_at": datetime(2026, 11, 24, 21, 45, tzinfo=UTC),
    "pc4": 9999,
    "distance_km": 39.9,
    "urgent": True,
    "address": "Burgemeester van Roijensingel 112-bis, 8011 CW Zwolle",
    "contact": "Bel aan bij de zijdeur; de buurvrouw op nummer 114 heeft een sleutel. " * 6,
}
# "module.name" -> why it may take more than one segment.
MULTI_SEGMENT: dict[str, str] = {
    "brigades.dispatch.texts.details": (
        "the one message with the exact address and the care organisation's contact instructions"
        " (up to 500 characters) for the volunteer who accepted; it must be complete"
    ),
}
# "module.name" -> why its drill form ("OEFENING: ...") may take more than one segment.
DRILL_MULTI_SEGMENT: dict[str, str] = {
    "brigades.accounts.texts.reset_code_sms": "a staff password reset is never part of a drill",
}
# Functions that are not message texts.
NOT_TEXTS = {"notifications.texts.is_drill_text"}


def texts_modules() -> Iterator[ModuleType]:
    for package in ("brigades", "notifications"):
        for path in sorted((ROOT / package).rglob("texts.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            yield importlib.import_module(".".join(relative.parts))


def _texts() -> Iterator[tuple[str, str]]:
    for module in texts_modules():
        for name, value in vars(module).items():
            if name.startswith("_"):
                continue
            where = f"{module.__name__}.{name}"
            if isinstance(value, str) and name.isupper():
                yield where, value
            elif isinstance(value, dict) and name.isupper():
                for key, item in value.items():
                    if isinstance(item, str):
                        yield f"{where}[{key}]", item
            elif (
                inspect.isfunction(value)
                and value.__module__ == module.__name__
                and where not in NOT_TEXTS
            ):
                yield where, _call(where, value)


def _call(where: str, function: Callable[..., Any]) -> str:
    arguments: dict[str, Any] = {}
    for parameter in inspect.signature(function).parameters.values():
        if parameter.name not in SAMPLES:
            pytest.fail(f"{where}: add a realistic sample for parameter {parameter.name!r}")
        arguments[parameter.name] = SAMPLES[parameter.name]
    result = function(**arguments)
    assert isinstance(result, str), f"{where} is not a text function; list it in NOT_TEXTS"
    return result


ALL_TEXTS = list(_texts())


def test_the_texts_of_every_domain_are_found() -> None:
    modules = {where.rsplit(".", 1)[0] for where, _ in ALL_TEXTS}
    assert {"brigades.conversation.texts", "brigades.volunteers.texts"} <= modules
    assert len(ALL_TEXTS) > 20


@pytest.mark.parametrize(("where", "text"), ALL_TEXTS, ids=[w for w, _ in ALL_TEXTS])
def test_every_text_is_gsm7_and_one_segment(where: str, text: str) -> None:
    count = count_segments(text)
    assert count.encoding == "GSM-7", f"{where}: {count.offending!r} forces UCS-2"
    if where not in MULTI_SEGMENT:
        assert count.segments == 1, f"{where}: {count.units} characters, {count.segments} SMS"


@pytest.mark.parametrize(("where", "text"), ALL_TEXTS, ids=[w for w, _ in ALL_TEXTS])
def test_in_a_drill_every_text_starts_with_oefening_and_stays_gsm7(where: str, text: str) -> None:
    drilled = drill_text(text)
    assert drilled.startswith(DRILL_PREFIX)
    assert drill_text(drilled) == drilled, "never prefixed twice"
    count = count_segments(drilled)
    assert count.encoding == "GSM-7"
    if where not in MULTI_SEGMENT and where not in DRILL_MULTI_SEGMENT:
        assert count.segments == 1, f"{where}: {count.units} characters with {DRILL_PREFIX}"


def test_a_drill_message_in_the_outbox_starts_with_oefening(
    session: Session, clock: ManualClock
) -> None:
    message = enqueue(
        session,
        recipient="+31612345678",
        body=SAMPLES["body"],
        now=clock.now(),
        provider="twilio",
        drill=True,
    )
    assert message.body.startswith(f"{DRILL_PREFIX}: ")
    assert message.segments == 1
