"""Consensus parameters of Flux apps: activation heights, limits, ports and price tables.

Values mirror the `fluxapps`, `fluxSpecifics` and `lockedSystemResources` sections of
upstream's `ZelBack/config/default.js`; `DEVELOPMENT` is its development-mode variant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class PriceEntry:
    """One row of a price table; it applies to heights strictly above `height`."""

    height: int
    cpu: float  # per 0.1 core
    ram: float  # per 100 MB
    hdd: float  # per GB
    min_price: float
    port: float = 2  # per enterprise port
    scope: float = 6  # apps targeting nodes or enterprise apps
    staticip: float = 3
    # USD table only:
    flux_multiplier: float | None = None
    multiplier: float | None = None
    min_usd_price: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The entry with upstream's field names, as `/apps/deploymentinformation` shows it."""
        data: dict[str, Any] = {
            "height": self.height,
            "cpu": self.cpu,
            "ram": self.ram,
            "hdd": self.hdd,
            "minPrice": self.min_price,
            "port": self.port,
            "scope": self.scope,
            "staticip": self.staticip,
        }
        if self.flux_multiplier is not None:
            data["fluxmultiplier"] = self.flux_multiplier
        if self.multiplier is not None:
            data["multiplier"] = self.multiplier
        if self.min_usd_price is not None:
            data["minUSDPrice"] = self.min_usd_price
        return data


def price_entry_at(table: Sequence[PriceEntry], height: int) -> PriceEntry:
    """The entry in force at `height`: the last one whose height is strictly below it."""
    found = None
    for entry in table:
        if entry.height < height:
            found = entry
    if found is None:
        raise ValueError(f"no price entry applies at height {height}")
    return found


@dataclass(frozen=True)
class TeamSupportAddress:
    height: int
    address: str


@dataclass(frozen=True)
class Capacity:
    """Hardware of one node tier (cpu in tenths of a core, ram in MB, hdd in GB)."""

    cpu: int
    ram: int
    hdd: int


@dataclass(frozen=True)
class AppParams:
    """Everything height-gated or limited in app specifications, as one immutable value."""

    spec_enforcement_heights: Mapping[int, int]
    latest_spec_version: int = 8
    port_block_height_change: int = 1_420_000
    port_min: int = 1
    port_max: int = 65535
    port_min_legacy: int = 31000
    port_max_legacy: int = 39999
    banned_ports: tuple[str | int, ...] = (
        "16100-16299", "26100-26299", "30000-30099", 8384, 27017, 22, 23, 25, 3389,
        5900, 5800, 161, 512, 513, 5901, 3388, 4444, 123, 53,
    )  # fmt: skip
    enterprise_ports: tuple[str | int, ...] = ("0-1023", 8080, 8081, 8443, 6667)
    max_image_size: int = 5_000_000_000
    minimum_instances: int = 3
    minimum_instances_v8: int = 1
    minimum_instances_v8_block: int = 2_176_519
    maximum_instances: int = 100
    blocks_lasting: int = 22_000
    min_blocks_allowance: int = 5000
    new_min_blocks_allowance: int = 100
    new_min_blocks_allowance_block: int = 1_630_040
    cancel1_min_blocks_allowance: int = 1
    cancel1_min_blocks_allowance_block: int = 1_964_447
    max_blocks_allowance: int = 264_000
    post_pon_max_blocks_allowance: int = 1_056_000
    daemon_pon_fork: int = 2_020_000
    blocks_allowance_interval: int = 1000
    remove_blocks_allowance_interval_block: int = 1_625_000
    apply_minimum_price_on_3_instances: int = 1_691_000
    apply_minimum_for_extra_instances: int = 1_890_000
    max_components_before_v6: int = 5
    max_components: int = 10
    flux_usd_rate: float = 0.6
    price: tuple[PriceEntry, ...] = ()
    usd_price: PriceEntry = field(
        default_factory=lambda: PriceEntry(
            height=-1,
            cpu=0.15,
            ram=0.05,
            hdd=0.02,
            min_price=0.01,
            port=2,
            scope=4,
            staticip=2,
            flux_multiplier=0.95,
            multiplier=1,
            min_usd_price=0.99,
        )
    )
    team_support_addresses: tuple[TeamSupportAddress, ...] = (
        TeamSupportAddress(1_851_659, "16iJqiVbHptCx87q6XQwNpKdgEZnFtKcyP"),
    )
    users_to_extend: tuple[str, ...] = ("1MCBJn6qsy3YRY2YasdYMYdJcdhy1ev8Rd",)
    address: str = "t1LUs6quf7TB2zVZmexqPQdnqmrFMGZGjV6"
    address_multisig: str = "t3aGJvdtd8NR6GrnqnRuVEzH6MbrXuJFLUX"
    address_multisig_b: str = "t3NryfAQLGeFs9jEoeqsxmBN2QLRaRKFLUX"
    multisig_address_change: int = 1_670_000
    # Signatures of app messages newer than this (ms) may also be Ethereum signatures.
    eth_signatures_from_timestamp: int = 1_688_947_200_000
    stratus: Capacity = Capacity(cpu=160, ram=61000, hdd=880)
    nimbus: Capacity = Capacity(cpu=80, ram=30000, hdd=440)
    cumulus: Capacity = Capacity(cpu=40, ram=7000, hdd=220)
    locked: Capacity = Capacity(cpu=10, ram=2000, hdd=60)

    def activation_height(self, version: int | float) -> int | None:
        """Height from which spec `version` is accepted, None for unknown versions."""
        if version in self.spec_enforcement_heights:
            return self.spec_enforcement_heights[int(version)]
        return None

    def default_expire(self, height: float) -> int:
        """Blocks in one paid "month": 4x more after the PON fork's faster blocks."""
        return self.blocks_lasting * (4 if height >= self.daemon_pon_fork else 1)

    def pon_adjusted_expire(self, height: float, expire: float) -> float:
        """Blocks an app registered at `height` lives: the part after the PON fork counts 4x."""
        end = height + expire
        if height < self.daemon_pon_fork < end:
            return self.daemon_pon_fork + (end - self.daemon_pon_fork) * 4 - height
        return expire

    def elapsed_blocks(self, since: float, height: float) -> float:
        """Blocks from `since` to `height` in pre-PON units (upstream's price credit rule)."""
        if since < self.daemon_pon_fork <= height:
            return (self.daemon_pon_fork - since) + (height - self.daemon_pon_fork) * 4
        return height - since

    def usd_table(self) -> tuple[PriceEntry, ...]:
        return (self.usd_price,)

    def latest_fork_height(self) -> int:
        """The highest height at which any rule of this module changes."""
        return max(
            *self.spec_enforcement_heights.values(),
            self.port_block_height_change,
            self.minimum_instances_v8_block,
            self.cancel1_min_blocks_allowance_block,
            self.daemon_pon_fork,
            self.apply_minimum_for_extra_instances,
            *(entry.height for entry in self.price),
        )

    def payment_address(self, height: int) -> str:
        """Where app payments go at `height` (older addresses keep counting on chain)."""
        if height >= self.multisig_address_change:
            return self.address_multisig_b
        if height >= self.spec_enforcement_heights[6]:
            return self.address_multisig
        return self.address

    def deployment_information(
        self, height: int, price_table: Sequence[PriceEntry] | None = None
    ) -> dict[str, Any]:
        """The `/apps/deploymentinformation` data at `height`; `price_table` adds chain forks."""
        table = self.price if price_table is None else price_table
        return {
            "price": [entry.to_json() for entry in table],
            "appSpecsEnforcementHeights": {
                str(version): h for version, h in self.spec_enforcement_heights.items()
            },
            "address": self.payment_address(height),
            "portMin": self.port_min,
            "portMax": self.port_max,
            "enterprisePorts": list(self.enterprise_ports),
            "bannedPorts": list(self.banned_ports),
            "maxImageSize": self.max_image_size,
            "minimumInstances": self.minimum_instances,
            "maximumInstances": self.maximum_instances,
            "blocksLasting": self.blocks_lasting,
            "minBlocksAllowance": self.min_blocks_allowance,
            "maxBlocksAllowance": self.post_pon_max_blocks_allowance
            if height >= self.daemon_pon_fork
            else self.max_blocks_allowance,
            "blocksAllowanceInterval": self.blocks_allowance_interval,
        }

    def registration_information(self) -> dict[str, Any]:
        """`/apps/registrationinformation`: upstream's `config.fluxapps` as far as it rules
        app specs and payments, under upstream's names and in its order."""
        return {
            "latestSupportedSpecVersion": self.latest_spec_version,
            "price": [entry.to_json() for entry in self.price],
            "fluxUSDRate": self.flux_usd_rate,
            "usdprice": self.usd_price.to_json(),
            "teamSupportAddress": [
                {"height": entry.height, "address": entry.address}
                for entry in self.team_support_addresses
            ],
            "usersToExtend": list(self.users_to_extend),
            "appSpecsEnforcementHeights": {
                str(version): h for version, h in self.spec_enforcement_heights.items()
            },
            "address": self.address,
            "addressMultisig": self.address_multisig,
            "addressMultisigB": self.address_multisig_b,
            "multisigAddressChange": self.multisig_address_change,
            "portMinLegacy": self.port_min_legacy,
            "portMaxLegacy": self.port_max_legacy,
            "portBlockheightChange": self.port_block_height_change,
            "portMin": self.port_min,
            "portMax": self.port_max,
            "bannedPorts": list(self.banned_ports),
            "enterprisePorts": list(self.enterprise_ports),
            "maxImageSize": self.max_image_size,
            "minimumInstances": self.minimum_instances,
            "minimumInstancesV8": self.minimum_instances_v8,
            "minimumInstancesV8Block": self.minimum_instances_v8_block,
            "maximumInstances": self.maximum_instances,
            "blocksLasting": self.blocks_lasting,
            "minBlocksAllowance": self.min_blocks_allowance,
            "newMinBlocksAllowance": self.new_min_blocks_allowance,
            "newMinBlocksAllowanceBlock": self.new_min_blocks_allowance_block,
            "cancel1BlockMinBlocksAllowance": self.cancel1_min_blocks_allowance,
            "cancel1BlockMinBlocksAllowanceBlock": self.cancel1_min_blocks_allowance_block,
            "maxBlocksAllowance": self.max_blocks_allowance,
            "postPonMaxBlocksAllowance": self.post_pon_max_blocks_allowance,
            "daemonPONFork": self.daemon_pon_fork,
            "blocksAllowanceInterval": self.blocks_allowance_interval,
            "removeBlocksAllowanceIntervalBlock": self.remove_blocks_allowance_interval_block,
            "applyMinimumPriceOn3Instances": self.apply_minimum_price_on_3_instances,
            "applyMinimumForExtraInstances": self.apply_minimum_for_extra_instances,
            "latestAppSpecification": self.latest_spec_version,
        }


_FLUX_PRICE_TABLE = (
    #          height     cpu   ram   hdd    minPrice port scope staticip
    PriceEntry(-1,        3,    1,    0.5,   1,       2,   6,    3),
    PriceEntry(983_000,   0.3,  0.1,  0.05,  0.1,     2,   6,    3),
    PriceEntry(1_004_000, 0.06, 0.02, 0.01,  0.01,    2,   6,    3),
    PriceEntry(1_288_000, 0.15, 0.05, 0.02,  0.01,    2,   6,    3),
    PriceEntry(1_594_832, 0.15, 0.05, 0.02,  0.01,    1.5, 6,    3),
    PriceEntry(1_597_156, 0.03, 0.01, 0.004, 0.01,    0.4, 0.8,  0.4),
)  # fmt: skip

_MAINNET_HEIGHTS = {1: 0, 2: 0, 3: 983_000, 4: 1_004_000, 5: 1_142_000, 6: 1_300_000}
_MAINNET_HEIGHTS.update({7: 1_420_000, 8: 1_932_380})

MAINNET = AppParams(
    spec_enforcement_heights=MappingProxyType(_MAINNET_HEIGHTS),
    price=_FLUX_PRICE_TABLE,
)

DEVELOPMENT = replace(
    MAINNET,
    spec_enforcement_heights=MappingProxyType(
        {**MAINNET.spec_enforcement_heights, 7: 1_390_000, 8: 1_921_500}
    ),
    port_block_height_change=1_390_000,
)
