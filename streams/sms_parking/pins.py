"""Niš ticket PINs (NIS-6): unique per city, not guessable from other PINs, easy to read out.

A PIN is a keyed pseudo-random permutation of a ticket number the engine hands out
(`streams.runtime.engine.MessageNumbers`: `offset * 64 + partition` of the SMS in
events.raw, unique without coordination between workers and the same when the SMS is
processed again). Because the map is a permutation of the whole 12-digit space, two
different ticket numbers can never give the same PIN; because it is keyed (HMAC-SHA256
rounds of a balanced Feistel network on two 6-digit halves), knowing any number of PINs
tells nothing about the next one without the key.

The key comes from `PLATFORM_PIN_KEY` (production) or the development default below; the
city id is mixed in so each city has its own permutation. Changing the key changes every
future PIN, never a PIN already issued (issued PINs live in the tickets).
"""

from __future__ import annotations

import hmac
import os

PIN_DIGITS = 12
"""Niš PINs. `pin_for` itself serves any even length (Hradec ticket codes use its
default of 10, sized for a per-city sequence; see docs/parking.md on capacity)."""
CODE_DIGITS = 10
_ROUNDS = 8
DEV_KEY = "dev-only-pin-key-change-me"
PIN_KEY_ENV = "PLATFORM_PIN_KEY"


class PinSpaceExhausted(ValueError):
    """The ticket number is beyond the PIN space (documented capacity, docs/parking.md)."""


def capacity(digits: int = CODE_DIGITS) -> int:
    """How many distinct codes of `digits` digits exist: larger numbers are refused."""
    return 10**digits


def pin_key() -> bytes:
    return os.environ.get(PIN_KEY_ENV, DEV_KEY).encode()


def _half(digits: int) -> int:
    if digits % 2 or not 4 <= digits <= 18:
        raise ValueError(f"codes need an even number of digits from 4 to 18, not {digits}")
    return 10 ** (digits // 2)


def _round(key: bytes, city: str, index: int, half: int, modulus: int) -> int:
    message = f"{city}|{index}|{half}".encode()
    # One-shot HMAC-SHA256 (OpenSSL's, no HMAC object): the same digest as
    # `hmac.new(key, message, hashlib.sha256).digest()`, and 8 of them per code.
    digest = hmac.digest(key, message, "sha256")
    return int.from_bytes(digest[:8], "big") % modulus


def pin_for(number: int, city: str, key: bytes | None = None, digits: int = CODE_DIGITS) -> str:
    """The code of ticket `number` in `city`: exactly `digits` digits, leading zeros kept."""
    half = _half(digits)
    if not 0 <= number < half * half:
        raise PinSpaceExhausted(f"ticket number {number} is outside the {digits}-digit space")
    k = key if key is not None else pin_key()
    left, right = divmod(number, half)
    for index in range(_ROUNDS):
        left, right = right, (left + _round(k, city, index, right, half)) % half
    return f"{left * half + right:0{digits}d}"


def number_of(pin: str, city: str, key: bytes | None = None) -> int:
    """Inverse of `pin_for` (support tooling, and the proof in tests that it is a bijection);
    the length of `pin` says which space it belongs to."""
    half = _half(len(pin))
    k = key if key is not None else pin_key()
    left, right = divmod(int(pin), half)
    for index in reversed(range(_ROUNDS)):
        left, right = (right - _round(k, city, index, left, half)) % half, left
    return left * half + right


def normalise_pin(text: str) -> str:
    """Operators and callers may group digits with spaces or dashes."""
    return "".join(ch for ch in text if ch.isdigit())
