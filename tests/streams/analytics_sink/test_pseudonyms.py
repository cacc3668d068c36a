"""Pseudonyms: the cached lookups the sink uses give exactly the keyed hash of the value."""

from __future__ import annotations

import hmac

from streams.analytics_sink.pseudonyms import Pseudonymizer
from streams.contract.plates import normalise_plate

KEY = b"test-key"


def keyed(kind: str, value: str) -> str:
    """HMAC-SHA256(key, kind|value), first 128 bits in hex: the documented pseudonym."""
    return hmac.new(KEY, f"{kind}|{value}".encode(), "sha256").hexdigest()[:32]


def test_repeated_values_get_the_same_pseudonym_as_computed_afresh() -> None:
    """Real traffic repeats plates and phone numbers; the bounded caches must not change
    a single pseudonym, first lookup or hundredth, in any spelling (NIS-1)."""
    ps = Pseudonymizer(KEY)
    plates = [f"NI{i % 50:03d}AB" for i in range(500)] + ["ni 001-ab", "NI-001 AB"]
    phones = [f"+381 64 {i % 40:07d}" for i in range(400)]
    for _ in range(3):
        for plate in plates:
            assert ps.plate(plate) == keyed("plate", normalise_plate(plate))
            assert ps.subject("plate", plate) == ps.plate(plate)
        for phone in phones:
            compact = phone.replace(" ", "")
            assert ps.phone(phone) == keyed("phone", compact)
            assert ps.identifier(phone) == ps.phone(phone)  # a holder that is a phone
            assert ps.subject("phone", phone) == ps.phone(phone)
        assert ps.identifier("TK-00000001") == keyed("id", "TK-00000001")
        assert ps.of("id", "A-1") == keyed("id", "A-1")
    assert ps.plate("ni 001-ab") == ps.plate("NI001AB")
    assert ps.plate("") == ps.phone(None) == ps.identifier("") == ""
