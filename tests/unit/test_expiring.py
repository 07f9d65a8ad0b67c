"""The request path's expiring LRU: lifetimes, the entry cap, LRU order, None values."""

from fluxos.clock import ManualClock
from fluxos.expiring import ExpiringLru


def test_an_entry_lives_for_its_own_seconds() -> None:
    clock = ManualClock()
    cache: ExpiringLru[str, int] = ExpiringLru(10, clock.monotonic)
    cache.put("short", 1, 5)
    cache.put("long", 2, 60)
    clock.advance(5)
    assert cache.lookup("short") == (True, 1)  # at its deadline, still served
    clock.advance(0.1)
    assert cache.lookup("short") == (False, None)
    assert cache.lookup("long") == (True, 2)
    assert len(cache) == 1  # the expired entry went when it was looked up


def test_a_full_cache_drops_the_least_recently_used_entry() -> None:
    cache: ExpiringLru[int, str] = ExpiringLru(3, ManualClock().monotonic)
    for key in range(3):
        cache.put(key, str(key), 60)
    assert cache.lookup(0) == (True, "0")  # 0 is now the most recently used
    cache.put(3, "3", 60)
    assert cache.lookup(1) == (False, None)
    assert [cache.lookup(key)[0] for key in (0, 2, 3)] == [True, True, True]
    assert len(cache) == 3


def test_a_put_replaces_and_renews_an_entry() -> None:
    clock = ManualClock()
    cache: ExpiringLru[str, object] = ExpiringLru(2, clock.monotonic)
    cache.put("k", None, 1)
    assert cache.lookup("k") == (True, None)  # None is a value, not a miss
    clock.advance(0.9)
    cache.put("k", "new", 1)
    clock.advance(0.9)
    assert cache.lookup("k") == (True, "new")
    cache.clear()
    assert cache.lookup("k") == (False, None)
