"""Niš ticket PINs (NIS-6): unique per city, not guessable from other PINs, easy to read out.

A PIN is a keyed pseudo-random permutation of a ticket number the engine hands out
(`streams.runtime.engine.PartitionSequence`: `sequence * 64 + partition`, unique per city
without coordination between workers). Because the map is a permutation of the whole
10-digit space, two different ticket numbers can never give the same PIN; because it is
keyed (HMAC-SHA256 rounds of a balanced Feistel network on two 5-digit halves), knowing
any number of PINs tells nothing about the next one without the key.

The key comes from `PLATFORM_PIN_KEY` (production) or the development default below; the
city id is mixed in so each city has its own permutation. Changing the key changes every
future PIN, never a PIN already issued (issued PINs live in the tickets).
"""

from __future__ import annotations

import hashlib
import hmac
import os

PIN_DIGITS = 10
_HALF = 10 ** (PIN_DIGITS // 2)
_ROUNDS = 8
DEV_KEY = "dev-only-pin-key-change-me"
PIN_KEY_ENV = "PLATFORM_PIN_KEY"
CAPACITY = _HALF * _HALF
"""How many distinct PINs a city has: ticket numbers at or above this are refused."""


class PinSpaceExhausted(ValueError):
    """The ticket number is beyond the PIN space (documented capacity, docs/parking.md)."""


def pin_key() -> bytes:
    return os.environ.get(PIN_KEY_ENV, DEV_KEY).encode()


def _round(key: bytes, city: str, index: int, half: int) -> int:
    message = f"{city}|{index}|{half}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % _HALF


def pin_for(number: int, city: str, key: bytes | None = None) -> str:
    """The PIN of ticket `number` in `city`: exactly PIN_DIGITS digits, leading zeros kept."""
    if not 0 <= number < CAPACITY:
        raise PinSpaceExhausted(f"ticket number {number} is outside the PIN space {CAPACITY}")
    k = key if key is not None else pin_key()
    left, right = divmod(number, _HALF)
    for index in range(_ROUNDS):
        left, right = right, (left + _round(k, city, index, right)) % _HALF
    return f"{left * _HALF + right:0{PIN_DIGITS}d}"


def number_of(pin: str, city: str, key: bytes | None = None) -> int:
    """Inverse of `pin_for` (support tooling, and the proof in tests that it is a bijection)."""
    k = key if key is not None else pin_key()
    left, right = divmod(int(pin), _HALF)
    for index in reversed(range(_ROUNDS)):
        left, right = (right - _round(k, city, index, left)) % _HALF, left
    return left * _HALF + right


def normalise_pin(text: str) -> str:
    """Operators and callers may group digits with spaces or dashes."""
    return "".join(ch for ch in text if ch.isdigit())
