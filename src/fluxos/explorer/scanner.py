"""The block scanner: walks fluxd's active chain and keeps the explorer indexes on it.

While behind it indexes runs of blocks (sized to about `batch_txs` transactions) and
fetches the next run while the current one is written; at the tip it polls. A reorg is
seen when a new block's previous hash differs from the stored hash below it (or the
stored tip hash is no longer fluxd's): the scanner walks back to the last height where
both agree and rewinds the indexes there, restoring spent outputs, then goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from fluxos.chain.serialization import DecodeError
from fluxos.clock import Clock, SystemClock
from fluxos.errors import DaemonUnavailable
from fluxos.explorer.blocks import BlockFormatError, ChainBlock
from fluxos.explorer.events import AppPaymentFound, BlocksIndexed, ChainRewound, ExplorerEvents
from fluxos.explorer.indexes import BatchResult, ConcurrentWriter, ExplorerIndexes, Progress
from fluxos.explorer.source import BlockFetcher
from fluxos.jsonrpc import RpcError
from fluxos.storage.database import DatabaseError

log = logging.getLogger(__name__)

RETRYABLE = (
    DaemonUnavailable,
    RpcError,
    BlockFormatError,
    DecodeError,
    ConcurrentWriter,
    DatabaseError,
)
FORK_SEARCH_STEP = 32
FIRST_BATCH_BLOCKS = 16
PROGRESS_LOG_SECONDS = 30.0
REPEAT_REPORT = 60  # a failure repeated every retry is told again each 60 tries (10 min)

BatchListener = Callable[[BatchResult, int], None]


@dataclass(frozen=True, slots=True)
class ScannerOptions:
    start_height: int | None = None  # None: the chain's first block (height 1 on fluxd)
    poll_seconds: float = 2.0
    retry_seconds: float = 10.0
    batch_txs: int = 2_000
    max_batch_blocks: int = 500


@dataclass(slots=True)
class _Position:
    scanned: int  # start - 1 before the first block
    start: int
    scanned_hash: str | None
    recorded: bool  # whether a progress row exists yet


class Scanner:
    """Indexes blocks from `fetcher` into `indexes` and publishes to `events`."""

    def __init__(
        self,
        fetcher: BlockFetcher,
        indexes: ExplorerIndexes,
        events: ExplorerEvents,
        options: ScannerOptions | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.indexes = indexes
        self.events = events
        self.options = options or ScannerOptions()
        self.clock = clock or SystemClock()
        self.tip: int | None = None
        self.synced = False
        self._position: _Position | None = None
        self._running = asyncio.Event()
        self._running.set()
        self._wake = asyncio.Event()
        self._work = asyncio.Lock()
        self._ahead: tuple[int, asyncio.Task[list[ChainBlock]]] | None = None
        # until a batch has been measured, assume blocks are full enough to start small
        self._txs_per_block = self.options.batch_txs / FIRST_BATCH_BLOCKS
        self._last_log = 0.0
        self._last_failure: str | None = None
        self._repeats = 0
        self._logged_height = 0

    # ------------------------------------------------------------------ state
    @property
    def scanned_height(self) -> int | None:
        position = self._position
        return position.scanned if position is not None and position.recorded else None

    @property
    def running(self) -> bool:
        return self._running.is_set()

    # ------------------------------------------------------------------ loops
    async def run(self) -> None:
        """Index forever: catch up, then follow the tip (the node's background loop)."""
        await self.indexes.load_prices()
        try:
            while True:
                await self._running.wait()
                delay = self.options.poll_seconds
                async with self._work:
                    if not self._running.is_set():
                        continue
                    try:
                        more = await self._step()
                    except RETRYABLE as error:
                        self._report(error)
                        self._forget_position()
                        delay = self.options.retry_seconds
                        more = False
                    else:
                        self._recovered()
                    if more:
                        continue
                await self._idle(delay)
        finally:
            self._cancel_ahead()

    def _report(self, error: Exception) -> None:
        # the same failure every retry (fluxd down for an hour) is logged once, then again
        # with its count every REPEAT_REPORT tries, so a stalled explorer never goes silent;
        # a database refusal is no outage that passes by itself: ERROR
        text = f"{type(error).__name__}: {error}"
        level = logging.ERROR if isinstance(error, DatabaseError) else logging.WARNING
        if text == self._last_failure:
            self._repeats += 1
            if self._repeats % REPEAT_REPORT:
                level = logging.DEBUG
            text = f"{text} (still, {self._repeats + 1} tries)"
        else:
            self._repeats = 0
        log.log(level, "explorer: %s; retrying in %.0f s", text, self.options.retry_seconds)
        if not self._repeats:
            self._last_failure = text

    def _recovered(self) -> None:
        if self._last_failure is not None:
            log.info("explorer: indexing again after: %s", self._last_failure)
            self._last_failure = None

    async def catch_up(self, on_batch: BatchListener | None = None) -> int | None:
        """Index up to fluxd's current tip, then return the scanned height (CLI, bench)."""
        await self.indexes.load_prices()
        try:
            async with self._work:
                while await self._step(on_batch):
                    pass
        finally:
            self._cancel_ahead()
        return self.scanned_height

    async def _idle(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    # ------------------------------------------------------------------ control
    async def pause(self, within: float) -> bool:
        """Stop after the batch in progress; False if it did not finish `within` seconds."""
        self._running.clear()
        self._wake.set()
        try:
            await asyncio.wait_for(self._work.acquire(), timeout=within)
        except TimeoutError:
            return False
        self._work.release()
        self._cancel_ahead()
        return True

    def resume(self) -> None:
        self._forget_position()
        self._running.set()
        self._wake.set()

    async def rewind(self, height: int, rescan_apps: bool = False) -> int:
        """Forget blocks above `height` (call while paused, or from the loop itself)."""
        self._cancel_ahead()
        async with self.events.lock:
            height = await self.indexes.rewind(height)
            self.events.publish(ChainRewound(height, rescan_apps))
        self.synced = False
        self._forget_position()
        return height

    async def reset(self, rescan_apps: bool = False) -> None:
        """Forget everything; the next scan starts from the start height (call paused)."""
        self._cancel_ahead()
        async with self.events.lock:
            await self.indexes.reset()
            self.events.publish(ChainRewound(-1, rescan_apps))
        self.synced = False
        self._forget_position()

    def _forget_position(self) -> None:
        self._position = None
        self.tip = None

    # ------------------------------------------------------------------ one step
    async def _step(self, on_batch: BatchListener | None = None) -> bool:
        """Index one run of blocks or check the tip; True if there is more to do at once."""
        position = await self._load_position()
        if position is None:
            return False
        if self.tip is None or position.scanned >= self.tip:
            self.tip = await self.fetcher.tip()
        tip = self.tip
        if position.scanned >= tip:
            return await self._check_tip(position, tip)
        self.synced = False
        first = position.scanned + 1
        count = self._batch_size(tip - position.scanned)
        blocks = await self._take(first, count)
        if not blocks:
            self.tip = None  # the chain shrank under us
            return True
        if position.recorded and blocks[0].prev_hash != position.scanned_hash:
            await self._follow_reorg(position)
            return True
        blocks = _linked_prefix(blocks)
        following = blocks[-1].height + 1
        if following <= tip:
            self._fetch_ahead(following, self._batch_size(tip - blocks[-1].height))
        result = await self._apply(position, blocks)
        if result.height >= tip:
            self.tip = await self.fetcher.tip()
            self.synced = result.height >= self.tip
        async with self.events.lock:
            self.events.publish(BlocksIndexed(result.height, self.synced))
        self._log_progress(result)
        if on_batch is not None:
            on_batch(result, max(self.tip or 0, result.height))
        return True

    async def _load_position(self) -> _Position | None:
        if self._position is not None:
            return self._position
        progress: Progress | None = await self.indexes.progress()
        if progress is not None:
            self._position = _Position(
                progress.scanned_height, progress.start_height, progress.scanned_hash, True
            )
            return self._position
        start = self.options.start_height
        if start is None:
            start = await self._first_height()
            if start is None:
                return None
        self._position = _Position(start - 1, start, None, False)
        log.info("explorer: indexing from height %d", start)
        return self._position

    async def _first_height(self) -> int | None:
        """The lowest height fluxd has a block for (fluxd's genesis 0 is never indexed)."""
        tip = await self.fetcher.tip()
        if tip < 0 or not await self.fetcher.has_block(tip):
            return None
        if await self.fetcher.has_block(0):
            return 1
        low, high = 0, tip  # invariant: no block at low, a block at high
        while high - low > 1:
            middle = (low + high) // 2
            if await self.fetcher.has_block(middle):
                high = middle
            else:
                low = middle
        return high

    async def _check_tip(self, position: _Position, tip: int) -> bool:
        if position.recorded and position.scanned >= position.start:
            remote = (await self.fetcher.block_hashes([position.scanned]))[0]
            if position.scanned > tip or remote != position.scanned_hash:
                await self._follow_reorg(position)
                return True
        self.synced = True
        return False

    async def _follow_reorg(self, position: _Position) -> None:
        fork = await self._find_fork(position)
        log.warning(
            "explorer: the chain was reorganised above height %d (indexed up to %d); "
            "rewinding the indexes to %d and following the new chain",
            fork,
            position.scanned,
            fork,
        )
        await self.rewind(fork)

    async def _find_fork(self, position: _Position) -> int:
        """The highest height where the stored hash is still fluxd's."""
        high = position.scanned
        while high >= position.start:
            low = max(position.start, high - FORK_SEARCH_STEP + 1)
            stored = await self.indexes.block_hashes(low, high)
            remote = await self.fetcher.block_hashes(list(range(low, high + 1)))
            for height in range(high, low - 1, -1):
                found = remote[height - low]
                if found is not None and found == stored.get(height):
                    return height
            high = low - 1
        return position.start - 1

    async def _apply(self, position: _Position, blocks: list[ChainBlock]) -> BatchResult:
        expected = position.scanned if position.recorded else None
        async with self.events.lock:
            result = await self.indexes.apply(blocks, expected, position.start)
            position.scanned = result.height
            position.scanned_hash = blocks[-1].hash
            position.recorded = True
            self.events.publish(
                *(AppPaymentFound(p.hash, p.txid, p.height, p.value) for p in result.payments)
            )
        for payment in result.payments:
            log.info(
                "app payment found: hash %s, tx %s, height %d, %d satoshis",
                payment.hash,
                payment.txid,
                payment.height,
                payment.value,
            )
        self._txs_per_block = 0.5 * self._txs_per_block + 0.5 * (result.txs / result.blocks)
        return result

    # ------------------------------------------------------------------ fetching
    def _batch_size(self, behind: int) -> int:
        options = self.options
        by_txs = int(options.batch_txs / max(self._txs_per_block, 1.0))
        return max(1, min(behind, options.max_batch_blocks, by_txs))

    async def _take(self, first: int, count: int) -> list[ChainBlock]:
        ahead = self._ahead
        self._ahead = None
        if ahead is not None:
            ahead_first, task = ahead
            if ahead_first == first:
                return await task
            task.cancel()
        return await self.fetcher.blocks(first, count)

    def _fetch_ahead(self, first: int, count: int) -> None:
        self._cancel_ahead()
        task = asyncio.create_task(self.fetcher.blocks(first, count))
        # a failed read-ahead is retried by _take; keep it from being reported as lost
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        self._ahead = (first, task)

    def _cancel_ahead(self) -> None:
        if self._ahead is not None:
            self._ahead[1].cancel()
            self._ahead = None

    def _log_progress(self, result: BatchResult) -> None:
        now = self.clock.monotonic()
        if self.synced or now - self._last_log < PROGRESS_LOG_SECONDS:
            return
        if self._last_log:
            log.info(
                "explorer: indexed up to height %d of %s (%d blocks since the last report)",
                result.height,
                self.tip,
                result.height - self._logged_height,
            )
        self._last_log = now
        self._logged_height = result.height


def _linked_prefix(blocks: list[ChainBlock]) -> list[ChainBlock]:
    """The leading blocks that chain onto each other (fluxd may reorg between two reads)."""
    for i in range(1, len(blocks)):
        if blocks[i].prev_hash != blocks[i - 1].hash:
            return blocks[:i]
    return blocks
