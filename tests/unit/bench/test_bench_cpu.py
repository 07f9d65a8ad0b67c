"""Our CPU test: the work an event does, the EPS arithmetic, the multi-process run."""

import pytest

from fluxos.bench.cpu import count_primes, measure_cpu, run_events, run_for
from fluxos.errors import BadParameter


class TickingClock:
    """Monotonic time that moves a fixed step on each reading: one event = one step."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def millis(self) -> int:
        return int(self.now * 1000)

    def monotonic(self) -> float:
        self.now += self.step
        return self.now


def test_an_event_counts_primes_from_3() -> None:
    assert count_primes(10) == 3  # 3, 5, 7
    assert count_primes(2) == 0
    assert count_primes(10_000) == 1228  # π(10000) = 1229, without 2


def test_work_scales_with_the_number_of_events() -> None:
    one = run_events(1, max_prime=2_000)
    assert one == count_primes(2_000)
    assert run_events(4, max_prime=2_000) == 4 * one


def test_eps_is_events_over_elapsed_time() -> None:
    # One reading to start, then one per event, 0.25 s apart: 4 events fill 1.0 s.
    run = run_for(1.0, max_prime=50, clock=TickingClock(0.25))
    assert run.events == 4
    assert run.seconds == 1.0
    assert run.eps == 4.0


def test_a_run_always_completes_one_event() -> None:
    run = run_for(0.001, max_prime=50, clock=TickingClock(5.0))
    assert run.events == 1
    assert run.eps == pytest.approx(0.2)


def test_bad_durations_and_worker_counts_are_refused() -> None:
    with pytest.raises(BadParameter, match="duration must be > 0"):
        run_for(0)
    with pytest.raises(BadParameter, match="workers must be >= 1"):
        measure_cpu(1.0, 0)


def test_multi_process_run_reports_both_figures() -> None:
    phases: list[str] = []
    score = measure_cpu(0.3, workers=2, max_prime=500, on_phase=phases.append)
    assert phases == ["single", "multi"]
    assert score.workers == 2
    assert isinstance(score.eps, float) and score.eps > 0
    assert isinstance(score.eps_singlethread, float) and score.eps_singlethread > 0
