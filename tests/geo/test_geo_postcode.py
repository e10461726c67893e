"""Parsing and normalising postcodes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo import Postcode, PostcodeError, normalise_postcode


@pytest.mark.parametrize(
    "text", ["3512 JK", "3512jk", " 3512-JK ", "3512JK", "3512 - jk", "3512\tJk"]
)
def test_pc6_spellings_normalise_alike(text: str) -> None:
    assert normalise_postcode(text) == Postcode(3512, "JK")
    assert str(normalise_postcode(text)) == "3512 JK"


def test_pc4_alone() -> None:
    assert normalise_postcode("3512") == Postcode(3512, None)
    assert str(normalise_postcode(" 3512 ")) == "3512"
    assert not normalise_postcode("3512").is_pc6


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "12345",
        "123",
        "0123 AB",
        "3512 SA",
        "3512 sd",
        "3512ss",
        "abcd",
        "3512 J",
        "3512 JKL",
        "3512-",
        "35 12 JK",
        "<script>",
        "<script>alert(1)</script>",
        "x" * 10_000,
        "3512 JK" + " " * 10_000,
        "٣٥١٢ JK",  # Arabic-Indic digits: \d would accept them
        "3512 ÄB",
        "3512\nJK\n<b>",
    ],
)
def test_malformed(text: str) -> None:
    with pytest.raises(PostcodeError) as caught:
        normalise_postcode(text)
    assert caught.value.code == "malformed"
    assert "3512 JK" in caught.value.message
    assert str(caught.value) == caught.value.message


@pytest.mark.parametrize("value", [None, 3512, b"3512", ["3512"]])
def test_non_strings_are_malformed(value: object) -> None:
    with pytest.raises(PostcodeError) as caught:
        normalise_postcode(value)  # type: ignore[arg-type]
    assert caught.value.code == "malformed"


def test_postcode_error_is_a_value_error() -> None:
    assert issubclass(PostcodeError, ValueError)


@given(st.text(max_size=40))
def test_any_text_parses_or_is_malformed(text: str) -> None:
    try:
        parsed = normalise_postcode(text)
    except PostcodeError as error:
        assert error.code == "malformed"
    else:
        assert 1000 <= parsed.pc4 <= 9999
        assert normalise_postcode(str(parsed)) == parsed


@given(
    st.integers(1000, 9999),
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=2, max_size=2),
    st.sampled_from(["", " ", "-", " - ", "  "]),
)
def test_round_trip(pc4: int, letters: str, separator: str) -> None:
    text = f"{pc4}{separator}{letters}"
    if letters.upper() in {"SA", "SD", "SS"}:
        with pytest.raises(PostcodeError):
            normalise_postcode(text)
        return
    parsed = normalise_postcode(text)
    assert parsed == Postcode(pc4, letters.upper())
    assert str(parsed) == f"{pc4} {letters.upper()}"
