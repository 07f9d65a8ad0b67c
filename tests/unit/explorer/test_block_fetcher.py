"""Fetching runs of blocks: raw bytes first, fluxd's verbose JSON for a run we cannot decode,
and a run cut short where the chain ends. fluxd is stood in for by a table of answers."""

from collections.abc import Sequence
from typing import Any

import pytest

from fluxos.chain.block import Block, BlockHeader
from fluxos.chain.outpoint import hash_hex
from fluxos.explorer.source import BlockFetcher, BlockFormat
from fluxos.jsonrpc import RpcError
from tests.support.chaintxs import COIN, coinbase, p2pkh_address, pay, rendered

HEIGHT = 2_200_000


class TableRpc:
    """Answers getblock from prepared raw and verbose forms (the ChainRpc protocol)."""

    def __init__(self, raw: dict[int, str], verbose: dict[int, dict[str, Any]]) -> None:
        self.raw = raw
        self.verbose = verbose
        self.asked: list[tuple[str, int]] = []

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        replies: list[Any] = []
        for method, params in calls:
            assert method == "getblock"
            height, verbosity = int(params[0]), params[1]
            self.asked.append(("raw" if verbosity == 0 else "verbose", height))
            table = self.raw if verbosity == 0 else self.verbose
            replies.append(
                table[height] if height in table else RpcError(-8, "Block height out of range")
            )
        return replies


def two_blocks() -> tuple[dict[int, str], dict[int, dict[str, Any]]]:
    raw: dict[int, str] = {}
    verbose: dict[int, dict[str, Any]] = {}
    prev = bytes(32)
    for height in (HEIGHT, HEIGHT + 1):
        tx = coinbase(pay(p2pkh_address(height), 3 * COIN))
        header = BlockHeader(prev_hash=prev, time=1_700_000_000 + height, bits=0x1F07FFFF)
        raw[height] = Block(header, [tx]).serialize().hex()
        verbose[height] = {
            "hash": header.hash_hex(),
            "height": height,
            "time": header.time,
            "tx": [rendered(tx)],
            **({"previousblockhash": hash_hex(prev)} if any(prev) else {}),
        }
        prev = header.hash()
    return raw, verbose


async def test_raw_blocks_are_decoded_here() -> None:
    raw, verbose = two_blocks()
    rpc = TableRpc(raw, verbose)
    blocks = await BlockFetcher(rpc).blocks(HEIGHT, 2)
    assert [b.hash for b in blocks] == [verbose[HEIGHT]["hash"], verbose[HEIGHT + 1]["hash"]]
    assert blocks[1].prev_hash == blocks[0].hash
    assert {kind for kind, _ in rpc.asked} == {"raw"}


async def test_an_undecodable_run_is_fetched_verbose(caplog: pytest.LogCaptureFixture) -> None:
    raw, verbose = two_blocks()
    raw[HEIGHT + 1] = raw[HEIGHT + 1][:-10]  # truncated: the codec cannot read it
    rpc = TableRpc(raw, verbose)
    blocks = await BlockFetcher(rpc).blocks(HEIGHT, 2)
    assert [b.height for b in blocks] == [HEIGHT, HEIGHT + 1]
    assert ("verbose", HEIGHT + 1) in rpc.asked
    assert "cannot decode raw blocks" in caplog.text


async def test_a_run_stops_where_the_chain_ends() -> None:
    raw, verbose = two_blocks()
    fetcher = BlockFetcher(TableRpc(raw, verbose), BlockFormat.VERBOSE)
    assert [b.height for b in await fetcher.blocks(HEIGHT + 1, 5)] == [HEIGHT + 1]
    assert await fetcher.blocks(HEIGHT + 2, 5) == []
