"""The one way blocking libraries (the Docker SDK, file walks, archive work) run: in a
worker thread of a bounded pool, never on the event loop."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class BlockingRunner:
    """A named pool of worker threads; each area that blocks gets its own, so a slow
    dockerd cannot starve file operations of threads."""

    def __init__(self, name: str, max_workers: int = 8) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` in a worker thread; its exception is raised here."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await loop.run_in_executor(self._executor, call)

    def close(self) -> None:
        """Stop taking work; running calls finish in their threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)
