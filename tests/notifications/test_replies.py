"""The reply grammar against a labelled corpus, Twilio's keywords, and any input at all."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from notifications.replies import ParsedReply, ReplyIntent, parse_reply
from tests.notifications.reply_corpus import CORPUS, TWILIO_WHOLE


def test_the_corpus_is_large_and_covers_every_intent() -> None:
    assert len(CORPUS) >= 120
    assert {intent for _, intent, _ in CORPUS} == set(ReplyIntent)


@pytest.mark.parametrize(
    ("text", "intent", "code"), CORPUS, ids=[repr(t)[:40] for t, _, _ in CORPUS]
)
def test_corpus_reply(text: str, intent: ReplyIntent, code: str | None) -> None:
    assert parse_reply(text) == ParsedReply(intent, code=code, twilio_keyword=False)


@pytest.mark.parametrize(("text", "intent"), TWILIO_WHOLE)
def test_a_whole_message_twilio_keyword_keeps_twilios_meaning(
    text: str, intent: ReplyIntent
) -> None:
    assert parse_reply(text) == ParsedReply(intent, twilio_keyword=True)


def test_yes_opts_in_and_never_accepts() -> None:
    assert parse_reply("YES").intent is ReplyIntent.START
    assert parse_reply("yes 4821").intent is ReplyIntent.UNKNOWN
    assert parse_reply("ja").intent is ReplyIntent.YES


def test_cancel_end_quit_opt_out_and_never_cancel_a_task() -> None:
    for word in ("CANCEL", "END", "QUIT"):
        assert parse_reply(word).intent is ReplyIntent.STOP
    assert parse_reply("cancel 4821").intent is ReplyIntent.UNKNOWN
    assert parse_reply("afzeggen 4821").intent is ReplyIntent.CANCEL


def test_our_own_stop_words_are_not_flagged_as_twilios() -> None:
    for text in ("stoppen", "uitschrijven", "stop aub", "STOP 4821"):
        reply = parse_reply(text)
        assert reply.intent is ReplyIntent.STOP
        assert not reply.twilio_keyword


@pytest.mark.parametrize(
    "text",
    [
        None,
        "\x00\x01\x02ja\x7f",
        "ja\ud800",
        "\udfff\ud800",
        "ja " * 4000,
        "4821" * 3000,
        "👍" * 5000,
        " " * 10_000,
        "\u0301\u0301ja",
        "٤٨٢١ نعم",
        "ｊａ　４８２１",
        "ja\u200b4821",
        "\N{REPLACEMENT CHARACTER}",
        "ﷺ" * 300,
    ],
    ids=lambda t: repr(t)[:20],
)
def test_odd_input_never_raises(text: str | None) -> None:
    assert isinstance(parse_reply(text), ParsedReply)


def test_full_width_and_non_latin_digits_still_give_the_code() -> None:
    assert parse_reply("ｊａ　４８２１") == ParsedReply(ReplyIntent.YES, code="4821")
    assert parse_reply("ja ٤٨٢١").code == "4821"


def test_ten_kilobytes_of_text_is_free_text() -> None:
    assert parse_reply("ja " * 4000).intent is ReplyIntent.UNKNOWN
    assert parse_reply("👍" * 5000).intent is ReplyIntent.EMPTY


@hypothesis_settings(hypothesis_settings.get_profile("ci"))
@given(st.text())
def test_any_text_gives_a_parsed_reply(text: str) -> None:
    reply = parse_reply(text)
    assert isinstance(reply, ParsedReply)
    assert reply.code is None or (reply.code.isascii() and 3 <= len(reply.code) <= 6)
    if reply.twilio_keyword:
        assert reply.intent in (ReplyIntent.STOP, ReplyIntent.START, ReplyIntent.HELP)


@hypothesis_settings(hypothesis_settings.get_profile("ci"))
@given(st.text(alphabet=st.characters(codec=None, exclude_categories=())))
def test_any_code_point_including_surrogates_gives_a_parsed_reply(text: str) -> None:
    assert isinstance(parse_reply(text), ParsedReply)


@hypothesis_settings(hypothesis_settings.get_profile("ci"))
@given(
    st.sampled_from(["ja", "JA", "Ja!", "nee", "NEE.", "klaar"]),
    st.integers(min_value=100, max_value=999_999),
    st.booleans(),
)
def test_a_word_and_a_code_in_either_order(word: str, number: int, code_first: bool) -> None:
    code = str(number)
    text = f"{code} {word}" if code_first else f"{word} {code}"
    reply = parse_reply(text)
    assert reply.code == code
    assert reply.intent in (ReplyIntent.YES, ReplyIntent.NO, ReplyIntent.DONE)
