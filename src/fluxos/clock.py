"""Time as a collaborator, so tests advance it instead of sleeping.

Code that waits takes a clock and calls `await clock.sleep(s)` (or `clock.call_later`);
under `ManualClock` those waits end only when a test moves time with `await
clock.advance_async(s)`, deterministically and in deadline order.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol

# How many times `ManualClock.settle` yields to the event loop: enough for a woken task to
# run to its next await (a chain of a few awaited coroutines and futures) without sleeping.
SETTLE_ROUNDS = 20


class TimerHandle(Protocol):
    """A pending `call_later` callback."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Wall-clock and monotonic time in seconds, and waiting on that time."""

    def time(self) -> float: ...

    def monotonic(self) -> float: ...

    def millis(self) -> int: ...

    async def sleep(self, seconds: float) -> None: ...

    def call_later(self, seconds: float, callback: Callable[[], object]) -> TimerHandle: ...


class SystemClock:
    """The real clock."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def millis(self) -> int:
        return int(time.time() * 1000)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, seconds: float, callback: Callable[[], object]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, seconds), callback)


class _ManualTimer:
    __slots__ = ("callback", "cancelled", "deadline")

    def __init__(self, deadline: float, callback: Callable[[], object]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that only moves when told to; for tests and simulations.

    `sleep` and `call_later` register deadlines on the monotonic time; `advance_async`
    moves time forward one deadline at a time, letting each woken task run before the
    next deadline fires, so a loop that sleeps repeatedly behaves as it would in real time.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._mono = 0.0
        self._timers: list[tuple[float, int, _ManualTimer]] = []
        self._sequence = itertools.count()

    def time(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def millis(self) -> int:
        return int(self._now * 1000)

    # -- waiting ------------------------------------------------------------------------
    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not future.done():
                future.set_result(None)

        timer = self._schedule(seconds, wake)
        try:
            await future
        finally:
            timer.cancel()

    def call_later(self, seconds: float, callback: Callable[[], object]) -> TimerHandle:
        return self._schedule(max(0.0, seconds), callback)

    def pending(self) -> int:
        """How many sleeps and timers are waiting for time to move."""
        return sum(1 for _, _, timer in self._timers if not timer.cancelled)

    def next_deadline(self) -> float | None:
        """Seconds from now until the earliest pending deadline (None when nothing waits)."""
        self._drop_cancelled()
        return self._timers[0][0] - self._mono if self._timers else None

    def _schedule(self, seconds: float, callback: Callable[[], object]) -> _ManualTimer:
        timer = _ManualTimer(self._mono + seconds, callback)
        heapq.heappush(self._timers, (timer.deadline, next(self._sequence), timer))
        return timer

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)

    def _fire_due(self) -> None:
        while self._timers and self._timers[0][0] <= self._mono:
            _, _, timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.cancelled = True
                timer.callback()

    # -- moving time --------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move time at once (timers due by then fire, but woken tasks have not run yet)."""
        self._now += seconds
        self._mono += seconds
        self._fire_due()

    async def advance_async(self, seconds: float) -> None:
        """Move time forward by `seconds`, stopping at every deadline on the way so the
        tasks it wakes run (and may sleep again) before time moves on."""
        target = self._mono + seconds
        await self.settle()
        while True:
            self._drop_cancelled()
            if not self._timers or self._timers[0][0] > target:
                break
            step = self._timers[0][0] - self._mono
            self.advance(max(0.0, step))
            await self.settle()
        self.advance(target - self._mono)
        await self.settle()

    async def settle(self) -> None:
        """Let ready tasks run until they wait again (without moving time)."""
        for _ in range(SETTLE_ROUNDS):
            await asyncio.sleep(0)

    def set(self, now: float) -> None:
        self._now = now
