"""In-process wake-ups for coroutines waiting on a key (a login phrase, a signature id).

Websocket waiters listen here instead of polling the database every 500 ms as upstream
does; the service notifies after its write commits, so a woken waiter finds the row.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class Notifier:
    """Keyed events: `listen(key)` while waiting, `notify(key)` after writing."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Event]] = {}

    @contextlib.contextmanager
    def listen(self, key: str) -> Iterator[asyncio.Event]:
        """An event set by every later `notify(key)`; clear it before each re-check."""
        event = asyncio.Event()
        self._listeners.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            listeners = self._listeners.get(key)
            if listeners is not None:
                listeners.discard(event)
                if not listeners:
                    del self._listeners[key]

    def notify(self, key: str) -> None:
        for event in self._listeners.get(key, ()):
            event.set()

    def listening(self, key: str) -> int:
        return len(self._listeners.get(key, ()))


async def wait_for_event(event: asyncio.Event, seconds: float) -> bool:
    """Whether `event` got set within `seconds`."""
    if seconds <= 0:
        return event.is_set()
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
