"""The response cache for caller-independent public routes (upstream's route-level apicache)."""

from __future__ import annotations

from fluxos.api.answers import Rendered
from fluxos.clock import Clock
from fluxos.expiring import ExpiringLru


class ResponseCache:
    """Rendered answers (with ETag and gzip form) by request URL, each for its route's lifetime.

    Only the endpoint decides what is cacheable: public routes whose answer cannot depend
    on the caller. Errors are never stored, so a passing daemon outage does not stick.
    """

    def __init__(self, clock: Clock, max_entries: int = 4096) -> None:
        self._entries: ExpiringLru[str, Rendered] = ExpiringLru(max_entries, clock.monotonic)

    def get(self, key: str) -> Rendered | None:
        return self._entries.lookup(key)[1]

    def put(self, key: str, content: Rendered, ttl_seconds: float) -> None:
        if ttl_seconds > 0:
            self._entries.put(key, content, ttl_seconds)

    def clear(self) -> None:
        self._entries.clear()
