"""Where blocks come from: any fluxd-style JSON-RPC client that can send batches.

`JsonRpcClient` satisfies `ChainRpc` as it is, and so does the node's fluxd client. Every
call goes through `batch`, which no client caches: the tip and the hashes must be fluxd's
answer now. Blocks are fetched by height in one request per run of blocks, raw (we decode
the bytes) or verbose (fluxd renders every transaction as JSON).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Protocol

from fluxos.explorer.blocks import ChainBlock, block_from_json, block_from_raw
from fluxos.jsonrpc import RpcError

log = logging.getLogger(__name__)

# fluxd's answer for a height above its tip ("Block height out of range")
INVALID_PARAMETER = -8


class ChainRpc(Protocol):
    """The part of a fluxd client the explorer uses: results or `RpcError` instances."""

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]: ...


class BlockFormat(StrEnum):
    RAW = "raw"  # getblock <h> 0, decoded here; verbose for any run we cannot decode
    VERBOSE = "verbose"  # getblock <h> 2


class BlockFetcher:
    """Fetches runs of blocks by height and turns them into `ChainBlock`s."""

    def __init__(self, rpc: ChainRpc, block_format: BlockFormat = BlockFormat.RAW) -> None:
        self.rpc = rpc
        self.format = block_format

    async def tip(self) -> int:
        (reply,) = await self.rpc.batch([("getblockcount", [])])
        if isinstance(reply, RpcError):
            raise reply
        return int(reply)

    async def block_hashes(self, heights: Sequence[int]) -> list[str | None]:
        """Active-chain hashes at `heights`; None where fluxd has no block (above its tip)."""
        replies = await self.rpc.batch([("getblockhash", [h]) for h in heights])
        hashes: list[str | None] = []
        for reply in replies:
            if isinstance(reply, RpcError):
                if reply.code != INVALID_PARAMETER:
                    raise reply
                hashes.append(None)
            else:
                hashes.append(str(reply) if reply is not None else None)
        return hashes

    async def has_block(self, height: int) -> bool:
        return (await self.block_hashes([height]))[0] is not None

    async def blocks(self, first: int, count: int) -> list[ChainBlock]:
        """Blocks first..first+count-1; shorter if the chain ends (or shrank) earlier."""
        if self.format is BlockFormat.RAW:
            try:
                return await self._blocks(first, count, raw=True)
            except ValueError as error:  # DecodeError, ScriptError, …
                # Raw blocks are fluxd's fastest answer and cheap for us to read, but a
                # transaction our codec cannot parse must not stop the scan: fluxd's own
                # rendering of that run is the fallback.
                log.warning(
                    "explorer: cannot decode raw blocks %d..%d (%s); using fluxd's verbose blocks",
                    first,
                    first + count - 1,
                    error,
                )
        return await self._blocks(first, count, raw=False)

    async def _blocks(self, first: int, count: int, raw: bool) -> list[ChainBlock]:
        # fluxd's getblock takes a height as a decimal string, saving a getblockhash trip
        replies = await self.rpc.batch(
            [("getblock", [str(h), 0 if raw else 2]) for h in range(first, first + count)]
        )
        available: list[Any] = []
        for reply in replies:
            if isinstance(reply, RpcError):
                if reply.code != INVALID_PARAMETER:
                    raise reply
                break
            available.append(reply)
        if not available:
            return []
        return await asyncio.to_thread(_decode, first, available, raw)


def _decode(first: int, replies: list[Any], raw: bool) -> list[ChainBlock]:
    if raw:
        return [
            block_from_raw(bytes.fromhex(reply), first + offset)
            for offset, reply in enumerate(replies)
        ]
    return [block_from_json(reply) for reply in replies]
