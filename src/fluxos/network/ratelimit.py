"""Per-peer frame rate limiting (p2p.md §5 step 1) and flood detection.

Upstream's shared token bucket: 120 tokens per 1 s window, refilled when a second has
passed since the window opened; the first frame opens the bucket for free and the bucket
may dip to −1, so about 122 frames a second get through and the rest are dropped before
parsing. Upstream never disconnects for volume; we also close on a flood: more than
`flood_drops` frames dropped within `flood_span` seconds. Counting drops rather than
overflowing seconds keeps the verdict independent of how the frames were batched on their
way in (a busy node reads a backlog of thousands of frames in one go), and an honest
peer's bursts (a few hundred hash announcements) stay far below it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from cachetools import TTLCache

from fluxos.clock import Clock

FRAMES_PER_WINDOW = 120
WINDOW_SECONDS = 1.0
MAX_BUCKETS = 150
BUCKET_IDLE_SECONDS = 15.0
FLOOD_DROPS = 2000
FLOOD_SPAN_SECONDS = 10.0


@dataclass(slots=True)
class _Bucket:
    tokens: int
    window_start: float
    dropped: int = 0
    # (window start, frames dropped in it), oldest first
    drops: deque[list[float]] = field(default_factory=deque)


class FrameRateLimiter:
    """Decides, per peer key, whether a frame is processed or dropped."""

    def __init__(
        self,
        clock: Clock,
        *,
        frames_per_window: int = FRAMES_PER_WINDOW,
        window_seconds: float = WINDOW_SECONDS,
        flood_drops: int = FLOOD_DROPS,
        flood_span_seconds: float = FLOOD_SPAN_SECONDS,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self._clock = clock
        self._capacity = frames_per_window
        self._window = window_seconds
        self._flood_drops = flood_drops
        self._flood_span = flood_span_seconds
        self._buckets: TTLCache[str, _Bucket] = TTLCache(
            maxsize=max_buckets, ttl=BUCKET_IDLE_SECONDS, timer=clock.monotonic
        )
        self.total_dropped = 0  # every frame dropped, for /metrics

    def allow(self, key: str) -> bool:
        """True if the frame from `key` may be processed; False → drop it silently."""
        now = self._clock.monotonic()
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = _Bucket(tokens=self._capacity, window_start=now)
            return True
        self._buckets[key] = bucket  # touch: the idle TTL counts from the last frame
        if now - bucket.window_start >= self._window:
            bucket.tokens = self._capacity
            bucket.window_start = now
        if bucket.tokens >= 0:
            bucket.tokens -= 1
            return True
        bucket.dropped += 1
        self.total_dropped += 1
        drops = bucket.drops
        if drops and drops[-1][0] == bucket.window_start:
            drops[-1][1] += 1
        else:
            drops.append([bucket.window_start, 1])
            while drops and now - drops[0][0] > self._flood_span:
                drops.popleft()
        return False

    def is_flooding(self, key: str) -> bool:
        """Whether `key` had more than `flood_drops` frames dropped in the recent span."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return False
        now = self._clock.monotonic()
        recent = sum(count for start, count in bucket.drops if now - start <= self._flood_span)
        return recent > self._flood_drops

    def dropped(self, key: str) -> int:
        bucket = self._buckets.get(key)
        return bucket.dropped if bucket else 0

    def forget(self, key: str) -> None:
        self._buckets.pop(key, None)
