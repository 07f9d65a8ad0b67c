"""The network's view of fluxd: the three calls it needs, over the node's fluxd client."""

from __future__ import annotations

from typing import Any, Protocol


class _Fluxd(Protocol):
    async def call(self, method: str, *params: Any, use_cache: bool = True) -> Any: ...


class FluxdNodeSource:
    """`NodeListSource` over fluxd's JSON-RPC. Never cached: peer checks need the live list."""

    def __init__(self, fluxd: _Fluxd) -> None:
        self.fluxd = fluxd

    async def deterministic_list(self) -> list[dict[str, Any]]:
        result = await self.fluxd.call("viewdeterministicfluxnodelist", use_cache=False)
        return (
            [entry for entry in result if isinstance(entry, dict)]
            if isinstance(result, list)
            else []
        )

    async def node_status(self) -> dict[str, Any]:
        result = await self.fluxd.call("getfluxnodestatus", use_cache=False)
        return result if isinstance(result, dict) else {}

    async def block_height(self) -> int:
        return int(await self.fluxd.call("getblockcount", use_cache=False))
