"""SMS segment counting: GSM-7 160/153, UCS-2 70/67, the € costs two septets, emoji force UCS-2."""

from __future__ import annotations

import pytest

from notifications.segments import count_segments, is_gsm7


@pytest.mark.parametrize(
    ("length", "segments"), [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3)]
)
def test_gsm7_takes_160_alone_and_153_per_part(length: int, segments: int) -> None:
    count = count_segments("a" * length)
    assert count.encoding == "GSM-7"
    assert count.segments == segments


@pytest.mark.parametrize(("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_takes_70_alone_and_67_per_part(length: int, segments: int) -> None:
    count = count_segments("ж" * length)
    assert count.encoding == "UCS-2"
    assert count.segments == segments


def test_the_euro_sign_counts_double_but_stays_gsm7() -> None:
    assert count_segments("€" * 80).segments == 1
    assert count_segments("€" * 81).segments == 2
    assert count_segments("€").units == 2
    assert is_gsm7("Kosten: €5 [incl.]")


def test_some_dutch_accents_are_gsm7_and_others_force_ucs2() -> None:
    assert is_gsm7("café, reünie, één keer")
    assert count_segments("financiële hulp").encoding == "UCS-2"
    assert count_segments("geïnteresseerd").offending == "ï"


def test_an_emoji_forces_ucs2_and_counts_two_units() -> None:
    count = count_segments("Bedankt 👍")
    assert count.encoding == "UCS-2"
    assert count.offending == "👍"
    assert count.units == len("Bedankt ") + 2
    assert count_segments("a" * 68 + "👍").segments == 1
    assert count_segments("a" * 69 + "👍").segments == 2


def test_an_escape_pair_is_never_split_across_parts() -> None:
    # 152 septets, then a two-septet € that cannot straddle the 153-septet boundary.
    assert count_segments("a" * 152 + "€" + "a" * 152).segments == 3
    assert count_segments("a" * 151 + "€" + "a" * 152).segments == 2


def test_a_lone_surrogate_does_not_break_counting() -> None:
    assert count_segments("ja \ud800").encoding == "UCS-2"
