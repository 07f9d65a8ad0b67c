"""The benchmark's state over time: stored or fresh measurements, the tier, re-measuring.

Measuring runs in a worker thread (which starts CPU worker processes), so the event loop
keeps answering RPC while it goes on; until the first run finishes the bench reports
`running`, and a re-measure keeps serving the previous result until the new one is in.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from fluxos.bench.measure import LogProgress, MeasureProgress, measure_machine
from fluxos.bench.result import benchmarks_result, failed_result, running_result
from fluxos.bench.settings import BenchSettings
from fluxos.bench.signing import STATUS_COMPLETE, SigningState
from fluxos.bench.store import Measurements, MeasurementStore
from fluxos.bench.tiers import STATUS_FAILED, STATUS_RUNNING, TierDecision, decide_tier
from fluxos.clock import Clock

log = logging.getLogger(__name__)

Measure = Callable[[BenchSettings, Clock, MeasureProgress], Measurements]


class Benchmarker:
    """Owns the current measurements and the tier decided from them.

    `measure` is the blocking run (normally `measure_machine`); tests pass a cheaper one
    with the same contract.
    """

    def __init__(
        self,
        settings: BenchSettings,
        store: MeasurementStore,
        clock: Clock,
        measure: Measure = measure_machine,
    ) -> None:
        self.settings = settings
        self._store = store
        self._clock = clock
        self._measure = measure
        self._measurements: Measurements | None = None
        self._decision: TierDecision | None = None
        self._failure: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._started_at = int(clock.time())
        self._cancel = threading.Event()

    # ------------------------------------------------------------------ state
    @property
    def measuring(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def measurements(self) -> Measurements | None:
        return self._measurements

    @property
    def decision(self) -> TierDecision | None:
        return self._decision

    def is_stale(self) -> bool:
        """True when there is no result or it is older than `max_age_seconds`."""
        if self._measurements is None:
            return True
        age = self._clock.time() - self._measurements.time
        return age >= self.settings.max_age_seconds

    def benchmarking(self) -> str:
        """getstatus `benchmarking`: `running`, the tier name, or `failed`."""
        if self.measuring:
            return STATUS_RUNNING
        if self._decision is not None:
            return self._decision.status
        return STATUS_FAILED if self._failure else STATUS_RUNNING

    def benchmarks(self) -> dict[str, Any]:
        """The getbenchmarks result for the latest finished run (or `running`/`failed`)."""
        if self._measurements is not None and self._decision is not None:
            return benchmarks_result(self.settings, self._measurements, self._decision)
        if self._failure is not None and not self.measuring:
            return failed_result(self.settings, int(self._clock.time()), self._failure)
        return running_result(self.settings, self._started_at)

    def signing_state(self) -> SigningState:
        """Whether a confirm transaction can be signed now, and with what."""
        if self._decision is not None and self._decision.tier is not None:
            return SigningState(
                status=STATUS_COMPLETE,
                tier=int(self._decision.tier),
                ip=self.settings.socket_address,
            )
        if self._decision is not None:
            return SigningState(status=STATUS_FAILED, error=self._decision.error)
        if self._failure is not None and not self.measuring:
            return SigningState(status=STATUS_FAILED, error=self._failure)
        return SigningState(status=STATUS_RUNNING, error="benchmark is still running")

    # ------------------------------------------------------------------ runs
    def load_stored(self) -> bool:
        """Adopt the stored measurements if they exist and are fresh; True if adopted."""
        stored = self._store.load()
        if stored is None:
            return False
        self._adopt(stored)
        if self.is_stale():
            log.info("stored benchmark from %d is older than %.0f s", stored.time, self._max_age)
            return False
        log.info("reusing stored benchmark from %d: %s", stored.time, self._describe())
        return True

    def start_measuring(self, progress: MeasureProgress | None = None) -> bool:
        """Begin a run in the background unless one is going; True if one was started."""
        if self.measuring:
            return False
        watched = _Cancellable(progress or LogProgress(), self._cancel)
        self._task = asyncio.get_running_loop().create_task(
            self._run(watched), name="bench-measure"
        )
        return True

    async def aclose(self) -> None:
        """Stop a run at its next phase and wait for it (at most one phase, a few seconds)."""
        self._cancel.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def wait(self) -> None:
        """Until the current run (if any) has finished."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _run(self, progress: MeasureProgress) -> None:
        log.info("benchmark starting")
        try:
            measurements = await asyncio.to_thread(
                self._measure, self.settings, self._clock, progress
            )
        except MeasurementCancelled:
            log.info("benchmark stopped before it finished")
            return
        except Exception as exc:
            # A probe that breaks must not take the daemon down; the reason is served.
            log.exception("benchmark failed")
            self._failure = f"benchmark could not complete: {exc}"
            return
        self._failure = None
        self._adopt(measurements)
        try:
            await asyncio.to_thread(self._store.save, measurements)
        except OSError as exc:
            log.error("could not store the benchmark in %s: %s", self._store.path, exc)
        log.info("benchmark finished: %s", self._describe())

    async def keep_fresh(self, poll_seconds: float = 600.0) -> None:
        """Forever: re-measure whenever the result reaches `max_age_seconds`."""
        while True:
            if self.is_stale() and not self.measuring:
                log.info("benchmark is older than %.0f s; measuring again", self._max_age)
                self.start_measuring()
            await asyncio.sleep(poll_seconds)

    # ------------------------------------------------------------------ internals
    @property
    def _max_age(self) -> float:
        return self.settings.max_age_seconds

    def _adopt(self, measurements: Measurements) -> None:
        decision = decide_tier(
            measurements.capacity(), self.settings.thresholds, assume=self.settings.assume_tier
        )
        self._measurements = measurements
        self._decision = decision
        if decision.note:
            log.warning("%s", decision.note)
        elif decision.error:
            log.warning("no tier: %s", decision.error)

    def _describe(self) -> str:
        m = self._measurements
        d = self._decision
        if m is None or d is None:
            return "no result"
        return (
            f"status {d.status}, cores {m.real_cores}/{m.threads} threads, ram {m.ram_gb} GiB, "
            f"disk {m.disk_size_gb} GB at {m.write_mb_s} MB/s, eps {m.eps} "
            f"(single {m.eps_singlethread})"
        )


class MeasurementCancelled(Exception):
    """The daemon is stopping; the run gives up at a phase boundary."""


class _Cancellable:
    """Progress that aborts the run at the next phase once `cancel` is set."""

    def __init__(self, inner: MeasureProgress, cancel: threading.Event) -> None:
        self._inner = inner
        self._cancel = cancel

    def phase(self, key: str, description: str) -> None:
        if self._cancel.is_set():
            raise MeasurementCancelled
        self._inner.phase(key, description)

    def finished(self) -> None:
        self._inner.finished()
