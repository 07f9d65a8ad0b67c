"""Benchmarker state over time: first run, reuse, staleness, failures, cancellation.

The measuring function is the injected collaborator; these tests give it a cheap one with
the same contract (settings, clock, progress → Measurements) instead of the 10-second run.
"""

import asyncio
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from fluxos.bench.measure import MeasureProgress
from fluxos.bench.service import Benchmarker
from fluxos.bench.settings import DAY, BenchSettings
from fluxos.bench.store import Measurements, MeasurementStore
from fluxos.bench.tiers import Tier
from fluxos.clock import Clock, ManualClock

BIG = Measurements(
    time=0,
    real_cores=4,
    threads=8,
    ram_gb=31.5,
    architecture="amd64",
    disk_device="nvme0n1",
    disk_size_gb=500.0,
    disk_rotational=False,
    write_mb_s=1000.0,
    eps=700.0,
    eps_singlethread=90.0,
    cpu_workers=8,
    cpu_seconds=4.0,
    cpu_max_prime=10_000,
)
SMALL = replace(BIG, real_cores=2, threads=2, eps=150.0)


class Recorded:
    """A measuring function that reports its phases and returns fixed figures."""

    def __init__(self, figures: Measurements) -> None:
        self.figures = figures
        self.runs = 0

    def __call__(
        self, settings: BenchSettings, clock: Clock, progress: MeasureProgress
    ) -> Measurements:
        self.runs += 1
        progress.phase("specs", "specs")
        progress.finished()
        return replace(self.figures, time=int(clock.time()))


def make(tmp_path: Path, measure: object, clock: ManualClock, **kw: object) -> Benchmarker:
    settings = BenchSettings(data_dir=tmp_path, public_ip="203.0.113.1", **kw)  # type: ignore[arg-type]
    return Benchmarker(settings, MeasurementStore(settings.results_path), clock, measure)  # type: ignore[arg-type]


async def test_first_run_measures_stores_and_decides(tmp_path: Path) -> None:
    clock = ManualClock(1_700_000_000)
    measure = Recorded(BIG)
    bench = make(tmp_path, measure, clock)
    assert not bench.load_stored()
    assert bench.benchmarks()["status"] == "running"
    assert bench.signing_state().status == "running"
    assert bench.start_measuring()
    assert bench.benchmarking() == "running"
    await bench.wait()
    assert measure.runs == 1
    assert bench.benchmarking() == "NIMBUS"
    assert bench.benchmarks()["time"] == 1_700_000_000
    state = bench.signing_state()
    assert (state.status, state.tier, state.ip) == ("complete", 2, "203.0.113.1")
    assert MeasurementStore(tmp_path / "benchmarks.json").load() == replace(BIG, time=1_700_000_000)


async def test_a_stored_result_is_reused_until_a_day_old(tmp_path: Path) -> None:
    clock = ManualClock(1_700_000_000)
    await _measured_once(tmp_path, clock)
    clock.advance(DAY - 1)
    again = make(tmp_path, Recorded(SMALL), clock)
    assert again.load_stored()
    assert not again.is_stale() and again.benchmarking() == "NIMBUS"
    clock.advance(1)
    assert again.is_stale()
    later = make(tmp_path, Recorded(SMALL), clock)
    assert not later.load_stored()
    # the old figures keep being served until the new run is in
    assert later.benchmarks()["status"] == "NIMBUS"


async def test_stored_figures_are_decided_again_with_current_settings(tmp_path: Path) -> None:
    clock = ManualClock(1_700_000_000)
    small = make(tmp_path, Recorded(SMALL), clock)
    small.start_measuring()
    await small.wait()
    assert small.benchmarks()["status"] == "failed"
    forced = make(tmp_path, Recorded(SMALL), clock, assume_tier=Tier.CUMULUS)
    assert forced.load_stored()
    result = forced.benchmarks()
    assert result["status"] == "CUMULUS" and result["tier_assumed"] is True
    assert forced.signing_state().tier == 1


async def test_a_failing_probe_is_served_as_failed(tmp_path: Path) -> None:
    def broken(settings: BenchSettings, clock: Clock, progress: MeasureProgress) -> Measurements:
        raise OSError("No space left on device")

    bench = make(tmp_path, broken, ManualClock())
    bench.start_measuring()
    await bench.wait()
    result = bench.benchmarks()
    assert result["status"] == "failed"
    assert result["error"] == "benchmark could not complete: No space left on device"
    assert bench.benchmarking() == "failed"
    assert bench.signing_state().status == "failed"


async def test_restart_while_running_keeps_the_running_one(tmp_path: Path) -> None:
    gate = threading.Event()

    def slow(settings: BenchSettings, clock: Clock, progress: MeasureProgress) -> Measurements:
        gate.wait(10)
        return BIG

    bench = make(tmp_path, slow, ManualClock())
    assert bench.start_measuring()
    assert not bench.start_measuring()
    gate.set()
    await bench.wait()
    assert bench.start_measuring()
    await bench.wait()


async def test_closing_stops_a_run_at_its_next_phase(tmp_path: Path) -> None:
    reached = threading.Event()
    gate = threading.Event()
    phases: list[str] = []

    def two_phases(
        settings: BenchSettings, clock: Clock, progress: MeasureProgress
    ) -> Measurements:
        progress.phase("specs", "specs")
        phases.append("specs")
        reached.set()
        gate.wait(10)
        progress.phase("disk", "disk")
        phases.append("disk")
        return BIG

    bench = make(tmp_path, two_phases, ManualClock())
    bench.start_measuring()
    await asyncio.to_thread(reached.wait, 10)
    closing = asyncio.ensure_future(bench.aclose())
    await asyncio.sleep(0)
    gate.set()
    await closing
    assert phases == ["specs"]
    assert bench.measurements is None
    assert not (tmp_path / "benchmarks.json").exists()


async def _measured_once(tmp_path: Path, clock: ManualClock) -> None:
    bench = make(tmp_path, Recorded(BIG), clock)
    bench.start_measuring()
    await bench.wait()


@pytest.mark.parametrize("age", [0, DAY / 2])
async def test_staleness_follows_the_clock(tmp_path: Path, age: float) -> None:
    clock = ManualClock(1_700_000_000)
    await _measured_once(tmp_path, clock)
    clock.advance(age)
    bench = make(tmp_path, Recorded(BIG), clock, max_age_seconds=DAY)
    assert bench.load_stored()
    assert not bench.is_stale()
