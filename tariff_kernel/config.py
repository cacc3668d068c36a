"""Loading and validating city configs: `config/cities/<city>.toml` (+ `<city>.*.toml`).

`<city>.toml` holds the city and its tariff; files named `<city>.<part>.toml` beside it
hold the settings of the systems that serve the city (reply texts, keywords, timings) and
are deep-merged into `CityConfig.raw`. Only the tariff sections are validated here; each
system validates its own. Every error names the file, the key and the reason.

The folder is `$PLATFORM_CONFIG_DIR`, else `config/cities` of this checkout.
"""

from __future__ import annotations

import functools
import itertools
import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tariff_kernel.model import (
    DAY_NAMES,
    ChargingSpan,
    CityConfig,
    DistanceBand,
    ParkingProduct,
    TariffError,
    Tier,
    TransitProduct,
    TransitTariff,
    Zone,
)

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "cities"
SYSTEMS = ("sms_parking", "app_parking", "missed_call", "card_fare")


class ConfigError(TariffError):
    """A city config that cannot be used: `file: key: reason`."""

    def __init__(self, file: Path | str, key: str, reason: str) -> None:
        super().__init__(f"{file}: {key}: {reason}")
        self.file, self.key, self.reason = str(file), key, reason


def config_dir() -> Path:
    return Path(os.environ.get("PLATFORM_CONFIG_DIR") or REPO_CONFIG)


def list_cities() -> list[str]:
    return sorted(p.stem for p in config_dir().glob("*.toml") if "." not in p.stem)


@functools.cache
def _load_cached(directory: str, city_id: str) -> CityConfig:
    return load_city_from(Path(directory), city_id)


def load_city(city: str | CityConfig) -> CityConfig:
    """The validated config of `city` (cached per folder)."""
    if isinstance(city, CityConfig):
        return city
    return _load_cached(str(config_dir()), city)


def load_city_from(directory: Path, city_id: str) -> CityConfig:
    main = directory / f"{city_id}.toml"
    if not main.exists():
        known = ", ".join(list_cities_in(directory)) or "none"
        raise TariffError(f"no city {city_id!r}: {main} does not exist (known: {known})")
    raw = _read(main)
    for part in sorted(directory.glob(f"{city_id}.*.toml")):
        _merge(raw, _read(part), part, "")
    return parse_city(raw, main)


def list_cities_in(directory: Path) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml") if "." not in p.stem)


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "(file)", f"not valid TOML: {exc}") from None


def _merge(into: dict[str, Any], extra: dict[str, Any], path: Path, prefix: str) -> None:
    for key, value in extra.items():
        dotted = f"{prefix}{key}"
        if key in into and isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value, path, dotted + ".")
        elif key in into:
            raise ConfigError(path, dotted, "already set by another file of this city")
        else:
            into[key] = value


# --- parsing -------------------------------------------------------------------------------


class _Reader:
    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(self.file, key, reason)

    def table(self, data: dict[str, Any], key: str, required: bool = True) -> dict[str, Any]:
        value = data.get(key.rsplit(".", 1)[-1])
        if value is None:
            if required:
                raise self.fail(key, "missing")
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return value

    def text(self, data: dict[str, Any], key: str, default: str | None = None) -> str:
        value = data.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, str) or not value:
            raise self.fail(key, "missing" if value is None else "must be a non-empty string")
        return value

    def integer(
        self, data: dict[str, Any], key: str, default: int | None = None, minimum: int = 0
    ) -> int:
        value = data.get(key.rsplit(".", 1)[-1], default)
        if value is None:
            raise self.fail(key, "missing")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer (minor units / minutes), not {value!r}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}")
        return value

    def optional_int(self, data: dict[str, Any], key: str, minimum: int = 0) -> int | None:
        if key.rsplit(".", 1)[-1] not in data:
            return None
        return self.integer(data, key, minimum=minimum)

    def flag(self, data: dict[str, Any], key: str, default: bool) -> bool:
        value = data.get(key.rsplit(".", 1)[-1], default)
        if not isinstance(value, bool):
            raise self.fail(key, "must be true or false")
        return value


def _clock_minutes(reader: _Reader, key: str, value: Any) -> int:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":":
        raise reader.fail(key, f"must be a local time HH:MM, not {value!r}")
    try:
        hours, minutes = int(value[:2]), int(value[3:])
    except ValueError:
        raise reader.fail(key, f"must be a local time HH:MM, not {value!r}") from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 1440:
        raise reader.fail(key, f"{value!r} is not a time of day")
    return hours * 60 + minutes


def _days(reader: _Reader, key: str, value: Any) -> frozenset[int]:
    if not isinstance(value, str):
        raise reader.fail(key, "must be like 'Mon-Fri', 'Sat' or 'Mon,Wed'")
    days: set[int] = set()
    for part in value.split(","):
        first, _, last = part.strip().partition("-")
        try:
            a = DAY_NAMES.index(first)
            b = DAY_NAMES.index(last) if last else a
        except ValueError:
            raise reader.fail(
                key, f"unknown day in {value!r} (use {', '.join(DAY_NAMES)})"
            ) from None
        if b < a:
            raise reader.fail(key, f"{part!r} runs backwards")
        days.update(range(a, b + 1))
    return frozenset(days)


def _spans(reader: _Reader, key: str, value: Any) -> tuple[ChargingSpan, ...]:
    if not isinstance(value, list) or not value:
        raise reader.fail(key, "must be a non-empty list of {days, start, end}")
    spans = []
    for i, item in enumerate(value):
        k = f"{key}[{i}]"
        if not isinstance(item, dict):
            raise reader.fail(k, "must be a table {days, start, end}")
        start = _clock_minutes(reader, f"{k}.start", item.get("start"))
        end = _clock_minutes(reader, f"{k}.end", item.get("end"))
        if end <= start:
            raise reader.fail(k, "end must be after start (a span ends the same local day)")
        spans.append(ChargingSpan(_days(reader, f"{k}.days", item.get("days")), start, end))
    for day in range(7):
        todays = sorted((s.start_minute, s.end_minute) for s in spans if day in s.days)
        for (_, end), (start, _) in itertools.pairwise(todays):
            if start < end:
                raise reader.fail(key, f"spans overlap on {DAY_NAMES[day]}")
    return tuple(spans)


def parse_city(raw: dict[str, Any], file: Path) -> CityConfig:
    r = _Reader(file)
    city = r.table(raw, "city")
    city_id = r.text(city, "city.id")
    if city_id != file.stem:
        raise r.fail("city.id", f"is {city_id!r} but the file is named {file.name}")
    timezone = r.text(city, "city.timezone")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.fail("city.timezone", f"{timezone!r} is not an IANA time zone") from None
    system = r.text(city, "city.system")
    if system not in SYSTEMS:
        raise r.fail("city.system", f"{system!r} is not one of {', '.join(SYSTEMS)}")
    holidays = []
    for i, day in enumerate(city.get("holidays", [])):
        try:
            holidays.append(day if isinstance(day, date) else date.fromisoformat(str(day)))
        except ValueError:
            raise r.fail(f"city.holidays[{i}]", f"{day!r} is not a date YYYY-MM-DD") from None
    default_spans = None
    if "charging" in raw:
        charging = r.table(raw, "charging")
        default_spans = _spans(r, "charging.spans", charging.get("spans"))
    zones: dict[str, Zone] = {}
    for zone_id, zone in r.table(raw, "zones", required=False).items():
        k = f"zones.{zone_id}"
        if not isinstance(zone, dict):
            raise r.fail(k, "must be a table")
        if "charging" in zone:
            spans = _spans(r, f"{k}.charging", zone["charging"])
        elif default_spans is not None:
            spans = default_spans
        else:
            raise r.fail(f"{k}.charging", "missing, and the city has no [charging] spans")
        polygon = zone.get("polygon")
        if polygon is not None:
            if not isinstance(polygon, list) or len(polygon) < 3:
                raise r.fail(f"{k}.polygon", "must list at least 3 [lat, lon] corners")
            try:
                polygon = tuple((float(lat), float(lon)) for lat, lon in polygon)
            except (TypeError, ValueError):
                raise r.fail(f"{k}.polygon", "corners must be [lat, lon] numbers") from None
        zones[zone_id] = Zone(
            id=zone_id,
            name=r.text(zone, f"{k}.name"),
            capacity=r.optional_int(zone, f"{k}.capacity", minimum=1),
            spans=spans,
            polygon=polygon,
            streets=tuple(str(s) for s in zone.get("streets", [])),
        )
    products = {
        str(pid): _parking_product(r, str(pid), p, zones)
        for pid, p in r.table(raw, "products", required=False).items()
    }
    currency = r.text(city, "city.currency")
    return CityConfig(
        id=city_id,
        name=r.text(city, "city.name"),
        timezone=timezone,
        currency=currency,
        minor_units=r.integer(city, "city.minor_units", default=2),
        language=r.text(city, "city.language"),
        system=system,
        grace_minutes=r.integer(city, "city.grace_minutes", default=0),
        holidays=frozenset(holidays),
        carry_over_remainder=r.flag(city, "city.carry_over_remainder", False),
        zones=zones,
        products=products,
        transit=_transit(r, raw.get("transit"), currency),
        raw=raw,
        source=str(file),
    )


def _parking_product(r: _Reader, pid: str, p: Any, zones: dict[str, Zone]) -> ParkingProduct:
    k = f"products.{pid}"
    if not isinstance(p, dict):
        raise r.fail(k, "must be a table")
    zone = r.text(p, f"{k}.zone")
    if zone not in zones:
        raise r.fail(f"{k}.zone", f"{zone!r} is not a zone of this city")
    kind = r.text(p, f"{k}.kind")
    common: dict[str, Any] = {
        "id": pid,
        "name": r.text(p, f"{k}.name"),
        "zone": zone,
        "max_stay_minutes": r.optional_int(p, f"{k}.max_stay_minutes", minimum=1),
        "no_return_minutes": r.optional_int(p, f"{k}.no_return_minutes"),
        "short_code": str(p["short_code"]) if "short_code" in p else None,
    }
    if kind == "hourly":
        prices = p.get("hour_prices")
        if not isinstance(prices, list) or not prices:
            raise r.fail(f"{k}.hour_prices", "must list the price of each hour of a stay")
        for i, price in enumerate(prices):
            if isinstance(price, bool) or not isinstance(price, int) or price < 0:
                raise r.fail(
                    f"{k}.hour_prices[{i}]", f"must be an amount in minor units, not {price!r}"
                )
        return ParkingProduct(kind="hourly", hour_prices=tuple(prices), **common)
    if kind == "day":
        return ParkingProduct(kind="day", price=r.integer(p, f"{k}.price"), **common)
    if kind == "metered":
        tiers_raw = p.get("tiers")
        if not isinstance(tiers_raw, list) or not tiers_raw:
            raise r.fail(f"{k}.tiers", "must list {from_minute, to_minute?, rate} tiers")
        tiers = []
        expected = 0
        for i, t in enumerate(tiers_raw):
            tk = f"{k}.tiers[{i}]"
            if not isinstance(t, dict):
                raise r.fail(tk, "must be a table")
            start = r.integer(t, f"{tk}.from_minute")
            end = r.optional_int(t, f"{tk}.to_minute", minimum=1)
            if start != expected:
                raise r.fail(f"{tk}.from_minute", f"must be {expected} (tiers are contiguous)")
            if end is not None and end <= start:
                raise r.fail(f"{tk}.to_minute", "must be after from_minute")
            if end is None and i != len(tiers_raw) - 1:
                raise r.fail(f"{tk}.to_minute", "only the last tier may be open-ended")
            tiers.append(Tier(start, end, r.integer(t, f"{tk}.rate")))
            expected = end if end is not None else -1
        if tiers[-1].to_minute is not None:
            raise r.fail(f"{k}.tiers", "the last tier must be open-ended (no to_minute)")
        max_fee = r.optional_int(p, f"{k}.max_fee", minimum=1)
        min_fee = r.integer(p, f"{k}.min_fee", default=0)
        if max_fee is not None and max_fee < min_fee:
            raise r.fail(f"{k}.max_fee", "must not be below min_fee")
        return ParkingProduct(
            kind="metered",
            tiers=tuple(tiers),
            increment_minutes=r.integer(p, f"{k}.increment_minutes", default=1, minimum=1),
            rounding=r.integer(p, f"{k}.rounding", default=1, minimum=1),
            min_fee=min_fee,
            max_fee=max_fee,
            clamp_to_charging=r.flag(p, f"{k}.clamp_to_charging", False),
            **common,
        )
    raise r.fail(f"{k}.kind", f"{kind!r} is not hourly, day or metered")


def _transit(r: _Reader, t: Any, currency: str) -> TransitTariff:
    if t is None:
        return TransitTariff()
    if not isinstance(t, dict):
        raise r.fail("transit", "must be a table")
    categories = tuple(t.get("rider_categories", ()))
    classes = tuple(t.get("card_classes", ()))
    bands = []
    for i, b in enumerate(t.get("distance_bands", [])):
        k = f"transit.distance_bands[{i}]"
        low = r.integer(b, f"{k}.min_stops")
        high = r.optional_int(b, f"{k}.max_stops", minimum=1)
        expected = bands[-1].max_stops if bands else 0
        if low != expected:
            raise r.fail(f"{k}.min_stops", f"must be {expected} (bands are contiguous)")
        fares = b.get("fares")
        if not isinstance(fares, dict):
            raise r.fail(f"{k}.fares", "must map card class -> rider category -> amount")
        for cls in classes:
            for cat in categories:
                r.integer(fares.get(cls, {}), f"{k}.fares.{cls}.{cat}")
        bands.append(DistanceBand(low, high, {c: dict(v) for c, v in fares.items()}))
    if bands and bands[-1].max_stops is not None:
        raise r.fail("transit.distance_bands", "the last band must be open-ended (no max_stops)")
    products = {}
    for pid, p in t.get("products", {}).items():
        k = f"transit.products.{pid}"
        products[str(pid)] = TransitProduct(
            id=str(pid),
            name=r.text(p, f"{k}.name"),
            amount=r.integer(p, f"{k}.amount"),
            currency=currency,
            validity_minutes=r.integer(p, f"{k}.validity_minutes", minimum=1),
            rider_category=r.text(p, f"{k}.rider_category"),
            fare_medium=r.text(p, f"{k}.fare_medium"),
        )
    return TransitTariff(categories, classes, tuple(bands), products)
