"""Syncthing's events wake the app-folder pass early: rules on made-up event lists, then a
real Syncthing 1.29 whose folder (receive-only, not yet verified) changes state."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from fluxos.sync.apps import SyncMode, app_identifier
from fluxos.sync.controller import Tracked
from fluxos.sync.events import FolderEvents
from tests.support.asyncwait import eventually
from tests.support.syncfleet import Fleet, FleetNode

FOLDER = app_identifier("wiki", "db")


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[FleetNode]:
    if os.geteuid() != 0:
        pytest.skip("app volumes are mounts: root only")
    fleet = Fleet(tmp_path / "fleet", 1)
    [only] = fleet.nodes
    fleet.install(only, "wiki", "db", SyncMode.REPLICATED, 1, tmpfs=True)
    try:
        await fleet.start(only, passes=False)
        yield only
    finally:
        await fleet.close()


def event(number: int, kind: str, folder: str = FOLDER) -> dict[str, object]:
    return {"id": number, "type": kind, "data": {"folder": folder}}


async def test_which_events_wake_the_pass(node: FleetNode) -> None:
    assert node.folders is not None and node.sync is not None
    events = FolderEvents(node.sync.client, node.folders, node.sync.clock)
    node.folders.tracked[FOLDER] = Tracked(promoted=True)
    events.handle([event(1, "StateChanged"), event(2, "FolderSummary", "other")])
    assert (events.since, events.wakes) == (2, 0)  # verified or unknown folders: no
    events.handle([event(3, "FolderErrors")])
    assert events.wakes == 1
    node.folders.tracked[FOLDER].promoted = False  # mid-transition
    events.handle([event(4, "FolderCompletion")])
    assert events.wakes == 2
    events.handle([event(9, "FolderSummary", "other")])  # 5-8 missed: a full pass
    assert (events.since, events.wakes) == (9, 3)
    events.handle([event(1, "FolderSummary", "other")])  # Syncthing restarted
    assert (events.since, events.wakes) == (1, 4)


@pytest.mark.slow
async def test_a_real_state_change_wakes_the_pass(node: FleetNode) -> None:
    assert node.folders is not None and node.sync is not None
    await node.folders.monitor_pass()  # the folder is made, receive-only, not verified
    assert not node.folders.tracked[FOLDER].promoted
    events = FolderEvents(node.sync.client, node.folders, node.sync.clock)
    task = asyncio.create_task(events.run())
    try:
        await eventually(lambda: events.since > 0, within=30)
        woken = events.wakes
        await node.rest("post", "/rest/db/scan", params={"folder": FOLDER})
        await eventually(lambda: events.wakes > woken, within=30)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
