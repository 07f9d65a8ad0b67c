"""App folders in the node's Syncthing (files-and-sync.md §1.5–§1.7): one folder per synced
component over its whole mounted volume, shared with the nodes that run the app; the
send/receive state of each folder and whether its container may run here.

The monitor pass runs every `[syncthing] monitor_seconds`, never two at once, and is safe
to run again at any time (level-triggered). It records decisions (`gate()`); the apps
runtime's reconciler starts and stops containers by them. Every rule that declines to
act logs why, once per change of reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fluxos.clock import Clock
from fluxos.config import Settings
from fluxos.errors import FluxError
from fluxos.sync import gating, volumes
from fluxos.sync.apps import AppLocations, Gate, LocalApps, Peers, SyncedComponent, SyncMode
from fluxos.sync.client import SyncthingClient
from fluxos.sync.folders import RECEIVE_ONLY, SEND_RECEIVE, ConfigChanges, Peer, WantedFolder, plan

log = logging.getLogger(__name__)

WAITING = Gate(None, "not yet checked by the Syncthing controller")
NUDGE_PAUSE_SECONDS = 0.5
MIN_GAP_SECONDS = 2.0
OwnAddress = Callable[[], Awaitable[str | None]]


@dataclass
class Tracked:
    """What the controller remembers of one component between passes."""

    promoted: bool = False  # verified: its folder may be send-receive
    leader_since: float | None = None  # cold start: alone since
    vacant_since: float | None = None
    gate: Gate = WAITING
    note: str = ""
    folder_type: str = RECEIVE_ONLY
    layout: dict[str, bool] | None = None  # the runtime's top-level entries, first seen
    isolated_since: float | None = None  # none of its peers connected since
    stall: gating.StallTracker = field(default_factory=lambda: gating.StallTracker(180.0))


class AppFolders:
    """The controller: call `run()` as a background loop, read `gate(app_id)`."""

    def __init__(
        self,
        settings: Settings,
        client: SyncthingClient,
        own_device: Any,
        apps: LocalApps,
        locations: AppLocations,
        peers: Peers,
        clock: Clock,
        own_address: OwnAddress,
    ) -> None:
        """`own_address` gives this node's `ip:port` as the registry lists locations."""
        self.client = client
        self._own_device = own_device  # async () -> str | None (SyncService.device_id)
        self.apps = apps
        self.locations = locations
        self.peers = peers
        self.clock = clock
        self._own_address = own_address
        self.address = ""
        options = settings.syncthing
        self.interval = options.monitor_seconds
        self.grace = options.takeover_grace_seconds
        self.step = options.takeover_seconds
        self.stall_seconds = options.stall_seconds
        self.tracked: dict[str, Tracked] = {}
        self._devices: dict[str, str] = {}  # API address → last device id it gave
        self._asked: dict[str, str | None] = {}  # this pass's answers
        self.first_pass = True
        self.passes = 0
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    # -- what the runtime reads ----------------------------------------------------------
    def gate(self, app_id: str) -> Gate:
        tracked = self.tracked.get(app_id)
        return tracked.gate if tracked is not None else WAITING

    def may_run(self, app_id: str) -> bool | None:
        """`RunGate` for the reconciler: True, False, or None (not decided: leave it)."""
        return self.gate(app_id).run

    def view(self) -> list[dict[str, Any]]:
        """Per folder: its type, whether it is verified, the gate and the last reason."""
        return [
            {
                "id": app_id,
                "type": t.folder_type,
                "promoted": t.promoted,
                "run": t.gate.run,
                "reason": t.gate.reason,
                "note": t.note,
            }
            for app_id, t in sorted(self.tracked.items())
        ]

    def promoted_folders(self) -> dict[str, Any]:
        """`/apps/promotedfolders` (upstream 8.18): the folders this node holds writable;
        `ready` only once a pass has looked, so a booting node is not read as one that
        holds nothing (peers wait on an unready node rather than promote beside it)."""
        ready = self.passes > 0
        folders = sorted(app_id for app_id, t in self.tracked.items() if t.promoted)
        return {"ready": ready, "folders": folders if ready else []}

    def wake(self) -> None:
        """Run the next pass now (an app was installed, moved or removed)."""
        self._wake.set()

    # -- the loop ------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            started = self.clock.monotonic()
            try:
                await self.monitor_pass()
            except FluxError as error:
                log.warning("Syncthing folder pass failed, retrying next pass: %s", error.message)
            self._wake.clear()
            sleeper = asyncio.ensure_future(self.clock.sleep(self.interval))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()
            # woken early (events): at most one pass per MIN_GAP_SECONDS
            rest = MIN_GAP_SECONDS - (self.clock.monotonic() - started)
            if rest > 0:
                await self.clock.sleep(rest)

    async def monitor_pass(self) -> None:
        async with self._lock:
            await self._pass()

    async def _pass(self) -> None:
        components = await self.apps.synced_components()
        if components is None:
            log.debug("apps runtime busy or not loaded: Syncthing folders left as they are")
            return
        address = await self._own_address()
        if not address:
            log.info("this node's own ip:port is not known yet: app folders wait for it")
            return
        self.address = address
        self._asked = {}
        own = await self._own_device()
        if own is None:
            log.info("Syncthing does not answer: app folders left as they are until it does")
            return
        folders = await self.client.request("get", "/rest/config/folders")
        devices = await self.client.request("get", "/rest/config/devices")
        if not isinstance(folders, list) or not isinstance(devices, list):
            log.info("Syncthing's configuration is not loaded yet: waiting for the next pass")
            return
        connections = await self.client.request("get", "/rest/system/connections")
        connected = {
            device
            for device, info in ((connections or {}).get("connections") or {}).items()
            if isinstance(info, dict) and info.get("connected")
        }
        current = {f.get("id"): f for f in folders}
        points = volumes.mount_points()
        wanted: list[WantedFolder] = []
        actions: list[tuple[str, str]] = []  # (folder id, "revert" | "nudge" | "scan")
        for component in components:
            if component.app_id not in current and not volumes.is_mounted(component.volume, points):
                self._unconfigured(component)
                continue
            folder = await self._component(
                component, own, current.get(component.app_id), connected, points, actions
            )
            wanted.append(folder)
        for app_id in set(self.tracked) - {c.app_id for c in components}:
            log.info("%s is no longer installed here: its Syncthing folder goes", app_id)
            del self.tracked[app_id]
        changes = plan(own, wanted, folders, devices)
        await self._apply(changes)
        for folder_id, action in actions:
            await self._act(folder_id, action, current.get(folder_id), own)
        restart = await self.client.request("get", "/rest/config/restart-required")
        if isinstance(restart, dict) and restart.get("requiresRestart") is True:
            log.info("Syncthing asks for a restart after the folder changes: restarting it")
            await self.client.request("post", "/rest/system/restart")
        self.first_pass = False
        self.passes += 1

    def _unconfigured(self, component: SyncedComponent) -> None:
        """No new folder over a volume that is not mounted: Syncthing would create the
        missing path and its `.stfolder` on the host's disk (where the runtime is about
        to mount the volume, or where an unmounted one would take writes)."""
        app_id = component.app_id
        tracked = self.tracked.setdefault(
            app_id, Tracked(stall=gating.StallTracker(self.stall_seconds))
        )
        reason = f"{component.volume} is not mounted: no Syncthing folder yet, nothing runs"
        self._note(tracked, app_id, reason)
        tracked.gate = Gate(False, reason)

    # -- one component -------------------------------------------------------------------
    async def _component(
        self,
        component: SyncedComponent,
        own: str,
        existing: dict[str, Any] | None,
        connected: set[str],
        points: frozenset[str],
        actions: list[tuple[str, str]],
    ) -> WantedFolder:
        app_id = component.app_id
        tracked = self.tracked.get(app_id)
        if tracked is None:
            tracked = self.tracked[app_id] = Tracked(stall=gating.StallTracker(self.stall_seconds))
        now = self.clock.monotonic()
        safety = volumes.inspect(component.volume, points)
        if safety.mounted:
            volumes.prepare_markers(component.volume, points)
            if tracked.layout is None:
                tracked.layout = volumes.layout(component.volume)
            restored = volumes.restore_layout(component.volume, tracked.layout)
            if restored:
                log.info("%s: laid-out entries put back after a revert: %s", app_id, restored)
        peers, live = await self._peers_of(component)
        status = await self._status(app_id) if existing is not None else None
        global_files = int((status or {}).get("globalFiles") or 0)
        peer_index = await self._peer_index(app_id, peers, connected) if existing else []

        if self.first_pass and existing is not None:
            self._adopt(component, tracked, existing)
        elif existing is None and not tracked.promoted:
            tracked.leader_since = None
            if component.mode is SyncMode.SHARED and safety.mounted:
                # a new folder has an empty index: it cannot broadcast deletions
                tracked.promoted = True
                self._note(tracked, app_id, "new s: folder: send-receive at once")

        # safety first: never send from, never run on, an unsafe volume
        unsafe = volumes.sends_safely(safety, global_files)
        if unsafe is not None and safety.mounted and component.running:
            unsafe = None  # the app itself emptied its volume while Syncthing watched it
        if unsafe is not None:
            if tracked.promoted:
                log.warning("%s: folder set to receive-only: %s", app_id, unsafe)
            tracked.promoted = False
            tracked.leader_since = None
            self._note(tracked, app_id, unsafe)
        if safety.mounted and not tracked.promoted and status is not None:
            # an emptied volume still reverts its held-back deletions and pulls the data
            self._verify(
                component, tracked, status, peer_index, live, safety, actions, promote=not unsafe
            )
        if status is not None and status.get("state") == "error" and safety.mounted:
            actions.append((app_id, "scan"))
        if status is not None:
            self._watch(component, tracked, status, peer_index, now, actions)

        tracked.folder_type = SEND_RECEIVE if tracked.promoted else RECEIVE_ONLY
        tracked.gate = await self._gate(component, tracked, safety, peers, now)
        return WantedFolder(app_id, str(component.volume), tracked.folder_type, tuple(peers))

    def _adopt(
        self, component: SyncedComponent, tracked: Tracked, existing: dict[str, Any]
    ) -> None:
        """The first pass after the node started finds the folder already configured."""
        app_id = component.app_id
        sending = existing.get("type") == SEND_RECEIVE
        if not sending:
            self._note(tracked, app_id, "receive-only at start: waiting for a verified copy")
        elif component.mode is SyncMode.SHARED or component.running:
            # the node restarted while Syncthing and the app kept running (upstream #1238)
            tracked.promoted = True
            self._note(tracked, app_id, "kept send-receive across the node's restart")
        else:
            self._note(
                tracked, app_id, "container not running at start: receive-only until verified"
            )

    def _verify(
        self,
        component: SyncedComponent,
        tracked: Tracked,
        status: dict[str, Any],
        peer_index: list[gating.PeerIndex],
        live: list[str],
        safety: volumes.VolumeSafety,
        actions: list[tuple[str, str]],
        *,
        promote: bool,
    ) -> None:
        app_id = component.app_id
        changes = gating.receive_only_changes(status)
        if changes:
            tracked.leader_since = None
            if component.running:
                self._note(tracked, app_id, f"{changes} local changes held back while it runs")
            else:
                self._note(tracked, app_id, f"reverting {changes} local changes to the global copy")
                actions.append((app_id, "revert"))
            return
        if not promote:
            return
        behind = gating.in_sync(status)
        if behind is not None:
            tracked.leader_since = None
            self._note(tracked, app_id, f"receive-only until in sync: {behind}")
            return
        if any(p.has_index for p in peer_index):
            tracked.promoted = True
            source = ", ".join(p.address for p in peer_index if p.has_index)
            log.info("%s: copy verified in sync with %s: send-receive", app_id, source)
            tracked.note = f"verified in sync with {source}"
            return
        refusal = gating.cold_start_leader(self.address, live, peer_index)
        if refusal is not None:
            tracked.leader_since = None
            self._note(tracked, app_id, f"receive-only: {refusal}")
            return
        now = self.clock.monotonic()
        if tracked.leader_since is None:
            tracked.leader_since = now
        # an empty copy seeds after two passes; one holding data waits out the takeover
        # grace, in case a node with newer data is only slow to come back
        wait = self.grace if safety.has_data else self.interval
        if now - tracked.leader_since < wait:
            self._note(tracked, app_id, "cold start: no other node answers; this node may seed")
            return
        tracked.promoted = True
        log.info("%s: cold start, no other node answers: this node seeds the data", app_id)
        tracked.note = "seeded the folder (cold start)"

    def _watch(
        self,
        component: SyncedComponent,
        tracked: Tracked,
        status: dict[str, Any],
        peer_index: list[gating.PeerIndex],
        now: float,
        actions: list[tuple[str, str]],
    ) -> None:
        """Health watchdog: a folder that needs data and makes no progress while a peer is
        connected is nudged (pause/resume of its devices) with a doubling backoff and
        reported; nothing is ever deleted for it."""
        if peer_index and not any(p.connected for p in peer_index):
            if tracked.isolated_since is None:
                tracked.isolated_since = now
            elif now - tracked.isolated_since >= self.stall_seconds:
                log.warning(
                    "%s: cannot sync: none of its %d peers has been connected for %.0f s "
                    "(the app is left as it is)",
                    component.app_id,
                    len(peer_index),
                    now - tracked.isolated_since,
                )
                tracked.isolated_since = now  # once per stall period
        else:
            tracked.isolated_since = None
        stall = tracked.stall
        needs = int(status.get("needTotalItems") or 0) > 0
        active = status.get("state") in gating.ACTIVE_STATES
        if not needs:
            stall.reset(now)
            return
        stall.observe(int(status.get("inSyncBytes") or 0), now)
        if active:
            stall.since = now  # Syncthing is working on it: not a stall
            return
        connected = [p for p in peer_index if p.connected]
        flat = stall.stalled_for(now)
        if flat >= stall.stall_seconds and not stall.warned:
            stall.warned = True
            log.warning(
                "%s: sync stalled for %.0f s (%s bytes to fetch, %s)",
                component.app_id,
                flat,
                status.get("needBytes"),
                "peers connected" if connected else "no peer connected",
            )
        if connected and stall.due(now):
            backoff = stall.nudged(now)
            log.warning(
                "%s: nudging the stalled sync (pause/resume of its devices), next nudge "
                "after %.0f s if still flat",
                component.app_id,
                backoff,
            )
            actions.append((component.app_id, "nudge"))

    async def _gate(
        self,
        component: SyncedComponent,
        tracked: Tracked,
        safety: volumes.VolumeSafety,
        peers: list[Peer],
        now: float,
    ) -> Gate:
        if not safety.mounted:
            return Gate(False, safety.reason)
        if not tracked.promoted:
            return Gate(False, f"local copy not verified in sync: {tracked.note}")
        if component.mode is not SyncMode.PRIMARY:
            return Gate(True, "local copy verified")
        locations = [loc.address for loc in await self.locations.locations(component.app)]
        running = []
        for address in locations:
            if address == self.address:
                continue
            if await self.peers.runs(address, component.app_id):
                running.append(address)
        runs_here = component.running or tracked.gate.run is True
        if running or runs_here:
            tracked.vacant_since = None
        elif tracked.vacant_since is None:
            tracked.vacant_since = now
        vacant_for = None if tracked.vacant_since is None else now - tracked.vacant_since
        choice = gating.primary_choice(
            self.address,
            locations,
            running,
            runs_here,
            tracked.promoted,
            vacant_for,
            self.grace,
            self.step,
        )
        if choice.run != tracked.gate.run:
            log.info("%s: %s", component.app_id, choice.reason)
        return Gate(choice.run, choice.reason)

    # -- Syncthing calls -----------------------------------------------------------------
    async def _peers_of(self, component: SyncedComponent) -> tuple[list[Peer], list[str]]:
        """The app's other nodes with their device ids, and the addresses that answered
        now. A node that stops answering keeps its last known device id while it is a
        location, so a passing outage does not drop its index (upstream caches them)."""
        peers: list[Peer] = []
        live = [self.address]
        for location in sorted(
            await self.locations.locations(component.app), key=lambda loc: loc.address
        ):
            if location.address == self.address:
                continue
            if location.address not in self._asked:  # each peer once per pass
                self._asked[location.address] = await self.peers.device_id(location.address)
            device = self._asked[location.address]
            if device is not None:
                self._devices[location.address] = device
                live.append(location.address)
            else:
                device = self._devices.get(location.address)
            if device is None:
                log.debug("%s: no device id for %s yet", component.app_id, location.address)
                continue
            peers.append(Peer(location.address, device))
        return peers, live

    async def _status(self, folder_id: str) -> dict[str, Any] | None:
        try:
            status = await self.client.request(
                "get", "/rest/db/status", params={"folder": folder_id}
            )
        except FluxError as error:
            log.info("%s: status unreadable (%s): stays as it is", folder_id, error.message)
            return None
        return status if isinstance(status, dict) else None

    async def _peer_index(
        self, folder_id: str, peers: list[Peer], connected: set[str]
    ) -> list[gating.PeerIndex]:
        found = []
        for peer in peers:
            is_connected = peer.device_id in connected
            state, global_bytes = "unknown", 0
            if is_connected:
                try:
                    completion = await self.client.request(
                        "get",
                        "/rest/db/completion",
                        params={"folder": folder_id, "device": peer.device_id},
                    )
                    state = str(completion.get("remoteState") or "unknown")
                    global_bytes = int(completion.get("globalBytes") or 0)
                except FluxError as error:
                    log.debug(
                        "%s: completion of %s unreadable: %s",
                        folder_id,
                        peer.address,
                        error.message,
                    )
            found.append(gating.PeerIndex(peer.address, is_connected, state, global_bytes))
        return found

    async def _apply(self, changes: ConfigChanges) -> None:
        if changes.empty():
            return
        if changes.put_devices:
            names = ", ".join(d["name"] for d in changes.put_devices)
            log.info("adding Syncthing devices of the nodes running our apps: %s", names)
            await self.client.request("put", "/rest/config/devices", body=changes.put_devices)
        if changes.put_folders:
            for folder_id, reason in sorted(changes.reasons.items()):
                log.info("Syncthing folder %s written: %s", folder_id, reason)
            await self.client.request("put", "/rest/config/folders", body=changes.put_folders)
        for folder_id in changes.delete_folders:
            log.info("Syncthing folder %s removed (app gone; its files stay on disk)", folder_id)
            await self.client.request("delete", f"/rest/config/folders/{folder_id}")
        for device in changes.delete_devices:
            log.info("Syncthing device %s removed: no folder is shared with it", device[:7])
            await self.client.request("delete", f"/rest/config/devices/{device}")

    async def _act(
        self, folder_id: str, action: str, existing: dict[str, Any] | None, own: str
    ) -> None:
        try:
            if action == "revert":
                await self.client.request("post", "/rest/db/revert", params={"folder": folder_id})
            elif action == "scan":
                await self.client.request("post", "/rest/db/scan", params={"folder": folder_id})
            elif action == "nudge" and existing is not None:
                for device in existing.get("devices") or []:
                    device_id = device.get("deviceID")
                    if not device_id or device_id == own:
                        continue
                    await self.client.request(
                        "post", "/rest/system/pause", params={"device": device_id}
                    )
                    await self.clock.sleep(NUDGE_PAUSE_SECONDS)
                    await self.client.request(
                        "post", "/rest/system/resume", params={"device": device_id}
                    )
        except FluxError as error:
            log.warning("%s: %s failed: %s", folder_id, action, error.message)

    def _note(self, tracked: Tracked, app_id: str, note: str) -> None:
        if note != tracked.note:
            log.info("%s: %s", app_id, note)
            tracked.note = note
