"""Every reply text stays in GSM-7 and, with realistic values, in one SMS segment."""

from __future__ import annotations

import pytest

from brigades.conversation import texts
from notifications.outbox import DRILL_PREFIX
from notifications.replies import ReplyIntent
from notifications.segments import count_segments

CONSTANTS = [
    texts.HELP,
    texts.OPTED_OUT,
    texts.OPTED_IN,
    texts.AVAILABLE,
    texts.NO_OPEN_QUESTION,
    texts.FORWARDED,
    texts.FORWARDED_REGION,
    texts.EMPTY,
    texts.SIGNUP_INCOMPLETE,
    texts.NOT_PROCESSED,
    texts.STATE_ACTIVE,
    texts.STATE_PAUSED,
    texts.STATE_DORMANT,
]

three = [
    texts.question_item("4821", "taak", False),
    texts.question_item("7310", "beschikbaarheid", True),
    texts.question_item("1234", "bevestiging", False),
]
FORMATTED = [
    texts.paused("30-11 10:00"),
    texts.unknown_code("4821"),
    texts.no_question_for_word(ReplyIntent.ARRIVED),
    texts.wrong_word("4821", [ReplyIntent.YES, ReplyIntent.NO]),
    texts.which_question(three, ReplyIntent.CANCEL, "4821"),
    texts.status(texts.state_paused_until("30-11 10:00"), three),
    texts.status(texts.STATE_DORMANT, three[:2]),
    texts.unknown_number("https://zorgbrigade.veiligheidsregio-utrecht.nl/aanmelden"),
]


@pytest.mark.parametrize("text", CONSTANTS + FORMATTED)
def test_one_gsm7_segment(text: str) -> None:
    count = count_segments(text)
    assert count.encoding == "GSM-7", count.offending
    assert count.segments == 1, (count.units, text)


@pytest.mark.parametrize(
    "text", [texts.wrong_word("4821", [ReplyIntent.YES, ReplyIntent.NO]), texts.NOT_PROCESSED]
)
def test_replies_about_drill_questions_fit_with_the_drill_prefix(text: str) -> None:
    # Replies about a drill question go out as "OEFENING: …".
    assert count_segments(f"{DRILL_PREFIX}: {text}").segments == 1


def test_listing_of_the_example_in_the_brief() -> None:
    items = [
        texts.question_item("4821", "taak", False),
        texts.question_item("7310", "beschikbaarheid", False),
    ]
    assert texts.which_question(items, ReplyIntent.YES, "4821") == (
        "Je hebt 2 vragen open: 4821 (taak), 7310 (beschikbaarheid). Antwoord bijv. JA 4821."
    )
