"""A small entry-capped LRU whose entries expire, for the caches on the request path.

cachetools' TTLCache and TLRUCache keep a second linked list (and TLRU a heap) beside the
dictionary and expire on every write: a put into a full 4,096-entry TLRUCache cost ~3 µs,
a TTLCache one ~2 µs, and every uncached daemon call did one or two. Here an entry is a
dictionary item holding its deadline; an insertion-ordered `dict` is the LRU order (a hit
moves its entry to the end), a full cache drops its first (least recently used) entry, and
an expired entry goes when it is next looked up.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringLru(Generic[K, V]):
    """At most `max_entries` values, each kept for the seconds it was put with."""

    __slots__ = ("_entries", "_max", "_timer")

    def __init__(self, max_entries: int, timer: Callable[[], float]) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._entries: dict[K, tuple[float, V]] = {}
        self._max = max_entries
        self._timer = timer

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: K) -> tuple[bool, V | None]:
        """(True, value) while `key`'s entry lives, else (False, None)."""
        entries = self._entries
        entry = entries.pop(key, None)
        if entry is None:
            return False, None
        if entry[0] < self._timer():
            return False, None  # expired: popped, stays out
        entries[key] = entry  # back at the end: most recently used
        return True, entry[1]

    def put(self, key: K, value: V, ttl_seconds: float) -> None:
        entries = self._entries
        entries.pop(key, None)
        entries[key] = (self._timer() + ttl_seconds, value)
        if len(entries) > self._max:
            del entries[next(iter(entries))]

    def clear(self) -> None:
        self._entries.clear()
