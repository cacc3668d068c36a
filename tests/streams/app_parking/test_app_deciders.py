"""Pure app-parking deciders over plain data: areas (ZCS-1), wallet, holds (MOB-1), plates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from streams.app_parking import areas, holds, registry, wallet
from streams.app_parking.wallet import Movement


@dataclass
class Area:
    name: str
    polygon: list[tuple[float, float]] | None = None
    streets: list[str] = field(default_factory=list)


ZONES = {
    "centro": Area(
        "Centro Storico",
        [(45.46, 9.18), (45.47, 9.18), (45.47, 9.20), (45.46, 9.20)],
        ["Via Róma", "Corso Garibaldi"],
    ),
    "stazione": Area(
        "Stazione", [(45.48, 9.20), (45.49, 9.20), (45.49, 9.21), (45.48, 9.21)], ["Piazza Duca"]
    ),
    "porto": Area("Porto", None, ["Via del Mare"]),
}
MOVE = Movement("zcs", "acc", "EUR", "e1", datetime(2026, 11, 24, 9, tzinfo=UTC), "s1", "z", "p")


def test_zcs1_position_inside_an_area_finds_it() -> None:
    found = areas.area_at(ZONES, 45.465, 9.19)
    assert found == areas.AreaMatch("centro", 0.0)


def test_zcs1_position_outside_every_area_finds_the_nearest() -> None:
    found = areas.area_at(ZONES, 45.4795, 9.205)  # ~55 m south of Stazione
    assert found is not None and found.zone == "stazione"
    assert 40 < found.distance_m < 70


def test_zcs1_free_text_search_ignores_case_and_accents_and_ranks_names_first() -> None:
    assert areas.search_areas(ZONES, "via roma") == ["centro"]
    assert areas.search_areas(ZONES, "STAZ") == ["stazione"]
    assert areas.search_areas(ZONES, "via") == ["centro", "porto"]
    assert areas.search_areas(ZONES, "centro garibaldi") == []  # every word must match one text
    assert areas.search_areas(ZONES, "  ") == []


def test_zcs2_registry_adds_once_and_removes() -> None:
    plates = registry.add_plate(registry.add_plate([], "AB1"), "AB1")
    assert plates == ["AB1"]
    assert registry.remove_plate(plates, "AB1") == []


def test_mob1_wallet_movements_carry_the_balance_after() -> None:
    balance, entry = wallet.topup(0, 1000, MOVE)
    assert (entry.kind, entry.balance_after) == ("topup", 1000)
    assert wallet.can_pay(balance, 1000) and not wallet.can_pay(balance, 1001)
    balance, (charge,) = wallet.charge(balance, 300, MOVE)
    balance, (refund,) = wallet.refund(balance, 100, MOVE)
    assert (charge.balance_after, refund.balance_after, balance) == (700, 800, 800)
    assert wallet.charge(balance, 0, MOVE) == (800, [])


def test_mob1_card_settlement_captures_cost_and_releases_the_rest_of_the_hold() -> None:
    (hold,) = holds.hold(900, MOVE)
    capture, release = holds.settle(900, 350, MOVE)
    assert (hold.kind, capture.kind, release.kind) == ("hold", "capture", "release")
    assert capture.amount + release.amount == hold.amount
    assert [e.kind for e in holds.settle(900, 900, MOVE)] == ["capture"]
    assert [e.kind for e in holds.settle(900, 0, MOVE)] == ["release"]
    assert holds.settle(900, 2000, MOVE)[0].amount == 900  # never more than held
