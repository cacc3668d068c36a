"""Hradec Králové transit tickets by missed call (HKR-1..9).

Public: `make_rules(cities) -> MissedCallRules` (the worker's factory, streams/systems.py).
Deciders: `keywords` (SMS commands), `registration` (register, confirm, renew, STOP),
`ordering` (1+4 rule, financial limit, SMS orders), `tickets` (ticket codes, validity
records); settings in `settings`. See docs/transit.md.
"""

from __future__ import annotations

from streams.missed_call.rules import MissedCallRules, make_rules

__all__ = ["MissedCallRules", "make_rules"]
