"""Near-miss plates: what a warden may have misread or a driver mistyped (ENF-1, ENF-2).

When a plate has no right, the driver may have paid for a plate that differs by a
common reading confusion: O/0, B/8, I/1, S/5, Z/2, or a Serbian letter typed without
its diacritic (Š/S, Đ/D, Č/C, Ć/C, Ž/Z — distinct letters under NIS-1, so never folded
when matching, only offered as suggestions). This module only generates the candidate
spellings; the caller keeps those that hold a right.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations, product

# Each pair is confusable both ways; a letter may belong to several pairs (S: 5 and Š).
CONFUSABLE_PAIRS: tuple[tuple[str, str], ...] = (
    ("O", "0"),
    ("B", "8"),
    ("I", "1"),
    ("S", "5"),
    ("Z", "2"),
    ("Š", "S"),
    ("Đ", "D"),
    ("Č", "C"),
    ("Ć", "C"),
    ("Ž", "Z"),
)


def _confusions() -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {}
    for a, b in CONFUSABLE_PAIRS:
        table.setdefault(a, []).append(b)
        table.setdefault(b, []).append(a)
    return {ch: tuple(alts) for ch, alts in table.items()}


CONFUSIONS: dict[str, tuple[str, ...]] = _confusions()

MAX_SUBSTITUTIONS = 2
MAX_CANDIDATES = 500  # a plate of only confusable characters must not explode the search


def near_misses(plate: str, max_substitutions: int = MAX_SUBSTITUTIONS) -> Iterator[str]:
    """Every spelling of a normalised `plate` that differs in 1..max_substitutions
    positions, each by one confusion; nearest (fewest changes) first, no duplicates."""
    positions = [i for i, ch in enumerate(plate) if ch in CONFUSIONS]
    seen = {plate}
    produced = 0
    for count in range(1, max_substitutions + 1):
        for chosen in combinations(positions, count):
            for replacement in product(*(CONFUSIONS[plate[i]] for i in chosen)):
                chars = list(plate)
                for i, ch in zip(chosen, replacement, strict=True):
                    chars[i] = ch
                candidate = "".join(chars)
                if candidate in seen:
                    continue
                seen.add(candidate)
                yield candidate
                produced += 1
                if produced >= MAX_CANDIDATES:
                    return
