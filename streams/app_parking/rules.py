"""moBILET and ZCS app parking as a stream system: stays, wallets, card holds, plates.

Owner: the account id; the account's state is `{"account", "wallet": balance, "plates":
[...], "stays": [...] (stays.py)}`. A stay is paid from the wallet (charged for its
whole planned time, the unused part refunded at a stop) or by card (held for its whole
planned time, captured and released when it ends). The validity topic gets one record
per plate parked by the account: `validity_key(city, "plate", plate, account)`.

Which payments a city offers and which rule id each refusal cites come from the city's
`[app_parking]` config (`config/cities/<city>.app_parking.toml`), not from code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from streams.app_parking import holds, registry, stays, wallet
from streams.app_parking.stays import Refusal
from streams.app_parking.wallet import Movement
from streams.contract import (
    Entitlement,
    Event,
    LedgerEntry,
    Notification,
    Outcome,
    ValidityRecord,
    validity_key,
)
from streams.contract.events import (
    AccountPlate,
    ParkingExtend,
    ParkingStart,
    ParkingStop,
    WalletTopup,
)
from streams.contract.plates import InvalidPlate, normalise_plate
from streams.parking_time import at, earliest, iso
from streams.replies import Replies
from streams.runtime.rules import Output, Step, ValidityRemoved, outcome_of
from tariff_kernel import TariffError, load_city

RECENT = timedelta(hours=24)
TEMPLATES = (
    "started",
    "extended",
    "stopped",
    "ended",
    "refused",
    "topup",
)
REFUSAL_KINDS = (
    "insufficient_funds",
    "payment_not_offered",
    "unknown_area",
    "bad_plate",
    "unknown_stay",
    "end_before_start",
    "no_charging_time",
    "stay_ended",
    "not_later",
    "at_latest_end",
    "tariff_unavailable",
)


@dataclass(frozen=True)
class AppCity:
    config: Any  # tariff_kernel.CityConfig
    replies: Replies
    payments: frozenset[str]
    rules: dict[str, str]  # refusal kind -> rule id cited
    products: dict[str, str]  # zone -> tariff product

    @classmethod
    def load(cls, city_id: str) -> AppCity:
        config = load_city(city_id)
        replies = Replies.of(config)
        replies.require(TEMPLATES)
        settings = config.raw.get("app_parking", {})
        rules = dict(settings.get("rules", {}))
        missing = [k for k in REFUSAL_KINDS if k not in rules]
        if missing:
            raise ValueError(f"city {city_id!r}: [app_parking.rules] lacks {missing}")
        return cls(
            config=config,
            replies=replies,
            payments=frozenset(settings.get("payments", ["wallet"])),
            rules=rules,
            products=products_by_zone(config),
        )


def products_by_zone(config: Any) -> dict[str, str]:
    """The tariff product that prices a stay in each zone (area) of an app city."""
    found: dict[str, str] = {}
    for product_id, product in config.products.items():
        zone = product.get("zone") if isinstance(product, dict) else getattr(product, "zone", None)
        if zone is not None:
            found.setdefault(str(zone), product_id)
    for zone_id in config.zones:
        if zone_id in config.products:
            found.setdefault(zone_id, zone_id)
    return found


def empty_state(account: str) -> dict[str, Any]:
    return {"account": account, "wallet": 0, "plates": [], "stays": []}


class AppParkingRules:
    system = "app_parking"

    def __init__(self, cities: dict[str, AppCity]) -> None:
        self.cities = cities

    def decide(self, state: dict[str, Any] | None, event: Event, owner: str) -> Step:
        city = self.cities[event.city]
        state = state or empty_state(owner)
        data = event.data
        try:
            if isinstance(data, WalletTopup):
                return self._topup(city, state, event, data)
            if isinstance(data, AccountPlate):
                return self._plate(city, state, event, data)
            if isinstance(data, ParkingStart):
                return self._start(city, state, event, data)
            if isinstance(data, ParkingExtend):
                return self._extend(city, state, event, data)
            if isinstance(data, ParkingStop):
                return self._stop(city, state, event, data)
        except TariffError as failure:
            return self._refuse(city, state, event, "tariff_unavailable", str(failure))
        outcome = outcome_of(event, owner, "ignored", None, "not an app parking event")
        return _step(state, [outcome])

    # -- wallet and plates ----------------------------------------------------------------

    def _topup(self, city: AppCity, state: dict, event: Event, data: WalletTopup) -> Step:
        move = _movement(city, state, event)
        balance, entry = wallet.topup(state["wallet"], data.amount, move)
        text = city.replies.render("topup", amount=data.amount, amount_balance=balance)
        outputs: list[Output] = [
            entry,
            _push(event, state["account"], "topup", text),
            _accepted(event, state["account"], {"balance": balance, "method": data.method}),
        ]
        return _step({**state, "wallet": balance}, outputs)

    def _plate(self, city: AppCity, state: dict, event: Event, data: AccountPlate) -> Step:
        try:
            plate = normalise_plate(data.plate)
        except InvalidPlate as bad:
            return self._refuse(city, state, event, "bad_plate", bad.problem)
        if event.type == "account.plate_added":
            plates = registry.add_plate(state["plates"], plate)
        else:
            plates = registry.remove_plate(state["plates"], plate)  # its stays stay (ZCS-2)
        return _step({**state, "plates": plates}, [_accepted(event, state["account"], {})])

    # -- stays ----------------------------------------------------------------------------

    def _start(self, city: AppCity, state: dict, event: Event, data: ParkingStart) -> Step:
        try:
            plate = normalise_plate(data.plate)
        except InvalidPlate as bad:
            return self._refuse(city, state, event, "bad_plate", bad.problem)
        if data.zone not in city.config.zones or data.zone not in city.products:
            return self._refuse(city, state, event, "unknown_area", f"no area {data.zone!r}")
        if data.payment not in city.payments:
            reason = f"payment by {data.payment} is not offered in this city"
            return self._refuse(city, state, event, "payment_not_offered", reason)
        product = city.products[data.zone]
        plan = stays.plan_start(
            city.config, product, event.time, max_minutes=data.max_minutes, end=data.end
        )
        if isinstance(plan, Refusal):
            return self._refuse(city, state, event, plan.kind, plan.reason)
        if data.payment == "wallet" and not wallet.can_pay(state["wallet"], plan.price):
            return self._insufficient(city, state, event, plan.price)
        stay = {
            "id": event.id,
            "plate": plate,
            "zone": data.zone,
            "product": product,
            "payment": data.payment,
            "start": iso(plan.start),
            "end": iso(plan.end),
            "requested_start": iso(data.requested_start) if data.requested_start else None,
            "paid": plan.price,
            "currency": plan.currency,
            "state": "running",
            "stopped_at": None,
            "cost": None,
            "capped": plan.capped,
            "minimum_applied": plan.minimum_applied,
        }
        move = _movement(city, state, event, stay)
        balance, money = self._take(state, stay, plan.price, move, "charge", "hold")
        new_state = {
            **state,
            "wallet": balance,
            "plates": registry.add_plate(state["plates"], plate),  # ZCS-2: saved for next time
            "stays": [*state["stays"], stay],
        }
        text = city.replies.render(
            "started",
            plate=plate,
            zone=city.config.zones[data.zone].name,
            valid_from=plan.start,
            valid_until=plan.end,
            amount=plan.price,
        )
        facts = {
            "stay_id": stay["id"],
            "price": plan.price,
            "start": stay["start"],
            "end": stay["end"],
            "capped": plan.capped,
            "minimum_applied": plan.minimum_applied,
        }
        outputs: list[Output] = [
            *money,
            _push(event, state["account"], "started", text, stay["id"]),
            _validity(event.city, new_state, plate, event.time, event.id),
            _accepted(event, state["account"], facts),
        ]
        return _step(new_state, outputs)

    def _extend(self, city: AppCity, state: dict, event: Event, data: ParkingExtend) -> Step:
        stay = _find(state, data.stay_id)
        if stay is None:
            return self._refuse(city, state, event, "unknown_stay", f"no stay {data.stay_id!r}")
        plan = stays.plan_extension(
            city.config, stay, event.time, minutes=data.minutes, end=data.end
        )
        if isinstance(plan, Refusal):
            return self._refuse(city, state, event, plan.kind, plan.reason)
        extra = max(plan.price - stay["paid"], 0)
        if stay["payment"] == "wallet" and not wallet.can_pay(state["wallet"], extra):
            return self._insufficient(city, state, event, extra)
        move = _movement(city, state, event, stay)
        balance, money = self._take(state, stay, extra, move, "charge", "hold")
        changed = {
            **stay,
            "end": iso(plan.end),
            "paid": stay["paid"] + extra,
            "capped": plan.capped,
            "minimum_applied": plan.minimum_applied,
        }
        new_state = {**state, "wallet": balance, "stays": _replace(state, changed)}
        text = city.replies.render(
            "extended", plate=stay["plate"], valid_until=plan.end, amount=extra
        )
        facts = {"stay_id": stay["id"], "extra": extra, "end": changed["end"]}
        outputs: list[Output] = [
            *money,
            _push(event, state["account"], "extended", text, stay["id"]),
            _validity(event.city, new_state, stay["plate"], event.time, event.id),
            _accepted(event, state["account"], facts),
        ]
        return _step(new_state, outputs)

    def _stop(self, city: AppCity, state: dict, event: Event, data: ParkingStop) -> Step:
        stay = _find(state, data.stay_id)
        if stay is None:
            return self._refuse(city, state, event, "unknown_stay", f"no stay {data.stay_id!r}")
        if not stays.running(stay, event.time):
            return self._refuse(city, state, event, "stay_ended", "the stay has already ended")
        new_state, money, closed = self._close(city, state, stay, event.time, event.id, event)
        back = closed["paid"] - closed["cost"]
        text = city.replies.render(
            "stopped",
            plate=stay["plate"],
            amount=closed["cost"],
            amount_back=back,
            valid_until=event.time,
        )
        facts = {"stay_id": stay["id"], "cost": closed["cost"], "returned": back}
        outputs: list[Output] = [
            *money,
            _push(event, state["account"], "stopped", text, stay["id"]),
            _validity(event.city, new_state, stay["plate"], event.time, event.id),
            _accepted(event, state["account"], facts),
        ]
        return _step(new_state, outputs)

    def _close(
        self,
        city: AppCity,
        state: dict,
        stay: dict,
        moment: datetime,
        caused_by: str,
        event: Event | None,
    ) -> tuple[dict, list[LedgerEntry], dict]:
        """End `stay` at `moment`: the real cost is kept, the rest goes back (ZCS-8) or
        is released from the card hold (MOB-1)."""
        cost = stays.cost_until(city.config, stay, moment)
        # Stopped before its (clamped) start: a zero-length stay that cost nothing.
        end = max(min(moment, at(stay["end"])), at(stay["start"]))
        closed = {
            **stay,
            "state": "stopped" if event is not None else "ended",
            "stopped_at": iso(moment),
            "end": iso(end),
            "cost": cost,
        }
        move = Movement(
            city=city.config.id,
            account=state["account"],
            currency=stay["currency"],
            caused_by=caused_by,
            time=moment,
            ticket_id=stay["id"],
            zone=stay["zone"],
            product=stay["product"],
        )
        balance = state["wallet"]
        if stay["payment"] == "wallet":
            balance, money = wallet.refund(balance, stay["paid"] - cost, move)
        else:
            money = holds.settle(stay["paid"], cost, move)
        new_state = {**state, "wallet": balance, "stays": _replace(state, closed)}
        return new_state, money, closed

    def _take(
        self, state: dict, stay: dict, amount: int, move: Movement, charge_tag: str, hold_tag: str
    ) -> tuple[int, list[LedgerEntry]]:
        if stay["payment"] == "wallet":
            return wallet.charge(state["wallet"], amount, move, charge_tag)
        return state["wallet"], holds.hold(amount, move, hold_tag)

    def _insufficient(self, city: AppCity, state: dict, event: Event, needed: int) -> Step:
        reason = f"the wallet holds {state['wallet']}, the stay needs {needed}"
        return self._refuse(city, state, event, "insufficient_funds", reason, needed=needed)

    def _refuse(
        self, city: AppCity, state: dict, event: Event, kind: str, reason: str, **facts: Any
    ) -> Step:
        text = city.replies.render("refused", reason=_reason_text(city, kind, reason))
        outcome = outcome_of(event, state["account"], "refused", city.rules[kind], reason)
        if facts:
            outcome = outcome.model_copy(update={"facts": {"kind": kind, **facts}})
        else:
            outcome = outcome.model_copy(update={"facts": {"kind": kind}})
        return _step(state, [_push(event, state["account"], "refusal", text), outcome])

    # -- the clock ------------------------------------------------------------------------

    def on_clock(self, state: dict[str, Any], now: datetime, city_id: str, owner: str) -> Step:
        city = self.cities[city_id]
        if not state:
            return Step(state)
        outputs: list[Output] = []
        touched: set[str] = set()
        caused_by = f"clock:{city_id}:{owner}:{iso(now)}"
        for stay in list(state["stays"]):
            if stay["state"] == "running" and at(stay["end"]) <= now:
                end = at(stay["end"])
                tag = f"{stay['id']}:end"
                state, money, closed = self._close(city, state, stay, end, tag, None)
                text = city.replies.render(
                    "ended", plate=stay["plate"], valid_until=end, amount=closed["cost"]
                )
                outputs.extend(money)
                outputs.append(
                    Notification(
                        id=f"{tag}:push",
                        city=city_id,
                        channel="push",
                        to=state["account"],
                        kind="expired",
                        text=text,
                        ticket_id=stay["id"],
                        caused_by=tag,
                        time=now,
                    )
                )
                touched.add(stay["plate"])
        kept = [s for s in state["stays"] if s["state"] == "running" or _gone_at(s) > now]
        touched |= {s["plate"] for s in state["stays"] if s not in kept}
        state = {**state, "stays": kept}
        for plate in sorted(touched):
            outputs.append(_validity(city_id, state, plate, now, caused_by))
        return _step(state, outputs)


def _gone_at(stay: dict[str, Any]) -> datetime:
    return at(stay["end"]) + RECENT


def next_wake(state: dict[str, Any]) -> datetime | None:
    """Ends of running stays (capture, release, the push) and forgetting old stays."""
    times = [at(s["end"]) if s["state"] == "running" else _gone_at(s) for s in state["stays"]]
    return earliest(*times)


def _step(state: dict[str, Any], outputs: list[Output]) -> Step:
    if not state["stays"] and not state["plates"] and state["wallet"] == 0:
        return Step(None, outputs, None)
    return Step(state, outputs, next_wake(state))


def _find(state: dict[str, Any], stay_id: str) -> dict[str, Any] | None:
    return next((s for s in state["stays"] if s["id"] == stay_id), None)


def _replace(state: dict[str, Any], changed: dict[str, Any]) -> list[dict[str, Any]]:
    return [changed if s["id"] == changed["id"] else s for s in state["stays"]]


def _movement(city: AppCity, state: dict, event: Event, stay: dict | None = None) -> Movement:
    return Movement(
        city=event.city,
        account=state["account"],
        currency=city.config.currency,
        caused_by=event.id,
        time=event.time,
        ticket_id=stay["id"] if stay else None,
        zone=stay["zone"] if stay else None,
        product=stay["product"] if stay else None,
    )


def entitlement(stay: dict[str, Any]) -> Entitlement:
    return Entitlement(
        ticket_id=stay["id"],
        kind="app_stay",
        product=stay["product"],
        channel="app",
        state="confirmed",
        valid_from=at(stay["start"]),
        valid_until=at(stay["end"]),
        price=stay["cost"] if stay["cost"] is not None else stay["paid"],
        currency=stay["currency"],
        zone=stay["zone"],
        plate=stay["plate"],
        details={
            "payment": stay["payment"],
            "stay_state": stay["state"],
            "capped": stay["capped"],
            "minimum_applied": stay["minimum_applied"],
        },
    )


def _validity(
    city: str, state: dict[str, Any], plate: str, now: datetime, caused_by: str
) -> ValidityRecord | ValidityRemoved:
    mine = [s for s in state["stays"] if s["plate"] == plate]
    if not mine:
        return ValidityRemoved(validity_key(city, "plate", plate, state["account"]))
    return ValidityRecord(
        city=city,
        subject_kind="plate",
        subject=plate,
        owner=state["account"],
        entitlements=[entitlement(s) for s in mine],
        updated_at=now,
        caused_by=caused_by,
    )


def _reason_text(city: AppCity, kind: str, reason: str) -> str:
    return city.replies.templates.get(f"reason_{kind}", reason)


def _push(event: Event, account: str, kind: str, text: str, ticket_id: str | None = None):
    return Notification(
        id=f"{event.id}:push",
        city=event.city,
        channel="push",
        to=account,
        kind=kind,
        text=text,
        ticket_id=ticket_id,
        caused_by=event.id,
        time=event.time,
    )


def _accepted(event: Event, owner: str, facts: dict[str, Any]) -> Outcome:
    return Outcome(
        id=event.id,
        city=event.city,
        type=event.type,
        owner=owner,
        outcome="accepted",
        facts=facts,
        time=event.time,
    )


def make_rules(cities: list[str]) -> AppParkingRules:
    return AppParkingRules({c: AppCity.load(c) for c in cities})
