"""Plate normalisation shared by every city and reader (NIS-1, ENF-2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.contract import InvalidPlate, normalise_plate
from streams.contract.plates import _normalise_unicode


@pytest.mark.parametrize(
    ("text", "plate"),
    [
        ("NI123AB", "NI123AB"),
        ("ni123ab", "NI123AB"),
        ("  Ni 123-AB ", "NI123AB"),
        ("ni543210", "NI543210"),
    ],
)
def test_nis1_case_spaces_and_dashes_do_not_matter(text: str, plate: str) -> None:
    assert normalise_plate(text) == plate


def test_nis1_diacritic_letters_are_kept_distinct() -> None:
    assert normalise_plate("niš123čć") == "NIŠ123ČĆ"
    assert normalise_plate("NI123ŽĐ") != normalise_plate("NI123ZD")


def test_nis1_decomposed_diacritics_equal_precomposed() -> None:
    decomposed = "NI123S\u030c"  # S + combining caron
    assert normalise_plate(decomposed) == "NI123Š"


@pytest.mark.parametrize("text", ["NI.123", "NI_123", "NI123!", "", "   ", "A", "НИ123", "X" * 13])
def test_nis1_anything_else_is_invalid(text: str) -> None:
    with pytest.raises(InvalidPlate):
        normalise_plate(text)


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=st.characters(max_codepoint=127), max_size=16),
        st.text(alphabet="ABNIZabz0159 -\t\n._", max_size=16),  # mostly plate-like
    )
)
def test_nis1_ascii_shortcut_answers_as_the_full_check(text: str) -> None:
    """NIS-1: the ASCII shortcut accepts and normalises exactly what the per-character
    Unicode check does, and refuses the rest (with that check's reason)."""
    try:
        expected: str | None = _normalise_unicode(text)
    except InvalidPlate:
        expected = None
    if expected is None:
        with pytest.raises(InvalidPlate):
            normalise_plate(text)
    else:
        assert normalise_plate(text) == expected
