"""Niš PINs (NIS-6): unique per city, not guessable from other PINs, short to read out."""

from __future__ import annotations

import itertools

import pytest

from streams.runtime.engine import MAX_PARTITIONS, PartitionSequence
from streams.runtime.replay import MemoryStore
from streams.sms_parking.pins import (
    CAPACITY,
    PIN_DIGITS,
    PinSpaceExhausted,
    normalise_pin,
    number_of,
    pin_for,
)

KEY = b"test-key"


def test_nis6_pin_is_ten_digits_and_inverts_to_its_number() -> None:
    for number in [0, 1, 2, 63, 64, 10**6, CAPACITY - 1]:
        pin = pin_for(number, "nis", KEY)
        assert len(pin) == PIN_DIGITS and pin.isdigit()
        assert number_of(pin, "nis", KEY) == number


def test_nis6_distinct_numbers_never_share_a_pin() -> None:
    pins = [pin_for(n, "nis", KEY) for n in range(20_000)]
    assert len(set(pins)) == len(pins)


def test_nis6_consecutive_numbers_give_unrelated_pins() -> None:
    pins = [int(pin_for(n, "nis", KEY)) for n in range(200)]
    gaps = {b - a for a, b in itertools.pairwise(pins)}
    assert len(gaps) > 190  # no constant step a guesser could follow
    assert sorted(pins) != pins


def test_nis6_pins_depend_on_the_key_and_the_city() -> None:
    assert pin_for(5, "nis", KEY) != pin_for(5, "nis", b"other-key")
    assert pin_for(5, "nis", KEY) != pin_for(5, "beograd", KEY)


def test_nis6_number_beyond_the_pin_space_is_refused() -> None:
    with pytest.raises(PinSpaceExhausted):
        pin_for(CAPACITY, "nis", KEY)


def test_nis9_operator_pin_with_spaces_is_normalised() -> None:
    assert normalise_pin("123 456-7890") == "1234567890"


def test_nis6_ticket_numbers_are_unique_across_partitions_and_survive_in_the_store() -> None:
    store = MemoryStore()
    numbers = []
    for partition in (0, 1, 5):
        seq = PartitionSequence(store, "nis", partition)
        numbers += [seq.next() for _ in range(50)]
    again = PartitionSequence(store, "nis", 1)  # a new worker reads the stored counter
    numbers.append(again.next())
    assert len(set(numbers)) == len(numbers)
    assert all(n % MAX_PARTITIONS in (0, 1, 5) for n in numbers)
    assert PartitionSequence(store, "other", 0).next() == 0  # per city
