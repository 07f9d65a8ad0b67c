"""The node's last good benchmark, kept in its database (spec daemon.md §4.3).

Each successful `getbenchmarks` whose `status` is a tier is remembered, at most once a
day; `/benchmark/getstoredbenchmark` serves it, and services fall back on it when the
bench does not answer.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fluxos.clock import Clock
from fluxos.errors import NotFound
from fluxos.storage.nodestate import NodeState

log = logging.getLogger(__name__)

DOCUMENT_KEY = "nodeBenchmark"
VALID_TIERS = frozenset({"CUMULUS", "NIMBUS", "STRATUS"})
REFRESH_SECONDS = 24 * 3600.0


def benchmark_tier(benchmarks: Any) -> str | None:
    """The tier a getbenchmarks result passed, or None. fluxd relays the bench's answer as
    JSON text, fluxbenchd as an object; both are read."""
    if isinstance(benchmarks, str):
        try:
            benchmarks = json.loads(benchmarks)
        except ValueError:
            return None
    if not isinstance(benchmarks, dict):
        return None
    status = benchmarks.get("status")
    return status if status in VALID_TIERS else None


class StoredBenchmark:
    """Remembers the latest valid benchmark in the node state."""

    def __init__(self, state: NodeState, clock: Clock) -> None:
        self.state = state
        self.clock = clock
        self._last_write_ms: int | None = None

    async def remember(self, benchmarks: Any) -> bool:
        """Store `benchmarks` when it passed a tier and the stored one is a day old; returns
        whether it was written. A storage failure is logged, never raised: the caller
        already has its answer."""
        tier = benchmark_tier(benchmarks)
        if tier is None:
            log.debug("benchmark status is not a tier; not storing it")
            return False
        now_ms = self.clock.millis()
        try:
            if self._last_write_ms is None:
                stored = await self.state.get(DOCUMENT_KEY)
                self._last_write_ms = int(stored.get("updatedAt", 0)) if stored else 0
            if now_ms - self._last_write_ms < REFRESH_SECONDS * 1000:
                return False
            document = {"benchmark": benchmarks, "tier": tier, "updatedAt": now_ms}
            await self.state.put(DOCUMENT_KEY, document, now_ms / 1000)
        except Exception:
            log.exception("could not store the benchmark; keeping the previous one")
            return False
        self._last_write_ms = now_ms
        log.info("stored the %s benchmark", tier)
        return True

    async def stored(self) -> dict[str, Any]:
        """`{benchmark, tier}`, or NotFound when none was ever stored."""
        document = await self.state.get(DOCUMENT_KEY)
        if not document or not document.get("benchmark"):
            raise NotFound("No stored benchmark data available")
        return {"benchmark": document["benchmark"], "tier": document.get("tier")}
