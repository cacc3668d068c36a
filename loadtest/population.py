"""The people of a city in the load test: plates, phones, cards and accounts.

Person `i` of a city always has the same plate, phone, card and account (derived from the
city, the seed and `i`), so a repeat visitor is simply the same index drawn again. The
first `regulars` people are drawn with `repeat_share` of the arrivals, skewed so a few of
them come very often; the rest are drawn uniformly from the whole population.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

SERBIAN_LETTERS = "ABCDEFGHIJKLMNOPRSTUVZŠĐČĆŽ"  # NIS-1: Š, Đ, Č, Ć, Ž are letters of their own
LATIN_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
ENTITLEMENTS = ("normal", "local_reduced", "statutory_reduced")


@dataclass(frozen=True)
class Person:
    index: int
    plate: str  # as registered (normalised form: upper case, no spaces)
    phone: str
    card_id: str
    account_id: str
    card_class: str
    entitlement: str


class Population:
    def __init__(
        self,
        city: str,
        seed: int,
        size: int,
        regulars: int,
        repeat_share: float,
        *,
        plate_prefix: str = "XX",
        phone_prefix: str = "48",
        account_prefix: str = "acc",
        premium_share: float = 0.0,
        entitlements: dict[str, float] | None = None,
    ) -> None:
        self.city = city
        self.seed = seed
        self.size = size
        self.regulars = regulars
        self.repeat_share = repeat_share
        self.plate_prefix = plate_prefix
        self.phone_prefix = phone_prefix
        self.account_prefix = account_prefix
        self.premium_share = premium_share
        weights = entitlements or {"normal": 1.0}
        self._entitlements = list(weights)
        self._entitlement_weights = [float(weights[k]) for k in self._entitlements]
        self._cache: dict[int, Person] = {}

    def draw_index(self, rng: random.Random) -> int:
        if rng.random() < self.repeat_share:
            # Squaring a uniform skews towards index 0: some regulars park every day.
            return int(self.regulars * rng.random() ** 2)
        return rng.randrange(self.size)

    def draw(self, rng: random.Random) -> Person:
        return self.person(self.draw_index(rng))

    def person(self, index: int) -> Person:
        found = self._cache.get(index)
        if found is None:
            found = self._make(index)
            if len(self._cache) < 200_000:
                self._cache[index] = found
        return found

    def _make(self, index: int) -> Person:
        digest = hashlib.blake2b(
            f"{self.city}|{self.seed}|{index}".encode(), digest_size=16
        ).digest()
        r = random.Random(digest)
        letters = SERBIAN_LETTERS if self.plate_prefix == "NI" else LATIN_LETTERS
        # Index in the plate's digits keeps every plate of the population distinct.
        plate = f"{self.plate_prefix}{index:05d}{r.choice(letters)}{r.choice(letters)}"
        phone = f"{self.phone_prefix}{6 if self.phone_prefix == '381' else 7}{index:08d}"
        card_class = "premium" if r.random() < self.premium_share else "standard"
        entitlement = r.choices(self._entitlements, self._entitlement_weights)[0]
        return Person(
            index=index,
            plate=plate,
            phone=phone,
            card_id=f"{self.city}-card-{index:07d}",
            account_id=f"{self.account_prefix}-{index:07d}",
            card_class=card_class,
            entitlement=entitlement,
        )

    def stranger_plate(self, rng: random.Random) -> str:
        """A plate nobody in this population has (a miss for an officer's check)."""
        return f"{self.plate_prefix}Q{rng.randrange(10**6):06d}"
