"""Fluxnode start and confirm transactions (versions 5 and 6, explorer.md §4.6), served by
`/explorer/fluxtxs/:filter` in the shape the pre-2024 explorer gave them.

The collateral's owner address and amount come from the explorer's own output index (the
collateral output is a normal output of an earlier transaction); when the collateral
predates the index, from an earlier fluxnode transaction with the same collateral.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fluxos.errors import BadParameter
from fluxos.explorer.blocks import ChainTx

FLUXNODE_VERSIONS = (5, 6)
FILTER_RULE = "It is possible to only filter via IP address, Flux address and Collateral hash."


@dataclass(frozen=True, slots=True)
class FluxnodeTxRecord:
    txid: str
    version: int
    type: str
    height: int
    collateral_hash: str
    collateral_index: int
    ip: str | None = None
    update_type: int | None = None
    benchmark_tier: str | None = None
    address: str | None = None  # the collateral's owner
    locked_amount: int | None = None  # the collateral in satoshis
    position: int = 0

    def to_api(self) -> dict[str, Any]:
        """Upstream's document: camelCase keys, `fluxAddress` mirroring `zelAddress`."""
        return {
            "txid": self.txid,
            "version": self.version,
            "type": self.type,
            "updateType": self.update_type,
            "ip": self.ip,
            "benchTier": self.benchmark_tier,
            "collateralHash": self.collateral_hash,
            "collateralIndex": self.collateral_index,
            "zelAddress": self.address,
            "fluxAddress": self.address,
            "lockedAmount": self.locked_amount,
            "height": self.height,
        }


def recognise_fluxnode_tx(tx: ChainTx, height: int) -> FluxnodeTxRecord | None:
    """The record of a fluxnode transaction, without the collateral owner (filled later)."""
    fields = tx.fluxnode
    if fields is None or tx.version not in FLUXNODE_VERSIONS:
        return None
    return FluxnodeTxRecord(
        txid=tx.txid,
        version=tx.version,
        type=fields.type,
        height=height,
        collateral_hash=fields.collateral_hash,
        collateral_index=fields.collateral_index,
        ip=fields.ip,
        update_type=fields.update_type,
        benchmark_tier=fields.benchmark_tier,
        position=tx.position,
    )


def filter_field(value: str | None) -> str:
    """Which field `/explorer/fluxtxs/:filter` matches: "ip", "collateral" or "address"."""
    if not value:
        raise BadParameter("No filter provided")
    if "." in value:
        return "ip"
    if len(value) == 64:
        return "collateral"
    if 30 <= len(value) < 38:
        return "address"
    raise BadParameter(FILTER_RULE)
