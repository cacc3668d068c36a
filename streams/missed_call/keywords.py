"""What an SMS to the service number asks for (HKR-1, HKR-4, HKR-5, HKR-8).

Keywords are compared case-insensitively with runs of spaces collapsed and the ends
trimmed (HKR-1 decision), so "ano  hkr " confirms like "ANO HKR".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

CommandKind = Literal["confirm", "stop", "help", "order", "unknown"]


@dataclass(frozen=True)
class Command:
    kind: CommandKind
    product: str | None = None  # for "order": the product id (the number it stands for)


def normalise_keyword(text: str) -> str:
    return " ".join(text.split()).upper()


@dataclass(frozen=True)
class Keywords:
    confirm: str
    stop: str
    help: str
    orders: Mapping[str, str]  # normalised keyword -> product id (HKR-8)

    @classmethod
    def of(cls, confirm: str, stop: str, help_: str, orders: Mapping[str, str]) -> Keywords:
        normalised = {normalise_keyword(k): str(p) for k, p in orders.items()}
        fixed = [normalise_keyword(k) for k in (confirm, stop, help_)]
        clash = sorted(set(fixed) & set(normalised))
        if len(set(fixed)) != 3 or clash or len(normalised) != len(orders):
            raise ValueError(f"SMS keywords must be distinct (clash: {clash or fixed})")
        return cls(*fixed, orders=normalised)

    def parse(self, text: str) -> Command:
        word = normalise_keyword(text)
        if word == self.confirm:
            return Command("confirm")
        if word == self.stop:
            return Command("stop")
        if word == self.help:
            return Command("help")
        if word in self.orders:
            return Command("order", self.orders[word])
        return Command("unknown")
