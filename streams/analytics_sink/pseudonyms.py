"""Keyed-hash pseudonyms: how plates, phone numbers, cards and accounts reach analytics.

Analytics never stores a plate or a phone number. It stores HMAC-SHA256(key, kind|value)
(kind: plate, phone or id for card, account and ticket ids),
truncated to 128 bits (hex): the same vehicle or phone gets the same pseudonym (so
dashboards can count distinct vehicles, turnover and dwell), but nobody without the key
can turn a pseudonym back into a plate, nor test a guessed plate against it. Rotating the
key (`ANALYTICS_PSEUDONYM_KEY`) unlinks everything stored before from everything after.

Plates are normalised first (NIS-1 / ENF-2, `streams.contract.plates`) so every spelling
of one plate maps to one pseudonym; phone numbers lose spaces and dashes.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from streams.contract.plates import InvalidPlate, normalise_plate

KEY_VARIABLE = "ANALYTICS_PSEUDONYM_KEY"
# Development default only: a deployment sets its own key (see docs/analytics.md).
DEV_KEY = "dev-only-analytics-pseudonym-key"

#: JSON keys whose values are personal wherever they appear (event data, outcome facts).
PERSONAL_KEYS: Mapping[str, str] = {
    "plate": "plate",
    "plates": "plate",
    "msisdn": "phone",
    "phone": "phone",
    "card_id": "id",
    "account_id": "id",
    "holder": "any",
    "owner": "any",
    "subject": "any",
    "pin": "id",
    "text": "plate",  # an SMS body is a plate (Niš) or a keyword; kept only hashed
}

_PHONE_SEPARATORS = re.compile(r"[\s\-()]")

log = logging.getLogger(__name__)


def key_from_env(environ: Mapping[str, str] | None = None) -> bytes:
    env = os.environ if environ is None else environ
    key = env.get(KEY_VARIABLE, "")
    if not key:
        log.warning("%s is not set: using the development key", KEY_VARIABLE)
        key = DEV_KEY
    return key.encode()


class Pseudonymizer:
    """Turns personal identifiers into stable, keyed pseudonyms (32 hex characters)."""

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("a pseudonym key must not be empty")
        self._key = key
        # Plates and phones repeat a lot within a batch; bounded caches keep the HMAC and
        # the plate normalisation off the hot path (the sink maps ~10^5 records/s).
        self._cached = lru_cache(maxsize=200_000)(self._digest)
        self.plate = lru_cache(maxsize=200_000)(self._plate)  # type: ignore[method-assign]
        self.phone = lru_cache(maxsize=200_000)(self._phone)  # type: ignore[method-assign]
        self.identifier = lru_cache(maxsize=200_000)(self._identifier)  # type: ignore[method-assign]
        self.subject = lru_cache(maxsize=100_000)(self._subject)  # type: ignore[method-assign]

    def _digest(self, kind: str, value: str) -> str:
        return hmac.digest(self._key, f"{kind}|{value}".encode(), "sha256")[:16].hex()

    def of(self, kind: str, value: str | None) -> str:
        """The pseudonym of `value` of this kind ('' for no value)."""
        if not value:
            return ""
        return self._cached(kind, value)

    def plate(self, text: str | None) -> str:
        """The pseudonym of a plate, after NIS-1 normalisation."""
        return self._plate(text)

    def _plate(self, text: str | None) -> str:
        if not text:
            return ""
        try:
            canonical = normalise_plate(text)
        except InvalidPlate:
            canonical = text.strip().upper()
        return self.of("plate", canonical)

    def phone(self, text: str | None) -> str:
        return self._phone(text)

    def _phone(self, text: str | None) -> str:
        if not text:
            return ""
        return self.of("phone", _PHONE_SEPARATORS.sub("", text))

    def subject(self, kind: str, value: str | None) -> str:
        """A validity subject or check subject: plate, phone, ticket code or card id."""
        return self._subject(kind, value)

    def _subject(self, kind: str, value: str | None) -> str:
        if kind == "plate":
            return self.plate(value)
        if kind == "phone":
            return self.phone(value)
        return self.of("id", value)

    def identifier(self, value: str | None) -> str:
        return self._identifier(value)

    def _identifier(self, value: str | None) -> str:
        """An identifier of unknown kind (ledger holder, outcome owner, recipient): a phone
        number when it is digits, else an id (plate, card, account); the same kind rules
        as `subject`, so a holder and an event subject of one phone get one pseudonym."""
        if not value:
            return ""
        compact = _PHONE_SEPARATORS.sub("", value)
        if compact.lstrip("+").isdigit():
            return self.of("phone", compact)
        return self.of("id", value)

    def scrub(self, value: Any) -> Any:
        """A copy of JSON-like data with every personal key's value replaced by a pseudonym."""
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for k, v in value.items():
                kind = PERSONAL_KEYS.get(k)
                if kind is None:
                    out[k] = self.scrub(v)
                elif isinstance(v, str):
                    out[k] = self._scrub_text(kind, v)
                elif isinstance(v, list):
                    out[k] = [self._scrub_text(kind, str(x)) for x in v]
                else:
                    out[k] = self.scrub(v)
            return out
        if isinstance(value, list):
            return [self.scrub(v) for v in value]
        return value

    def _scrub_text(self, kind: str, text: str) -> str:
        if kind == "plate":
            return self.plate(text)
        if kind == "phone":
            return self.phone(text)
        if kind == "any":
            return self.identifier(text)
        return self.of("id", text)
