"""The node's event bus, served as Server-Sent Events at `/flux/eventstream` (upstream's
`fluxEventBus`, behind its `testEventStream` switch).

Publishers (the peer table: `peers:added`, `peers:removed`) call `publish(name, data)`;
a disabled bus ignores them. The last `BUFFER_SIZE` events stay in a ring buffer with
increasing ids, so a client reconnecting with `Last-Event-ID` gets what it missed. Each
subscriber has a bounded queue: a client too slow to keep up loses events, counted and
logged, rather than the node growing memory for it. A comment line every 15 s keeps
idle connections open through proxies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

BUFFER_SIZE = 1024
SUBSCRIBER_QUEUE = 256
KEEPALIVE_SECONDS = 15.0


@dataclass(frozen=True)
class Event:
    id: int
    event: str
    data: Any
    timestamp: int

    def frame(self) -> str:
        return f"event: {self.event}\ndata: {json.dumps(self.data)}\nid: {self.id}\n\n"


class EventBus:
    def __init__(self, enabled: bool, *, keepalive: float = KEEPALIVE_SECONDS) -> None:
        self.enabled = enabled
        self.keepalive = keepalive
        self._buffer: deque[Event] = deque(maxlen=BUFFER_SIZE)
        self._next_id = 1
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self.dropped = 0  # events a slow subscriber did not get

    def publish(self, name: str, data: Any) -> None:
        if not self.enabled:
            return
        event = Event(self._next_id, name, data, int(time.time() * 1000))
        self._next_id += 1
        self._buffer.append(event)
        for queue in self._subscribers:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self.dropped += 1
                log.warning("event stream: a slow subscriber missed event %d (%s)", event.id, name)

    def since(self, after_id: int) -> list[Event]:
        return [event for event in self._buffer if event.id > after_id]

    async def frames(self, last_event_id: int) -> AsyncIterator[str]:
        """What one client receives: the missed events, then live ones and keep-alives."""
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)  # before the replay: nothing falls between the two
        try:
            replayed = self.since(last_event_id)
            newest = last_event_id
            for event in replayed:
                newest = event.id
                yield event.frame()
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), self.keepalive)
                except TimeoutError:
                    yield ": keepalive\n\n"
                    continue
                if event.id > newest:
                    newest = event.id
                    yield event.frame()
        finally:
            self._subscribers.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)


def last_event_id(header: str | None) -> int:
    """`Last-Event-ID` as upstream reads it (`parseInt(…) || 0`)."""
    digits = ""
    for char in (header or "").strip():
        if not char.isdigit():
            break
        digits += char
    return int(digits) if digits else 0
