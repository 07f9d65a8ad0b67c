"""What the explorer tells the rest of the node: app payments found, blocks indexed, and
chain rewinds, delivered to in-process subscribers.

Each subscriber gets its own queue, so a slow consumer never holds the scanner up. A
subscriber may ask for the recorded payments first (`replay_from`): registration and
replay happen under the same lock the scanner publishes under, so the replayed history
and the live events join without a gap or a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fluxos.explorer.payments import AppPayment

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AppPaymentFound:
    """A payment for the app message `hash` was indexed (or replayed from the index)."""

    hash: str
    txid: str
    height: int
    value: int  # satoshis
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class BlocksIndexed:
    """Blocks up to `height` are indexed; `synced` when that is the daemon's tip."""

    height: int
    synced: bool


@dataclass(frozen=True, slots=True)
class ChainRewound:
    """Everything above `height` was forgotten: a reorg, a rescan, or (height -1) a reindex.

    Payments above it are gone and will be found again, with new events, as the scanner
    re-indexes. `rescan_apps` is set when the operator asked for app data above it to be
    rebuilt too.
    """

    height: int
    rescan_apps: bool = False


ExplorerEvent = AppPaymentFound | BlocksIndexed | ChainRewound
PaymentHistory = Callable[[int], Awaitable[list[AppPayment]]]


class Subscription:
    """An async iterator over the events published after (and replayed at) subscription."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[ExplorerEvent] = asyncio.Queue()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> ExplorerEvent:
        return await self._queue.get()

    async def get(self) -> ExplorerEvent:
        return await self._queue.get()

    def get_nowait(self) -> ExplorerEvent | None:
        """The next event if one is waiting, else None."""
        try:
            return self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None

    def pending(self) -> int:
        return self._queue.qsize()

    def _deliver(self, event: ExplorerEvent) -> None:
        self._queue.put_nowait(event)


class ExplorerEvents:
    """The subscriber list. The scanner publishes while holding `lock`."""

    def __init__(self, history: PaymentHistory) -> None:
        self._history = history
        self._subscribers: list[Subscription] = []
        self.lock = asyncio.Lock()

    @asynccontextmanager
    async def subscribe(self, replay_from: int | None = None) -> AsyncIterator[Subscription]:
        """Receive events while the context is open.

        With `replay_from`, every recorded payment at or above that height is delivered
        first (as `AppPaymentFound(replayed=True)`), in chain order.
        """
        subscription = Subscription()
        async with self.lock:
            if replay_from is not None:
                for payment in await self._history(replay_from):
                    subscription._deliver(
                        AppPaymentFound(
                            payment.hash, payment.txid, payment.height, payment.value, True
                        )
                    )
            self._subscribers.append(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.remove(subscription)

    def publish(self, *events: ExplorerEvent) -> None:
        """Hand `events` to every subscriber (call with `lock` held)."""
        for subscription in self._subscribers:
            for event in events:
                subscription._deliver(event)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
