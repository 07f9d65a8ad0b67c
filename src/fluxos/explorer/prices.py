"""App price forks by height: the built-in Flux table plus the foundation's on-chain `p_`
messages. The explorer needs the minimum price to recognise app payments; the apps
registry reads the full entries to price specifications.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

SATOSHIS_PER_FLUX = 1e8  # a float on purpose: upstream compares value >= minPrice * 1e8


@dataclass(frozen=True, slots=True)
class PriceFork:
    """Prices in force for heights strictly above `height`."""

    height: int
    cpu: float
    ram: float
    hdd: float
    min_price: float
    port: float = 2
    scope: float = 6
    staticip: float = 3


# upstream config.fluxapps.price (apps.md §5.1)
FLUX_PRICE_TABLE: tuple[PriceFork, ...] = (
    PriceFork(-1, cpu=3, ram=1, hdd=0.5, min_price=1, port=2, scope=6, staticip=3),
    PriceFork(983_000, cpu=0.3, ram=0.1, hdd=0.05, min_price=0.1, port=2, scope=6, staticip=3),
    PriceFork(1_004_000, cpu=0.06, ram=0.02, hdd=0.01, min_price=0.01, port=2, scope=6, staticip=3),
    PriceFork(1_288_000, cpu=0.15, ram=0.05, hdd=0.02, min_price=0.01, port=2, scope=6, staticip=3),
    PriceFork(
        1_594_832, cpu=0.15, ram=0.05, hdd=0.02, min_price=0.01, port=1.5, scope=6, staticip=3
    ),
    PriceFork(
        1_597_156, cpu=0.03, ram=0.01, hdd=0.004, min_price=0.01, port=0.4, scope=0.8, staticip=0.4
    ),
)


class PriceSchedule:
    """The ordered price forks; `at(height)` is the one in force at a block height.

    Ties keep insertion order (the table first, then chain messages in chain order), as
    upstream's stable sort does, and the last fork strictly below the height wins.
    """

    def __init__(self, forks: Iterable[PriceFork] = FLUX_PRICE_TABLE) -> None:
        self._forks: list[PriceFork] = []
        self._heights: list[int] = []
        for fork in forks:
            self.add(fork)

    def add(self, fork: PriceFork) -> None:
        index = bisect.bisect_right(self._heights, fork.height)
        self._heights.insert(index, fork.height)
        self._forks.insert(index, fork)

    def copy(self) -> PriceSchedule:
        twin = PriceSchedule(())
        twin._forks = list(self._forks)
        twin._heights = list(self._heights)
        return twin

    def at(self, height: int) -> PriceFork | None:
        index = bisect.bisect_left(self._heights, height)
        return self._forks[index - 1] if index else None

    def forks(self) -> list[PriceFork]:
        return list(self._forks)
