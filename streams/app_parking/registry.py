"""An account's saved plates (ZCS-2): added explicitly or by parking with a new plate.

Deleting a plate only removes it from the list offered for the next stay; stays already
made with it (and their validity) are kept.
"""

from __future__ import annotations


def add_plate(plates: list[str], plate: str) -> list[str]:
    return plates if plate in plates else [*plates, plate]


def remove_plate(plates: list[str], plate: str) -> list[str]:
    return [p for p in plates if p != plate]
