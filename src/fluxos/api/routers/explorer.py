"""The "Explorer" section: address indexes, scan state and the operator's controls."""

from __future__ import annotations

from typing import Any

from fluxos.api.envelope import Message
from fluxos.api.routing import Call, FluxRouter
from fluxos.errors import FluxError
from fluxos.explorer.service import Explorer
from fluxos.wire.permissions import Permission

router = FluxRouter("Explorer", lambda node: node.explorer)
ExplorerCall = Call[Explorer]


@router.get("/explorer/utxo/:address?")
async def utxo(call: ExplorerCall) -> list[dict[str, Any]]:
    """Unspent outputs of an address."""
    return await call.service.utxos(call.text("address"))


@router.get("/explorer/transactions/:address?")
async def transactions(call: ExplorerCall) -> list[dict[str, str]]:
    """Transactions of an address, newest first."""
    return await call.service.transactions(call.text("address"))


@router.get("/explorer/balance/:address?")
async def balance(call: ExplorerCall) -> int:
    """Balance of an address in satoshis."""
    return await call.service.balance(call.text("address"))


@router.get("/explorer/scannedheight")
async def scanned_height(call: ExplorerCall) -> dict[str, int]:
    """The last block height the explorer has indexed."""
    return await call.service.scanned_height()


@router.get("/explorer/issynced")
async def is_synced(call: ExplorerCall) -> bool:
    """Whether the last indexed block is the daemon's tip."""
    return call.service.synced


@router.get("/explorer/fluxtxs/:filter?", permission=Permission.PUBLIC)
async def flux_txs(call: ExplorerCall) -> list[dict[str, Any]]:
    """FluxNode transactions filtered by IP address, Flux address or collateral hash."""
    return await call.service.fluxnode_txs(call.text("filter"))


@router.get("/explorer/fusion/coinbase/:address?")
async def fusion_coinbase(call: ExplorerCall) -> None:
    """Deprecated upstream; answers as an insight node does."""
    raise FluxError("Data unavailable. Deprecated")


@router.get("/explorer/stop")
async def stop(call: ExplorerCall) -> Message:
    """Stop block processing until restarted."""
    await call.service.stop()
    return Message("Block processing is stopped")


@router.get("/explorer/restart")
async def restart(call: ExplorerCall) -> Message:
    """Restart block processing from the scanned height."""
    await call.service.restart()
    return Message("Block processing initiated")


@router.get("/explorer/reindex/:reindexapps?")
async def reindex(call: ExplorerCall) -> Message:
    """Drop the explorer indexes and rebuild them from the start."""
    # upstream's query fallback reads `rescanapps`; accept both names
    reindex_apps = call.boolean("reindexapps")
    if reindex_apps is None:
        reindex_apps = call.boolean("rescanapps", default=False)
    await call.service.reindex(bool(reindex_apps))
    return Message("Explorer database reindex initiated")


@router.get("/explorer/rescan/:blockheight?/:rescanapps?")
async def rescan(call: ExplorerCall) -> Message:
    """Forget blocks above a height and index them again."""
    explorer = call.service
    raw = call.text("blockheight")
    if raw is None or raw.strip() == "0":
        raise FluxError("No blockheight provided")
    height = call.integer("blockheight")
    assert height is not None
    await explorer.rescan(height, bool(call.boolean("rescanapps", default=False)))
    return Message(f"Explorer rescan from blockheight {height} initiated")
