"""Niš SMS parking (NIS-1..14): an SMS to a zone short code buys an hour or a day ticket.

Public: `make_rules(cities) -> SmsParkingRules` (the worker's factory, streams/systems.py)
and `service_unavailable_reply` (NIS-8, for the SMS gateway path). Deciders live in
`stays`, `lockout`, `tickets`, `verdicts`, `warnings`, `pins`; docs/parking.md.
"""

from __future__ import annotations

from streams.sms_parking.rules import SmsParkingRules, make_rules, service_unavailable_reply

__all__ = ["SmsParkingRules", "make_rules", "service_unavailable_reply"]
