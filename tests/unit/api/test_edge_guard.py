"""The edge's tally of refused connections: told at once, then at most once a minute, and
never left untold when the refusals stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from fluxos.api import server
from fluxos.api.server import EdgeGuard


def tallies(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "refused or closed" in r.getMessage()]


async def test_refusals_after_a_report_are_told_by_the_timer_even_if_it_fires_early(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=server.log.name)
    # a clock that never advances: the timer runs "before" the window has passed by it,
    # as an event loop's timer can, by a little, on a real clock
    guard = EdgeGuard(limits=server.ConnectionLimits(), time=lambda: 1000.0, report_every=0.05)
    guard.count("no request", "127.0.0.21")
    assert len(tallies(caplog)) == 1  # the first refusal is told at once
    for _ in range(3):
        guard.count("headers not sent in time", "127.0.0.22")
    assert len(tallies(caplog)) == 1  # the rest wait for the window
    told_again = asyncio.Event()
    handler = logging.Handler()
    handler.emit = lambda record: told_again.set()  # type: ignore[method-assign]
    server.log.addHandler(handler)
    try:
        await asyncio.wait_for(told_again.wait(), timeout=5)
    finally:
        server.log.removeHandler(handler)
    told = tallies(caplog)
    assert len(told) == 2, told
    assert "3 × headers not sent in time (127.0.0.22)" in told[1]
