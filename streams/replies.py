"""Reply texts from per-city templates: the city's language first, English as fallback.

Templates live in the city's config (`config/cities/<city>.replies.toml`, merged into
`CityConfig.raw` by `tariff_kernel.load_city`) as `[replies.<language>]` tables of
`key = "text with {placeholders}"`. Money is shown in major units of the city's currency
and times in the city's local time, so a driver reads the clock they see on the street.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

FALLBACK_LANGUAGE = "en"


class MissingTemplates(ValueError):
    """A city's config lacks reply templates its system needs (checked at worker start)."""


class Replies:
    """The reply templates and formats of one city."""

    def __init__(
        self,
        city_id: str,
        raw: Mapping[str, Any],
        language: str,
        timezone: str,
        currency: str,
        minor_units: int,
    ) -> None:
        self.city_id = city_id
        tables = raw.get("replies", {})
        self.language = language
        self.templates: dict[str, str] = dict(tables.get(FALLBACK_LANGUAGE, {}))
        self.templates.update(tables.get(language, {}))
        fmt = raw.get("reply_format", {})
        self.time_format = str(fmt.get("time", "%d.%m.%Y %H:%M"))
        self.decimal_separator = str(fmt.get("decimal_separator", "."))
        self.zone = ZoneInfo(timezone)
        self.currency = currency
        self.minor_units = minor_units

    @classmethod
    def of(cls, city: Any) -> Replies:
        """From a tariff_kernel CityConfig."""
        return cls(city.id, city.raw, city.language, city.timezone, city.currency, city.minor_units)

    def require(self, keys: Iterable[str]) -> None:
        missing = sorted(k for k in keys if k not in self.templates)
        if missing:
            raise MissingTemplates(f"city {self.city_id!r} has no reply templates {missing}")

    def money(self, amount: int) -> str:
        if self.minor_units == 0:
            return f"{amount} {self.currency}"
        major, minor = divmod(amount, 10**self.minor_units)
        if minor == 0:
            return f"{major} {self.currency}"
        return f"{major}{self.decimal_separator}{minor:0{self.minor_units}d} {self.currency}"

    def time(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime(self.time_format)

    def render(self, key: str, **values: Any) -> str:
        """Fill template `key`; datetimes become local time, `amount*` integers money."""
        shown = {}
        for name, value in values.items():
            if isinstance(value, datetime):
                shown[name] = self.time(value)
            elif name.startswith("amount") and isinstance(value, int):
                shown[name] = self.money(value)
            else:
                shown[name] = value
        return self.templates[key].format(**shown)
