"""Streamed progress of a long runtime action (install, redeploy): the status objects the
action reports as it goes, then upstream's result envelope (apps.md §11.2)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fluxos.errors import FluxError

Report = Callable[[dict[str, Any]], None]


def envelope(status: str, message: str, name: str | None = None) -> str:
    data: dict[str, Any] = {}
    if name is not None:
        data["name"] = name
    data["message"] = message
    return json.dumps({"status": status, "data": data})


async def streamed(action: Callable[[Report], Awaitable[None]], success: str) -> AsyncIterator[str]:
    """Run `action(report)` as a task and yield each reported status as it comes, then the
    success envelope, or the error envelope of the FluxError it raised. The action runs to
    its end (or its own clean-up) even if the caller stops reading."""
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    failed: list[FluxError] = []

    async def work() -> None:
        try:
            await action(queue.put_nowait)
        except FluxError as error:
            failed.append(error)
        finally:
            queue.put_nowait(None)

    task = asyncio.create_task(work())
    try:
        while (status := await queue.get()) is not None:
            yield json.dumps(status)
        await task
    finally:
        if not task.done():
            await task
    if failed:
        yield envelope("error", failed[0].message, failed[0].name)
    else:
        yield envelope("success", success)
