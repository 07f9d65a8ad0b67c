"""Syncthing's event stream as an edge trigger for the app-folder pass (files-and-sync.md
§1.5 "Events consumer"): a folder mid-transition (receive-only, not yet verified) that
changes state, or any folder error, runs the next pass early. Events only wake the pass;
the pass decides (level-triggered), so a lost event costs at most one interval."""

from __future__ import annotations

import logging
from typing import Any

from fluxos.clock import Clock
from fluxos.errors import FluxError
from fluxos.sync.client import SyncthingClient
from fluxos.sync.controller import AppFolders

log = logging.getLogger(__name__)

EVENT_TYPES = "FolderSummary,FolderCompletion,FolderErrors,StateChanged"
POLL_SECONDS = 55
RETRY_SECONDS = 5.0


class FolderEvents:
    def __init__(self, client: SyncthingClient, folders: AppFolders, clock: Clock) -> None:
        self.client = client
        self.folders = folders
        self.clock = clock
        self.since = 0
        self.wakes = 0

    async def run(self) -> None:
        """Long-poll forever (the supervisor runs this loop)."""
        failing = False
        while True:
            try:
                events = await self.client.request(
                    "get",
                    "/rest/events",
                    params={
                        "events": EVENT_TYPES,
                        "since": str(self.since),
                        "timeout": str(POLL_SECONDS),
                    },
                    deadline=POLL_SECONDS + 10,
                )
            except FluxError as error:
                if not failing:
                    log.info(
                        "Syncthing events unavailable (%s): passes run on their timer",
                        error.message,
                    )
                failing = True
                self.since = 0
                await self.clock.sleep(RETRY_SECONDS)
                continue
            if failing:
                failing = False
                self._wake("Syncthing events are back")
            if isinstance(events, list):
                self.handle(events)

    def handle(self, events: list[Any]) -> None:
        """Advance `since` and wake the pass when an event calls for it."""
        ids: list[int] = [
            e["id"] for e in events if isinstance(e, dict) and isinstance(e.get("id"), int)
        ]
        if not ids:
            return
        if self.since and min(ids) <= self.since:
            # ids went back: Syncthing restarted; its state must be read again in full
            self.since = max(ids)
            self._wake("Syncthing's event ids restarted")
            return
        gap = self.since and min(ids) > self.since + 1
        self.since = max(ids)
        if gap:
            self._wake("events were missed")
            return
        for event in events:
            data = event.get("data") if isinstance(event, dict) else None
            folder = data.get("folder") if isinstance(data, dict) else None
            if event.get("type") == "FolderErrors":
                self._wake(f"folder errors in {folder}")
                return
            tracked = self.folders.tracked.get(folder) if isinstance(folder, str) else None
            if tracked is not None and not tracked.promoted:
                self._wake(f"{folder} is mid-transition ({event.get('type')})")
                return

    def _wake(self, why: str) -> None:
        log.debug("early Syncthing folder pass: %s", why)
        self.wakes += 1
        self.folders.wake()
