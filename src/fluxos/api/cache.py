"""The response cache for caller-independent public routes (upstream's route-level apicache)."""

from __future__ import annotations

from cachetools import TLRUCache

from fluxos.api.answers import Rendered
from fluxos.clock import Clock


class ResponseCache:
    """Rendered answers (with ETag and gzip form) by request URL, each for its route's lifetime.

    Only the endpoint decides what is cacheable: public routes whose answer cannot depend
    on the caller. Errors are never stored, so a passing daemon outage does not stick.
    """

    def __init__(self, clock: Clock, max_entries: int = 4096) -> None:
        self._entries: TLRUCache[str, tuple[float, Rendered]] = TLRUCache(
            maxsize=max_entries,
            ttu=lambda _key, value, now: now + value[0],
            timer=clock.monotonic,
        )

    def get(self, key: str) -> Rendered | None:
        entry = self._entries.get(key)
        return entry[1] if entry is not None else None

    def put(self, key: str, content: Rendered, ttl_seconds: float) -> None:
        if ttl_seconds > 0:
            self._entries[key] = (ttl_seconds, content)

    def clear(self) -> None:
        self._entries.clear()
