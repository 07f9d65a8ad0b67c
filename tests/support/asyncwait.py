"""`wait_until` for async tests, whose event loop must keep running while they wait."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


async def eventually(
    predicate: Callable[[], Any], within: float = 30.0, interval: float = 0.05
) -> Any:
    """Await until `predicate()` (sync or async) is truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
        except Exception as error:  # the service may not be ready yet
            last_error = error
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within}s (last error: {last_error})")
