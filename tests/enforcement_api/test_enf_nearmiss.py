"""Near-miss plates (enforcement_api.nearmiss, checks.near_miss_plates): ENF-1, ENF-2, NIS-1."""

from __future__ import annotations

from datetime import timedelta

from enforcement_api.checks import near_miss_plates
from enforcement_api.nearmiss import near_misses
from enforcement_api.replica import ValidityIndex
from tests.enforcement_api.enf_helpers import ent, record, utc

T9 = utc("2026-11-24T09:00")


def test_enf1_every_common_reading_confusion_is_one_step_away():
    pairs = [("O", "0"), ("B", "8"), ("I", "1"), ("S", "5"), ("Z", "2")]
    for a, b in pairs:
        assert f"NI{b}AB" in set(near_misses(f"NI{a}AB"))
        assert f"NI{a}AB" in set(near_misses(f"NI{b}AB"))


def test_nis1_diacritic_letters_are_suggested_never_folded():
    """NIS-1: Š Đ Č Ć Ž are distinct letters; a plate typed without them is only a hint."""
    assert "NIŠ12" in set(near_misses("NIS12"))
    assert "ĐA12" in set(near_misses("DA12"))
    assert {"ČA12", "ĆA12"} <= set(near_misses("CA12"))
    assert "ŽA12" in set(near_misses("ZA12"))
    assert "CA12" in set(near_misses("ČA12"))


def test_enf1_nearest_spellings_first_and_two_changes_at_most():
    variants = list(near_misses("B0"))
    assert variants[:2] == ["80", "BO"]
    assert "8O" in variants
    assert "B0" not in variants
    assert len(variants) == len(set(variants))
    assert list(near_misses("NI123AB", max_substitutions=1)).count("NI123A8") == 1


def test_enf1_plate_without_confusable_characters_has_no_near_misses():
    assert list(near_misses("HKM")) == []


def test_enf1_suggests_only_paid_plates():
    index = ValidityIndex()
    index.record(record("NI123A8", [ent("paid", T9)]))
    index.record(record("NII23AB", [ent("old", T9 - timedelta(hours=5))]))
    found = near_miss_plates(index, "nis", "NI123AB", T9, zone=None, grace_minutes=5)
    assert [s.plate for s in found] == ["NI123A8"]
    assert found[0].status == "valid"
    assert found[0].valid_until == T9 + timedelta(hours=1)
