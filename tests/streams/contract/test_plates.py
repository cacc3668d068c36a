"""Plate normalisation shared by every city and reader (NIS-1, ENF-2)."""

from __future__ import annotations

import pytest

from streams.contract import InvalidPlate, normalise_plate


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
