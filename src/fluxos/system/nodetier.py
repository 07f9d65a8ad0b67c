"""This node's tier, from its fluxnode collateral (spec daemon.md §6, system.md §2).

fluxd's `getfluxnodestatus` names the collateral as `COutPoint(<txid>, <n>)`; the amount
of that output decides the tier. Legacy collaterals (10,000 / 25,000 / 100,000 FLUX) map to
`cumulus` / `nimbus` / `stratus`, current ones (1,000 / 12,500 / 40,000) to the `_new`
names. The answer is kept for the life of the process, as upstream does, once known.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol

import psutil

from fluxos.errors import FluxError
from fluxos.identity.gates import HardwareFacts

log = logging.getLogger(__name__)

_OUTPOINT = re.compile(r"COutPoint\(([0-9a-fA-F]{64}),\s*(\d+)\)")

# collateral FLUX → (upstream's internal tier name, /flux/nodetier answer)
TIERS: dict[int, tuple[str, str]] = {
    10_000: ("basic", "cumulus"),
    25_000: ("super", "nimbus"),
    100_000: ("bamf", "stratus"),
    1_000: ("basic", "cumulus_new"),
    12_500: ("super", "nimbus_new"),
    40_000: ("bamf", "stratus_new"),
}


class _Fluxd(Protocol):
    async def call(self, method: str, *params: Any, use_cache: bool = True) -> Any: ...


@dataclass(frozen=True)
class Collateral:
    txid: str
    index: int
    amount: int  # whole FLUX

    @property
    def tier(self) -> str:
        return TIERS[self.amount][1]

    @property
    def internal_tier(self) -> str:
        return TIERS[self.amount][0]


class NodeTier:
    """Looks the node's collateral up through fluxd and remembers it."""

    def __init__(self, fluxd: _Fluxd) -> None:
        self.fluxd = fluxd
        self._collateral: Collateral | None = None
        self._regtest: bool | None = None

    async def on_regtest(self) -> bool:
        """Whether fluxd runs a regtest chain (a devnet), where no tier is real."""
        if self._regtest is None:
            info = await self.fluxd.call("getblockchaininfo")
            self._regtest = isinstance(info, dict) and info.get("chain") == "regtest"
            if self._regtest:
                log.info("fluxd runs a regtest chain: its fluxnode tier asks nothing of the host")
        return self._regtest

    async def collateral(self) -> Collateral:
        """The collateral; FluxError `Unrecognised Flux Node tier` when it is not a tier's."""
        if self._collateral is not None:
            return self._collateral
        status = await self.fluxd.call("getfluxnodestatus", use_cache=False)
        match = (
            _OUTPOINT.search(str(status.get("collateral", "")))
            if isinstance(status, dict)
            else None
        )
        if match is None:
            raise FluxError("Unrecognised Flux Node tier")
        txid, index = match.group(1), int(match.group(2))
        transaction = await self.fluxd.call("getrawtransaction", txid, 1)
        outputs = transaction.get("vout", []) if isinstance(transaction, dict) else []
        value = outputs[index].get("value") if index < len(outputs) else None
        if not isinstance(value, int | float) or int(value) != value or int(value) not in TIERS:
            raise FluxError("Unrecognised Flux node tier")
        self._collateral = Collateral(txid, index, int(value))
        return self._collateral


class HostHardware:
    """The hardware login gate's facts: this machine's RAM and threads and the node's tier.

    On a regtest chain (the devnet) there is no real tier to live up to, so the facts carry
    none and the gate passes, whatever collateral the devnet's fluxnode holds. A tier that
    can't be looked up (fluxd down, no collateral yet) asks nothing either, as upstream.
    """

    def __init__(self, tier: NodeTier) -> None:
        self.tier = tier

    async def hardware(self) -> HardwareFacts:
        ram_gib = psutil.virtual_memory().total / 1024**3
        threads = psutil.cpu_count(logical=True) or 1
        unknown = HardwareFacts(tier=None, collateral=None, ram_gib=ram_gib, cpu_threads=threads)
        try:
            if await self.tier.on_regtest():
                return unknown
            collateral = await self.tier.collateral()
        except Exception as error:  # as upstream: a tier that can't be looked up asks nothing
            log.warning("node tier unknown, hardware not checked against it: %s", error)
            return unknown
        return HardwareFacts(
            tier=collateral.internal_tier,
            collateral=collateral.amount,
            ram_gib=ram_gib,
            cpu_threads=threads,
        )
