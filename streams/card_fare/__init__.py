"""Tarnów contactless city cards: distance fares, purses, group tickets (TRN-1..10).

Public: `make_rules(cities) -> CardFareRules` (the worker's factory, streams/systems.py).
Deciders: `purses` (e-purse, t-purse, transfer), `counters` (the card's transaction
counter: one charge per operation), `faults` (blocked, expired, damaged card, no funds),
`rides` (check-in, check-out, group tickets), `orders` (online orders written at sync),
`card` (the inspector's view and the card check); settings in `settings`.
See docs/transit.md.
"""

from __future__ import annotations

from streams.card_fare.rules import CardFareRules, make_rules

__all__ = ["CardFareRules", "make_rules"]
