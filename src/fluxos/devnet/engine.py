"""The shared chain of a devnet and everything built on it, driven from one worker thread.

`ChainEngine` composes the store, chain state, indexes, mempool, fluxnode registry, miner
and the endpoints' wallets. Its methods are plain synchronous code; the RPC layer runs
them through `call()` on a single-thread executor, so chain state never sees two threads
and the event loop stays free while a long `generate` runs.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from fluxos.chain.outpoint import hash_hex
from fluxos.chain.script import p2pkh_script
from fluxos.chain.transaction import Transaction
from fluxos.clock import Clock
from fluxos.crypto.hashes import hash160
from fluxos.crypto.keys import PrivateKey
from fluxos.devnet.chainstate import ChainState, ParsedBlock, settle_heap
from fluxos.devnet.endpoint import Endpoint
from fluxos.devnet.fluxnodes import FluxnodeRegistry
from fluxos.devnet.indexes import ChainIndexes
from fluxos.devnet.mempool import AlreadyInChain, Mempool
from fluxos.devnet.miner import Miner
from fluxos.devnet.store import Store
from fluxos.devnet.validation import TxRejected
from fluxos.devnet.wallet import Wallet

log = logging.getLogger(__name__)

T = TypeVar("T")
ProgressCallback = Callable[[int, int], None]
COMMIT_EVERY = 1000
LOG_EVERY = 1000


class ChainEngine:
    """Chain, pool, fluxnode list and endpoint wallets of one devnet data dir."""

    def __init__(self, data_dir: Path, start_height: int, clock: Clock) -> None:
        self.data_dir = data_dir
        self.clock = clock
        self.store = Store(data_dir / "devnet.sqlite")
        stored_start = self.store.get_meta("start_height")
        if stored_start is None:
            self.store.set_meta("start_height", str(start_height))
            self.store.commit()
        elif int(stored_start) != start_height:
            log.warning(
                "data dir was created with --start-height %s; keeping it (asked for %d)",
                stored_start,
                start_height,
            )
            start_height = int(stored_start)
        self.start_height = start_height
        self.bench_key = self._bench_key()
        self.chain = ChainState(self.store, start_height)
        self.indexes = ChainIndexes()
        self.fluxnodes = FluxnodeRegistry(self.chain, self.bench_key.public_key)
        self.mempool = Mempool(self.chain, self.indexes, self.fluxnodes, clock)
        self.chain.block_rules.append(self.fluxnodes.check_block)
        self.chain.listeners.extend([self.indexes, self.fluxnodes, self.mempool])
        self.miner = Miner(self.chain, self.mempool, self.fluxnodes, clock)
        self.endpoints: list[Endpoint] = []
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="devnet-chain")
        self.stopping = False
        self._mined = 0
        self.block_time: float | None = None  # seconds between timer blocks, if mining on a timer
        self.stop_hooks: list[Callable[[], None]] = []

    def _bench_key(self) -> PrivateKey:
        wif = self.store.get_meta("benchmark_key")
        if wif is None:
            key = PrivateKey.generate(compressed=False)
            self.store.set_meta("benchmark_key", key.to_wif())
            self.store.commit()
            return key
        return PrivateKey.from_wif(wif)

    # ------------------------------------------------------------------ set-up
    def add_endpoint(self, index: int, data_dir: Path, rpc_port: int) -> Endpoint:
        """Create (or reopen) endpoint `index`; must happen before `load`."""
        user = self.store.get_meta(f"endpoint{index}.rpcuser") or f"fluxdevnet{index}"
        password = self.store.get_meta(f"endpoint{index}.rpcpassword")
        if password is None:
            password = secrets.token_urlsafe(24)
            self.store.set_meta(f"endpoint{index}.rpcuser", user)
            self.store.set_meta(f"endpoint{index}.rpcpassword", password)
            self.store.commit()
        wallet = Wallet(index, self.store, self.chain, self.indexes, self.mempool, self.clock)
        endpoint = Endpoint(index, data_dir, rpc_port, user, password, wallet)
        endpoint.load_conf()
        endpoint.write_conf()
        endpoint.lock_collaterals()
        self.chain.listeners.append(wallet)
        self.endpoints.append(endpoint)
        return endpoint

    def load(self) -> None:
        """Replay the stored chain and restore the saved mempool."""
        height_before = self.chain.height
        self.chain.load(lambda n: log.info("loaded %d blocks", n))
        if self.chain.height != height_before:
            log.info(
                "chain loaded: height %d, %d blocks", self.chain.height, len(self.chain.active)
            )
        for raw, time in self.store.load_mempool():
            try:
                self.mempool.accept(
                    Transaction.from_bytes(raw), raw, allow_high_fees=True, time=time
                )
            except (TxRejected, AlreadyInChain, ValueError) as exc:
                log.info("saved mempool transaction not restored (%s)", exc)
        self.store.save_mempool([])
        self.store.commit()

    def close(self) -> None:
        entries = [(e.txid, e.raw, e.time) for e in self.mempool.entries.values()]
        self.store.save_mempool(entries)
        self.store.close()

    # ------------------------------------------------------------------ thread hand-off
    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the chain thread and commit what it wrote."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(self._run, fn, *args))

    def _run(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        finally:
            self.store.commit()

    def shutdown(self) -> None:
        self.executor.submit(self.close).result()
        self.executor.shutdown(wait=True)

    def request_stop(self) -> None:
        """Ask the owner of this engine to shut down (the `stop` RPC); long loops end early."""
        self.stopping = True
        for hook in self.stop_hooks:
            hook()

    # ------------------------------------------------------------------ mining
    def mining_script(self, endpoint: Endpoint) -> bytes:
        wallet = endpoint.wallet
        for akey, wk in wallet.keys.items():
            if wk.label == "mining":
                return p2pkh_script(akey[1:])
        return p2pkh_script(hash160(wallet.new_key(label="mining").key.public_key))

    def generate(
        self,
        count: int,
        endpoint: Endpoint,
        progress: ProgressCallback | None = None,
        payout_script: bytes | None = None,
    ) -> list[bytes]:
        """Mine `count` blocks paying the remainder to `endpoint`'s wallet; returns hashes."""
        script = payout_script or self.mining_script(endpoint)
        hashes: list[bytes] = []
        for i in range(count):
            if self.stopping:
                log.info("generate interrupted after %d of %d blocks", i, count)
                break
            parsed, trusted = self.miner.build(script)
            entry, disconnected = self.chain.accept_block(parsed, trusted)
            if disconnected:
                self.mempool.reorganised(disconnected)
            self.after_block()
            hashes.append(entry.hash)
            self._mined += 1
            if self._mined % COMMIT_EVERY == 0:
                self.store.commit()
                settle_heap()
            if count >= LOG_EVERY and (i + 1) % LOG_EVERY == 0:
                log.info("mined %d of %d blocks, height %d", i + 1, count, entry.height)
            if progress is not None:
                progress(i + 1, count)
        return hashes

    def after_block(self) -> None:
        for endpoint in self.endpoints:
            endpoint.fluxnode_duties(self.fluxnodes, self.mempool, self.bench_key, self.clock)

    def submit_block(self, parsed: ParsedBlock) -> list[ParsedBlock]:
        """Accept an externally built block (full validation); returns disconnected blocks."""
        entry, disconnected = self.chain.accept_block(parsed)
        if disconnected:
            self.mempool.reorganised(disconnected)
        self.after_block()
        log.info("block %s accepted at height %d", hash_hex(entry.hash), entry.height)
        return disconnected

    def reorganised(self, disconnected: list[ParsedBlock]) -> None:
        """After invalidateblock/reconsiderblock: refill and recheck the pool."""
        if disconnected:
            self.mempool.reorganised(disconnected)
        self.after_block()
