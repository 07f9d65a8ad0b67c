from fluxos.clock import ManualClock
from fluxos.network.ratelimit import FrameRateLimiter


def test_about_122_frames_per_second_pass_then_refill() -> None:
    clock = ManualClock()
    limiter = FrameRateLimiter(clock)
    passed = sum(limiter.allow("1.2.3.4:16127") for _ in range(500))
    assert passed == 122  # the opening frame is free and the bucket may dip to -1
    assert limiter.dropped("1.2.3.4:16127") == 378
    clock.advance(0.99)
    assert not limiter.allow("1.2.3.4:16127")
    clock.advance(0.01)
    assert sum(limiter.allow("1.2.3.4:16127") for _ in range(500)) == 121


def test_peers_have_separate_buckets() -> None:
    clock = ManualClock()
    limiter = FrameRateLimiter(clock)
    for _ in range(200):
        limiter.allow("a")
    assert limiter.allow("b")


def test_a_burst_is_not_a_flood_but_sustained_excess_is() -> None:
    clock = ManualClock()
    limiter = FrameRateLimiter(clock, flood_drops=2000, flood_span_seconds=10)
    for _ in range(1000):  # a burst: 878 frames over the allowance
        limiter.allow("peer")
    assert not limiter.is_flooding("peer")
    for _second in range(5):
        clock.advance(1.0)
        for _ in range(400):
            limiter.allow("peer")
    assert limiter.dropped("peer") == 878 + 5 * 279
    assert limiter.is_flooding("peer")
    clock.advance(11)
    assert not limiter.is_flooding("peer")  # old drops age out of the span


def test_a_backlog_read_in_one_go_is_judged_by_its_size() -> None:
    clock = ManualClock()
    limiter = FrameRateLimiter(clock)
    for _ in range(5000):  # thousands of queued frames processed within one second
        limiter.allow("peer")
    assert limiter.is_flooding("peer")


def test_a_busy_but_polite_peer_never_floods() -> None:
    clock = ManualClock()
    limiter = FrameRateLimiter(clock)
    for _second in range(30):
        assert all(limiter.allow("peer") for _ in range(120))
        clock.advance(1.0)
    assert not limiter.is_flooding("peer")
    assert limiter.dropped("peer") == 0
