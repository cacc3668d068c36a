"""Vehicle registration plates: the one normalisation every city and reader uses (NIS-1, ENF-2).

A plate is compared after normalisation everywhere: in SMS bodies, app stays, the
validity topic's keys and wardens' lookups. Serbian plates may carry Š Đ Č Ć Ž, which are
distinct letters and are never folded to S D C C Z.
"""

from __future__ import annotations

import re
import unicodedata

PLATE_MIN_LENGTH = 2
PLATE_MAX_LENGTH = 12

# Spaces and dashes are what people type between plate groups; they carry no meaning.
_SEPARATORS = re.compile(r"[\s\-]+")


class InvalidPlate(ValueError):
    """The text is not a plate; `problem` says why in words a reply can use."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def normalise_plate(text: str) -> str:
    """Return the canonical form of a plate, or raise InvalidPlate.

    NIS-1: case does not matter; white space, internal spaces and dashes are removed;
    anything else that is not a letter or digit makes the plate invalid. NFC composition
    keeps a decomposed "S + caron" the same letter as a precomposed "Š".
    """
    if not isinstance(text, str):
        raise InvalidPlate("plate must be text")
    if text.isascii():
        # Most plates: NFC changes nothing and an ASCII letter or digit is all isalnum
        # admits, so the per-character Unicode checks below are only for the rest (and
        # for the reason a bad plate is refused).
        ascii_plate = _SEPARATORS.sub("", text).upper()
        if ascii_plate.isalnum() and PLATE_MIN_LENGTH <= len(ascii_plate) <= PLATE_MAX_LENGTH:
            return ascii_plate
    return _normalise_unicode(text)


def _normalise_unicode(text: str) -> str:
    """`normalise_plate` for any text, character by character (gives the refusal reason)."""
    compact = _SEPARATORS.sub("", unicodedata.normalize("NFC", text))
    if not compact:
        raise InvalidPlate("plate is empty")
    plate = compact.upper()
    for ch in plate:
        if not (_is_ascii_digit(ch) or _is_latin_letter(ch)):
            raise InvalidPlate(f"character {ch!r} is not allowed in a plate")
    if not PLATE_MIN_LENGTH <= len(plate) <= PLATE_MAX_LENGTH:
        raise InvalidPlate(
            f"plate must have {PLATE_MIN_LENGTH} to {PLATE_MAX_LENGTH} letters and digits"
        )
    return plate


def _is_ascii_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _is_latin_letter(ch: str) -> bool:
    # Plates of every served country use the Latin script; Š Đ Č Ć Ž are Latin letters.
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN ")


def is_plate(text: str) -> bool:
    try:
        normalise_plate(text)
    except InvalidPlate:
        return False
    return True
