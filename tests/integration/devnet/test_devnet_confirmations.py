"""A fluxnode's re-confirmations on a devnet whose clock stands still (generate under a
frozen time, as with setmocktime): each is a new transaction, none is mined twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from fluxos.chain.params import CONFIRM_UPDATE_MIN_HEIGHT
from fluxos.clock import ManualClock
from fluxos.devnet.fluxnodes import CONFIRMED
from fluxos.devnet.server import Devnet, EndpointInfo
from fluxos.jsonrpc import JsonRpcClient

Connect = Callable[[EndpointInfo], JsonRpcClient]


async def test_reconfirmations_under_a_frozen_clock_never_repeat_a_txid(
    tmp_path: Path, connect: Connect
) -> None:
    clock = ManualClock()
    async with Devnet.open(tmp_path / "devnet", rpc_port=0, nodes=1, clock=clock) as devnet:
        engine = devnet.engine
        async with connect(devnet.endpoints[0]) as rpc:
            blocks = 3 * CONFIRM_UPDATE_MIN_HEIGHT + 20
            hashes = await rpc.call("generate", blocks)
        assert len(hashes) == blocks
        confirmations: Counter[bytes] = Counter()
        for block_hash in hashes:
            parsed = engine.chain.parsed(bytes.fromhex(block_hash)[::-1])
            for txid, tx in zip(parsed.txids, parsed.block.txs, strict=True):
                if tx.fluxnode is not None:
                    confirmations[txid] += 1
        # the node re-confirmed in each window of 500 blocks, each time with a new txid
        assert len(confirmations) >= 3, confirmations
        assert max(confirmations.values()) == 1, confirmations
        endpoint = engine.endpoints[0]
        assert endpoint.fluxnode_outpoint is not None
        record = engine.fluxnodes.record(endpoint.fluxnode_outpoint)
        assert record is not None and record.status == CONFIRMED
