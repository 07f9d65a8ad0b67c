"""The manual clock's sleeps and timers fire in deadline order as time is advanced."""

import asyncio

from fluxos.clock import ManualClock


async def test_sleepers_wake_in_deadline_order_only_when_time_moves() -> None:
    clock = ManualClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("b", 5), ("a", 2), ("c", 9))]
    await clock.settle()
    assert woke == []
    assert clock.pending() == 3
    assert clock.next_deadline() == 2

    await clock.advance_async(6)
    assert woke == [("a", 2.0), ("b", 5.0)]
    assert clock.monotonic() == 6
    await clock.advance_async(3)
    assert woke[-1] == ("c", 9.0)
    await asyncio.gather(*tasks)


async def test_a_repeating_loop_runs_once_per_period() -> None:
    clock = ManualClock()
    ticks: list[float] = []

    async def every_ten_seconds() -> None:
        while True:
            ticks.append(clock.monotonic())
            await clock.sleep(10)

    task = asyncio.create_task(every_ten_seconds())
    await clock.advance_async(35)
    assert ticks == [0, 10, 20, 30]
    task.cancel()


async def test_call_later_can_be_cancelled() -> None:
    clock = ManualClock()
    fired: list[str] = []
    clock.call_later(1, lambda: fired.append("kept"))
    dropped = clock.call_later(2, lambda: fired.append("dropped"))
    dropped.cancel()
    await clock.advance_async(5)
    assert fired == ["kept"]
    assert clock.pending() == 0


async def test_cancelled_sleep_leaves_no_timer() -> None:
    clock = ManualClock()
    task = asyncio.create_task(clock.sleep(30))
    await clock.settle()
    task.cancel()
    await clock.settle()
    assert clock.pending() == 0
