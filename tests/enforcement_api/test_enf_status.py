"""Status decisions (enforcement_api.status): ENF-1 vocabulary, NIS-9 revocation, NIS-4."""

from __future__ import annotations

from datetime import timedelta

import pytest

from enforcement_api.status import decide
from tests.enforcement_api.enf_helpers import ent, utc

T9 = utc("2026-11-24T09:00")  # a Tuesday, charging in force


def test_enf1_valid_while_a_ticket_covers_the_moment_with_paid_until():
    decision = decide([ent("t1", T9)], T9 + timedelta(minutes=30))
    assert decision.status == "valid"
    assert decision.valid_until == T9 + timedelta(hours=1)
    assert [e.ticket_id for e in decision.evidence] == ["t1"]


def test_enf1_nis4_contiguous_hours_report_the_end_of_the_whole_stay():
    """NIS-4: the second hour starts where the first ends; the warden sees one stay."""
    hours = [ent("t1", T9), ent("t2", T9 + timedelta(hours=1))]
    decision = decide(hours, T9 + timedelta(minutes=10))
    assert decision.status == "valid"
    assert decision.valid_until == T9 + timedelta(hours=2)


def test_enf1_valid_from_inclusive_and_end_exclusive():
    assert decide([ent("t1", T9)], T9).status == "valid"
    assert decide([ent("t1", T9)], T9 + timedelta(hours=1)).status == "expired"


def test_enf1_expired_with_since_when():
    decision = decide([ent("t1", T9)], T9 + timedelta(hours=2), grace_minutes=5)
    assert decision.status == "expired"
    assert decision.expired_at == T9 + timedelta(hours=1)


def test_enf1_grace_inside_the_city_grace_period_then_expired():
    end = T9 + timedelta(hours=1)
    within = decide([ent("t1", T9)], end + timedelta(minutes=4, seconds=59), grace_minutes=5)
    assert within.status == "grace"
    assert within.expired_at == end
    assert decide([ent("t1", T9)], end + timedelta(minutes=5), grace_minutes=5).status == (
        "expired"
    )
    assert decide([ent("t1", T9)], end, grace_minutes=0).status == "expired"


def test_enf1_none_without_any_entitlement_or_only_future_ones():
    assert decide([], T9).status == "none"
    assert decide([ent("later", T9 + timedelta(hours=3))], T9).status == "none"


def test_enf1_not_required_when_charging_is_not_in_force():
    decision = decide([], T9, charging_in_force=False)
    assert decision.status == "not_required"
    expired = decide([ent("t1", T9)], T9 + timedelta(hours=3), charging_in_force=False)
    assert expired.status == "not_required"


def test_enf1_valid_wins_over_not_required_and_charging_is_asked_only_when_needed():
    asked = []

    def charging() -> bool:
        asked.append(True)
        return False

    assert decide([ent("t1", T9)], T9, charging_in_force=charging).status == "valid"
    assert asked == []
    assert decide([], T9, charging_in_force=charging).status == "not_required"
    assert asked == [True]


def test_nis9_revoked_from_the_moment_of_cancellation():
    """NIS-9: a rejected ticket is valid (provisional) until the verdict, revoked after."""
    verdict = T9 + timedelta(minutes=3)
    ticket = ent("t1", T9, state="revoked", revoked_at=verdict)
    before = decide([ticket], T9 + timedelta(minutes=2))
    assert before.status == "valid"
    assert before.valid_until == verdict
    after = decide([ticket], T9 + timedelta(minutes=10), grace_minutes=5)
    assert after.status == "revoked"
    assert after.revoked_at == verdict


def test_nis9_provisional_ticket_counts_as_valid():
    assert decide([ent("t1", T9, state="provisional")], T9).status == "valid"
    assert decide([ent("t1", T9, state="confirmed")], T9).status == "valid"


def test_nis9_revocation_gets_no_grace():
    ticket = ent("t1", T9, state="revoked", revoked_at=T9 + timedelta(minutes=3))
    assert decide([ticket], T9 + timedelta(minutes=4), grace_minutes=15).status == "revoked"


def test_nis9_revoked_without_a_time_never_counted():
    ticket = ent("t1", T9, state="revoked")
    assert decide([ticket], T9 + timedelta(minutes=1)).status == "revoked"


def test_enf1_latest_ending_entitlement_decides_between_revoked_and_expired():
    old_revoked = ent("a", T9, state="revoked", revoked_at=T9 + timedelta(minutes=3))
    newer_expired = ent("b", T9 + timedelta(hours=1))
    at = T9 + timedelta(hours=3)
    assert decide([old_revoked, newer_expired], at).status == "expired"
    old_expired = ent("c", T9 - timedelta(hours=2))
    assert decide([old_expired, old_revoked], at).status == "revoked"


def test_enf1_zone_check_counts_only_that_zone_and_zoneless_rights():
    red = ent("t1", T9, zone="red")
    assert decide([red], T9, zone="red").status == "valid"
    assert decide([red], T9, zone="green").status == "none"
    assert decide([red], T9, zone=None).status == "valid"
    city_wide = ent("t2", T9, zone=None)
    assert decide([city_wide], T9, zone="green").status == "valid"


def test_enf1_at_must_be_aware():
    with pytest.raises(ValueError):
        decide([], T9.replace(tzinfo=None))
