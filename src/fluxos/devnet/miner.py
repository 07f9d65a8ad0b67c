"""Block assembly: the coinbase split of daemon.md §7.5 plus the pool's transactions.

The coinbase pays each tier's next fluxnode its share and, under PON, the dev fund its
0.5/14; the miner (the endpoint asked to `generate`) receives the rest and the fees.

Simplification (documented in the devnet README): fluxd's PON blocks are produced by
fluxnodes and pay what is left (unpaid tier shares, fees) to the dev fund; the devnet
mines version-4 blocks on demand and pays that remainder to the generating wallet, so
`generate` funds a wallet as on regtest. Proof of work is not checked.
"""

from __future__ import annotations

import os

from fluxos.chain.block import POW_VERSION, Block, BlockHeader
from fluxos.chain.merkle import merkle_root
from fluxos.chain.outpoint import NULL_HASH, OutPoint
from fluxos.chain.params import EMPTY_SAPLING_ROOT, MAX_BLOCK_SIZE, POW_LIMIT_BITS, block_subsidy
from fluxos.chain.script import OP_0, push_int
from fluxos.chain.serialization import compact_size
from fluxos.chain.transaction import Transaction, TxIn, TxOut
from fluxos.clock import Clock
from fluxos.devnet.chainstate import ChainState, ParsedBlock
from fluxos.devnet.fluxnodes import FluxnodeRegistry
from fluxos.devnet.mempool import Mempool


class Miner:
    """Builds the next block on the active tip."""

    def __init__(
        self, chain: ChainState, mempool: Mempool, fluxnodes: FluxnodeRegistry, clock: Clock
    ) -> None:
        self.chain = chain
        self.mempool = mempool
        self.fluxnodes = fluxnodes
        self.clock = clock

    def coinbase(self, height: int, payout_script: bytes, fees: int) -> Transaction:
        required = self.fluxnodes.coinbase_outputs(height)
        miner_value = block_subsidy(height) + fees - sum(amount for _, amount in required)
        return Transaction(
            vin=[TxIn(OutPoint(NULL_HASH, 0xFFFFFFFF), push_int(height) + bytes((OP_0,)))],
            vout=[TxOut(miner_value, payout_script)] + [TxOut(a, s) for s, a in required],
            expiry_height=0,
        )

    def block_time(self) -> int:
        tip = self.chain.tip
        floor = self.chain.median_time_past(tip) + 1 if tip is not None else 0
        return max(int(self.clock.time()), floor)

    def build(self, payout_script: bytes) -> tuple[ParsedBlock, set[bytes]]:
        """The next block and the txids it took from the (already verified) pool."""
        height = self.chain.height + 1
        tip = self.chain.tip
        entries = self.mempool.for_block(height, MAX_BLOCK_SIZE - 20_000)
        fees = sum(e.fee for e in entries)
        coinbase = self.coinbase(height, payout_script, fees)
        coinbase_raw = coinbase.serialize()
        txs = [coinbase] + [e.tx for e in entries]
        txids = [coinbase.txid()] + [e.txid for e in entries]
        header = BlockHeader(
            version=POW_VERSION,
            prev_hash=tip.hash if tip is not None else NULL_HASH,
            merkle_root=merkle_root(txids),
            final_sapling_root=EMPTY_SAPLING_ROOT,
            time=self.block_time(),
            bits=POW_LIMIT_BITS,
            nonce=os.urandom(32),
            solution=b"",
        )
        head = header.serialize() + compact_size(len(txs))
        parts = [head, coinbase_raw] + [e.raw for e in entries]
        spans: list[tuple[int, int]] = []
        pos = 0
        for part in parts:
            if pos:
                spans.append((pos, pos + len(part)))
            pos += len(part)
        parsed = ParsedBlock(Block(header, txs), txids, spans, b"".join(parts))
        return parsed, {e.txid for e in entries}
