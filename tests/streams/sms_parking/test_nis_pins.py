"""Niš PINs (NIS-6): unique per city, not guessable from other PINs, short to read out."""

from __future__ import annotations

import itertools

import pytest

from streams.runtime.engine import MAX_PARTITIONS, MessageNumbers
from streams.sms_parking.pins import (
    PIN_DIGITS,
    PinSpaceExhausted,
    capacity,
    normalise_pin,
    number_of,
    pin_for,
)

KEY = b"test-key"


def test_nis6_pin_is_twelve_digits_and_inverts_to_its_number() -> None:
    for number in [0, 1, 2, 63, 64, 10**6, capacity(PIN_DIGITS) - 1]:
        pin = pin_for(number, "nis", KEY, PIN_DIGITS)
        assert len(pin) == PIN_DIGITS and pin.isdigit()
        assert number_of(pin, "nis", KEY) == number


def test_nis6_distinct_numbers_never_share_a_pin() -> None:
    pins = [pin_for(n, "nis", KEY, PIN_DIGITS) for n in range(20_000)]
    assert len(set(pins)) == len(pins)


def test_nis6_consecutive_numbers_give_unrelated_pins() -> None:
    pins = [int(pin_for(n, "nis", KEY, PIN_DIGITS)) for n in range(200)]
    gaps = {b - a for a, b in itertools.pairwise(pins)}
    assert len(gaps) > 190  # no constant step a guesser could follow
    assert sorted(pins) != pins


def test_nis6_pins_depend_on_the_key_and_the_city() -> None:
    assert pin_for(5, "nis", KEY) != pin_for(5, "nis", b"other-key")
    assert pin_for(5, "nis", KEY) != pin_for(5, "beograd", KEY)


def test_nis6_number_beyond_the_pin_space_is_refused() -> None:
    with pytest.raises(PinSpaceExhausted):
        pin_for(capacity(PIN_DIGITS), "nis", KEY, PIN_DIGITS)


def test_nis9_operator_pin_with_spaces_is_normalised() -> None:
    assert normalise_pin("123 456-7890") == "1234567890"


def test_nis6_ticket_numbers_come_from_the_message_position_once_per_event() -> None:
    numbers = {
        MessageNumbers(partition, offset).next()
        for partition in (0, 1, MAX_PARTITIONS - 1)
        for offset in range(200)
    }
    assert len(numbers) == 600  # distinct positions, distinct numbers
    assert MessageNumbers(3, 7).next() == MessageNumbers(3, 7).next()  # re-processing
    once = MessageNumbers(0, 0)
    once.next()
    with pytest.raises(RuntimeError):
        once.next()
    with pytest.raises(ValueError):
        MessageNumbers(MAX_PARTITIONS, 0)


def test_nis6_pin_reads_out_in_groups_of_four() -> None:
    assert PIN_DIGITS == 12  # "4821 9376 0512": like a card number


def test_nis6_other_even_lengths_are_permutations_too() -> None:
    codes = [pin_for(n, "hradec", KEY, 4) for n in range(capacity(4))]
    assert len(set(codes)) == capacity(4) and all(len(c) == 4 for c in codes)
    assert number_of(pin_for(12345, "hradec", KEY), "hradec", KEY) == 12345  # default 10
    with pytest.raises(ValueError):
        pin_for(1, "nis", KEY, 7)
