"""The crash ladder: at once, 30 s, 5 min, 15 min, 30 min (repeating); reset after 10 min up."""

from __future__ import annotations

from fluxos.runtime.reconciler import LADDER_SECONDS, CrashLadder


def test_waits_grow_along_the_ladder_then_repeat() -> None:
    ladder = CrashLadder()
    now = 0.0
    waits = []
    for _ in range(7):
        assert ladder.due(now)
        ladder.attempted(now)
        wait = ladder.next_wait()
        assert not ladder.due(now + wait - 1)
        waits.append(wait)
        now += wait
    assert LADDER_SECONDS == (0.0, 30.0, 300.0, 900.0, 1800.0)
    assert waits == [30.0, 300.0, 900.0, 1800.0, 1800.0, 1800.0, 1800.0]


def test_ten_minutes_of_running_start_the_ladder_over() -> None:
    ladder = CrashLadder()
    ladder.attempted(0)
    ladder.attempted(30)
    assert ladder.next_wait() == 300
    ladder.running(40)
    ladder.running(40 + 599)
    assert ladder.attempts == 2  # not yet stable
    ladder.running(40 + 600)
    assert ladder.attempts == 0
    assert ladder.due(641)


def test_a_crash_interrupts_the_stable_period() -> None:
    ladder = CrashLadder()
    ladder.attempted(0)
    ladder.running(10)
    ladder.attempted(400)  # crashed again before 10 minutes passed
    ladder.running(410)
    ladder.running(900)
    assert ladder.attempts == 2
