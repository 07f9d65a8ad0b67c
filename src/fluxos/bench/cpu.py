"""Our CPU test: sysbench-style prime counting, reported as events per second.

One *event* checks every integer from 3 to `max_prime` for primality by trial division up
to its square root, as sysbench's `cpu` test does with its default bound of 10,000. It is
pure Python, so one event costs far more than in sysbench's C; on current server cores the
per-thread figure lands near fluxbench's published per-thread scores (60-90), which is why
the tier thresholds can keep fluxbench's values. It is our own measure all the same: the
thresholds are configuration.

The multi-thread figure runs one worker *process* per CPU (threads would share the GIL).
"""

from __future__ import annotations

import concurrent.futures
import math
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fluxos.clock import Clock, SystemClock
from fluxos.errors import BadParameter

DEFAULT_MAX_PRIME = 10_000


def count_primes(max_prime: int) -> int:
    """The number of primes in 3..max_prime, by trial division (one event's work)."""
    found = 0
    for candidate in range(3, max_prime + 1):
        limit = math.isqrt(candidate)
        divisor = 2
        while divisor <= limit:
            if candidate % divisor == 0:
                break
            divisor += 1
        else:
            found += 1
    return found


def run_events(count: int, max_prime: int = DEFAULT_MAX_PRIME) -> int:
    """Perform `count` events; returns the primes counted in total (the work done)."""
    return sum(count_primes(max_prime) for _ in range(count))


@dataclass(frozen=True)
class CpuRun:
    """One thread's run: events completed in `seconds` of wall time."""

    events: int
    seconds: float

    @property
    def eps(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def run_for(
    duration: float,
    max_prime: int = DEFAULT_MAX_PRIME,
    clock: Clock | None = None,
) -> CpuRun:
    """Run events back to back until `duration` seconds have passed (at least one event)."""
    if duration <= 0:
        raise BadParameter(f"cpu test duration must be > 0 seconds, got {duration}")
    clock = clock or SystemClock()
    start = clock.monotonic()
    deadline = start + duration
    events = 0
    while True:
        count_primes(max_prime)
        events += 1
        now = clock.monotonic()
        if now >= deadline:
            return CpuRun(events=events, seconds=now - start)


def _worker_run(duration: float, max_prime: int) -> CpuRun:
    # Runs in a worker process: the real clock, since a clock object does not cross over.
    return run_for(duration, max_prime)


def _worker_ready(barrier: Any) -> bool:
    # Blocks until every worker has started: each ready task is held by a distinct process.
    barrier.wait(timeout=_START_TIMEOUT)
    return True


_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class CpuScore:
    """The CPU figures of a benchmark."""

    eps: float  # all workers together
    eps_singlethread: float
    workers: int


def measure_cpu(
    duration: float,
    workers: int,
    max_prime: int = DEFAULT_MAX_PRIME,
    on_phase: Callable[[str], None] | None = None,
) -> CpuScore:
    """Single-thread then all-workers EPS, each phase lasting about `duration` seconds.

    Both phases run in worker processes so the caller (an event loop serving RPC) keeps
    its GIL. `on_phase` is told "single" and "multi" as each phase starts.
    """
    if workers < 1:
        raise BadParameter(f"cpu test workers must be >= 1, got {workers}")
    # spawn, not fork: the caller may be multi-threaded (uvicorn, executors), and forking
    # a threaded process can copy a held lock into the child.
    context = multiprocessing.get_context("spawn")
    with (
        context.Manager() as manager,
        concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool,
    ):
        # Start every worker before timing anything, so interpreter start-up is not scored
        # and the multi-thread phase really runs all workers at once. A manager's barrier
        # proxy can travel in a task, unlike a plain multiprocessing.Barrier.
        barrier = manager.Barrier(workers)
        for ready in [pool.submit(_worker_ready, barrier) for _ in range(workers)]:
            ready.result()
        if on_phase:
            on_phase("single")
        single = pool.submit(_worker_run, duration, max_prime).result()
        if on_phase:
            on_phase("multi")
        futures = [pool.submit(_worker_run, duration, max_prime) for _ in range(workers)]
        runs = [f.result() for f in futures]
    return CpuScore(
        eps=round(sum(run.eps for run in runs), 2),
        eps_singlethread=round(single.eps, 2),
        workers=workers,
    )
