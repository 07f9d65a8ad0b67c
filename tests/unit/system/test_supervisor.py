"""The supervisor on the manual clock: restarts with backoff, conditions, stop order."""

import asyncio
from collections.abc import Awaitable, Callable

from fluxos.clock import ManualClock
from fluxos.system.supervisor import Backoff, LoopState, Supervisor


async def test_a_crashing_loop_is_restarted_with_growing_backoff() -> None:
    clock = ManualClock()
    supervisor = Supervisor(clock)
    starts: list[float] = []

    async def crashes() -> None:
        starts.append(clock.monotonic())
        raise RuntimeError("boom")

    supervisor.add("crasher", crashes, backoff=Backoff(initial=1, factor=2, maximum=5))
    await supervisor.start()
    await clock.settle()
    assert starts == [0.0]
    assert supervisor.state("crasher") is LoopState.BACKING_OFF
    status = supervisor.status()[0]
    assert status.restarts == 1
    assert status.last_error == "RuntimeError: boom"

    await clock.advance_async(1 + 2 + 4 + 5 + 5)
    assert starts == [0.0, 1.0, 3.0, 7.0, 12.0, 17.0]
    await supervisor.stop()
    assert supervisor.state("crasher") is LoopState.STOPPED


async def test_backoff_resets_after_a_stable_run() -> None:
    clock = ManualClock()
    supervisor = Supervisor(clock)
    starts: list[float] = []

    async def runs_then_crashes() -> None:
        starts.append(clock.monotonic())
        if len(starts) == 3:
            await clock.sleep(100)  # a long, stable run
        raise RuntimeError("again")

    supervisor.add("flaky", runs_then_crashes, backoff=Backoff(initial=1, reset_after=50))
    await supervisor.start()
    await clock.advance_async(3)  # crash at 0, restart at 1, crash, restart at 3
    assert starts == [0.0, 1.0, 3.0]
    await clock.advance_async(100)  # the third run crashes at 103 after a stable run
    await clock.advance_async(1)  # so it restarts after the initial delay again
    assert starts == [0.0, 1.0, 3.0, 104.0]
    await supervisor.stop()


async def test_a_loop_waits_for_its_conditions() -> None:
    clock = ManualClock()
    supervisor = Supervisor(clock)
    ran = asyncio.Event()

    async def spawner() -> None:
        ran.set()
        await clock.sleep(1_000)

    supervisor.add("spawner", spawner, after=("registry ready", "dockerd reachable"))
    await supervisor.start()
    await clock.settle()
    status = supervisor.status()[0]
    assert status.state is LoopState.WAITING
    assert status.detail == "waiting for registry ready"

    supervisor.condition("registry ready").set()
    await clock.settle()
    assert supervisor.status()[0].detail == "waiting for dockerd reachable"
    assert not ran.is_set()

    supervisor.condition("dockerd reachable").set()
    await clock.settle()
    assert ran.is_set()
    assert supervisor.state("spawner") is LoopState.RUNNING
    await supervisor.stop()


async def test_a_loop_that_returns_is_finished_and_stop_goes_newest_first() -> None:
    clock = ManualClock()
    supervisor = Supervisor(clock)
    stopped: list[str] = []

    async def once() -> None:
        return None

    def forever(name: str) -> Callable[[], Awaitable[None]]:
        async def body() -> None:
            try:
                await clock.sleep(1_000)
            finally:
                stopped.append(name)

        return body

    supervisor.add("once", once)
    supervisor.add("first", forever("first"))
    supervisor.add("second", forever("second"))
    await supervisor.start()
    await clock.settle()
    assert supervisor.state("once") is LoopState.FINISHED
    await supervisor.stop()
    assert stopped == ["second", "first"]
    assert supervisor.state("once") is LoopState.FINISHED
