"""Fluxnode tiers, their hardware thresholds, and the decision a benchmark leads to.

fluxbenchd is closed source; the thresholds are the published minimums (daemon.md §4.6)
and are configuration, so an operator can tighten or relax them without a code change.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fluxos.errors import BadParameter


class Tier(enum.IntEnum):
    """A fluxnode tier; the value is the tier id written into confirm transactions."""

    CUMULUS = 1
    NIMBUS = 2
    STRATUS = 3

    @classmethod
    def parse(cls, text: str, *, parameter: str = "tier") -> Tier:
        """The tier named `text` (any case; legacy basic/super/bamf accepted)."""
        key = text.strip().upper()
        legacy = {"BASIC": "CUMULUS", "SUPER": "NIMBUS", "BAMF": "STRATUS"}
        key = legacy.get(key, key)
        try:
            return cls[key]
        except KeyError:
            names = ", ".join(t.name.lower() for t in cls)
            raise BadParameter(f"{parameter} must be one of {names}, got {text!r}") from None


# Non-tier values of getbenchmarks `status` / getstatus `benchmarking`; FluxOS treats
# anything outside the three tier names as "no valid benchmark".
STATUS_RUNNING = "running"
STATUS_FAILED = "failed"


@dataclass(frozen=True)
class TierThresholds:
    """The minimum a machine must show for one tier. Units are those of the bench result.

    `ram_gb` is in GiB as the machine reports it (MemTotal), which is below the nominal
    size because the kernel and firmware reserve some: a nominal 8 GB machine shows about
    7.6-7.8. The defaults follow the passing samples of upstream's harness (7.5/31/62).
    `storage_gb` is decimal GB of the data directory's filesystem, as disks are sold.
    """

    cores: int  # physical cores
    threads: int  # logical CPUs
    ram_gb: float
    storage_gb: float
    eps: float  # multi-thread CPU events per second
    write_mb_s: float  # disk write speed, MB/s

    def __post_init__(self) -> None:
        for name in ("cores", "threads", "ram_gb", "storage_gb", "eps", "write_mb_s"):
            value = getattr(self, name)
            if value < 0:
                raise BadParameter(f"threshold {name} must be >= 0, got {value}")


def default_thresholds() -> dict[Tier, TierThresholds]:
    """The published minimums per tier (daemon.md §4.6)."""
    return {
        Tier.CUMULUS: TierThresholds(
            cores=2, threads=4, ram_gb=7.5, storage_gb=220, eps=240, write_mb_s=180
        ),
        Tier.NIMBUS: TierThresholds(
            cores=4, threads=8, ram_gb=31, storage_gb=440, eps=640, write_mb_s=180
        ),
        Tier.STRATUS: TierThresholds(
            cores=8, threads=16, ram_gb=62, storage_gb=880, eps=1520, write_mb_s=400
        ),
    }


@dataclass(frozen=True)
class Capacity:
    """The measured figures a tier decision looks at."""

    cores: int
    threads: int
    ram_gb: float
    storage_gb: float
    eps: float
    write_mb_s: float


@dataclass(frozen=True)
class Shortfall:
    """One threshold a machine missed."""

    metric: str
    measured: float
    required: float

    def describe(self) -> str:
        short = self.required - self.measured
        return (
            f"{self.metric} {_number(self.measured)} < {_number(self.required)} "
            f"(short by {_number(short)})"
        )


@dataclass(frozen=True)
class TierDecision:
    """The outcome of a benchmark: a tier, or a non-tier status with the reason.

    `measured_tier` is what the figures alone earn; `tier` may differ when the operator
    forced one (`assumed`), which devnets on small machines need.
    """

    tier: Tier | None
    measured_tier: Tier | None
    assumed: bool = False
    shortfalls: Sequence[Shortfall] = field(default_factory=tuple)

    @property
    def status(self) -> str:
        """getbenchmarks `status`: the tier name, or `failed`."""
        return self.tier.name if self.tier is not None else STATUS_FAILED

    @property
    def error(self) -> str | None:
        """Why the machine earns no tier, naming each threshold missed; None if it passed."""
        if self.measured_tier is not None or not self.shortfalls:
            return None
        missed = "; ".join(s.describe() for s in self.shortfalls)
        return f"below {Tier.CUMULUS.name} minimum: {missed}"

    @property
    def note(self) -> str | None:
        """A sentence saying the tier was forced, for the result and the logs."""
        if not self.assumed or self.tier is None:
            return None
        measured = self.measured_tier.name if self.measured_tier else STATUS_FAILED
        why = f" ({self.error})" if self.error else ""
        return f"tier {self.tier.name} assumed by configuration; measured: {measured}{why}"


def shortfalls(capacity: Capacity, minimum: TierThresholds) -> list[Shortfall]:
    """Every threshold of `minimum` that `capacity` misses, in a fixed order."""
    checks = (
        ("cores", capacity.cores, minimum.cores),
        ("threads", capacity.threads, minimum.threads),
        ("ram", capacity.ram_gb, minimum.ram_gb),
        ("storage", capacity.storage_gb, minimum.storage_gb),
        ("eps", capacity.eps, minimum.eps),
        ("ddwrite", capacity.write_mb_s, minimum.write_mb_s),
    )
    return [
        Shortfall(metric, float(measured), float(required))
        for metric, measured, required in checks
        if measured < required
    ]


def decide_tier(
    capacity: Capacity,
    thresholds: Mapping[Tier, TierThresholds] | None = None,
    *,
    assume: Tier | None = None,
) -> TierDecision:
    """The highest tier whose every threshold `capacity` meets, or `failed` with the reasons.

    With `assume`, that tier is reported whatever the figures say (and flagged as assumed).
    """
    table = dict(thresholds) if thresholds is not None else default_thresholds()
    earned: Tier | None = None
    for tier in sorted(table):
        if not shortfalls(capacity, table[tier]):
            earned = tier
    missed: list[Shortfall] = []
    if earned is None and Tier.CUMULUS in table:
        missed = shortfalls(capacity, table[Tier.CUMULUS])
    if assume is not None:
        return TierDecision(tier=assume, measured_tier=earned, assumed=True, shortfalls=missed)
    return TierDecision(tier=earned, measured_tier=earned, shortfalls=missed)


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")
