"""The node's Syncthing as one service: the process it keeps running, the REST client,
the proxy calls of `/syncthing/*`, the device id peers ask for, metrics and diagnostics.

`run()` is the sentinel loop (files-and-sync.md §1.2): find the binary, adopt or start
Syncthing, keep its options as §1.2 says, and check every minute that it answers; a
Syncthing that stopped is started again, one that keeps failing to answer is restarted.
Restarting the node does not restart Syncthing (the process is not the node's child).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fluxos.blocking import BlockingRunner
from fluxos.clock import Clock
from fluxos.config import Settings
from fluxos.errors import FluxError, UnnamedError
from fluxos.sync import diagnostics, metrics
from fluxos.sync.binary import SyncthingBinary, SyncthingMissing, find_syncthing
from fluxos.sync.client import SyncthingClient
from fluxos.sync.homeconfig import HomeLayout, listen_addresses, read_api_key
from fluxos.sync.process import SyncthingProcess, running_pid, stop_syncthing
from fluxos.sync.proxytable import SyncthingCall

if TYPE_CHECKING:
    from fluxos.sync.controller import AppFolders

log = logging.getLogger(__name__)

Reporter = Callable[[str], None]
NOT_RUNNING = "Syncthing is not running properly"
TURNED_OFF = "Syncthing is turned off on this node"
META_PREFIX = "var metadata = "
READY_SECONDS = 60.0
FAILURES_BEFORE_RESTART = 3
ADJUST_EVERY = 8  # sentinel runs (~8 min), as upstream
METRICS_SECONDS = 60.0
FOLDER_DEFAULTS = {
    "syncOwnership": True,
    "sendOwnership": True,
    "syncXattrs": True,
    "sendXattrs": True,
    "maxConflicts": 0,
}


def gui_host(settings: Settings) -> str:
    """Syncthing's API listens on loopback only: the node's own address when that is a
    loopback one (several nodes on one machine), else 127.0.0.1."""
    if settings.syncthing.gui_host:
        return settings.syncthing.gui_host
    try:
        if ipaddress.ip_address(settings.host).is_loopback:
            return settings.host
    except ValueError:
        pass
    return "127.0.0.1"


class SyncService:
    """What the node and the `/syncthing/*` routes know of the local Syncthing."""

    def __init__(
        self, settings: Settings, clock: Clock, *, managed: bool, enabled: bool = True
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.home = settings.syncthing_home
        self.enabled = enabled and settings.syncthing.enabled
        self.managed = managed and self.enabled
        address = f"{gui_host(settings)}:{settings.syncthing.gui_port}"
        self.layout = HomeLayout(address, listen_addresses(settings.host, settings.syncthing_port))
        self.client = SyncthingClient(f"http://{address}", lambda: read_api_key(self.home))
        self.history = metrics.MetricsHistory()
        self.app_folders: AppFolders | None = None  # the node sets it when apps sync here
        self.process: SyncthingProcess | None = None
        self.binary: SyncthingBinary | None = None
        self.problem: str | None = None  # why Syncthing is not available, for status views
        self._device_lock = asyncio.Lock()
        self._last_ok = True  # optimistic until the first check, as upstream
        self._answered = asyncio.Event()  # set once Syncthing has answered a check
        self._blocking = BlockingRunner("syncthing", max_workers=2)

    # -- the proxy -------------------------------------------------------------------------
    def _require_enabled(self) -> None:
        if not self.enabled:
            raise FluxError(TURNED_OFF, name="SyncthingUnavailable")

    async def proxy(self, call: SyncthingCall) -> Any:
        """Make one table-built call; JSON/text answers, or a RawAnswer for `raw` rows."""
        self._require_enabled()
        if call.raw:
            return await self.client.raw(
                call.method, call.path, params=call.params, deadline=call.timeout
            )
        return await self.client.request(
            call.method,
            call.path,
            params=call.params,
            body=call.body,
            text_body=call.text_body,
            deadline=call.timeout,
        )

    # -- the device id (part of the node-to-node protocol) ---------------------------------
    async def device_id(self) -> str | None:
        """This Syncthing's device id when meta, health and ping all answer, else None."""
        if not self.enabled:
            return None
        async with self._device_lock:
            try:
                meta = await self.client.request("get", "/meta.js")
                health = await self.client.request("get", "/rest/noauth/health")
                ping = await self.client.request("get", "/rest/system/ping")
            except FluxError as error:
                self._last_ok = False
                log.debug("Syncthing device id check failed: %s", error.message)
                return None
        device = _device_from_meta(meta)
        ok = (
            device is not None
            and isinstance(ping, dict)
            and ping.get("ping") == "pong"
            and isinstance(health, dict)
            and health.get("status") == "OK"
        )
        self._last_ok = ok
        if ok:
            self._answered.set()
        return device if ok else None

    async def require_device_id(self) -> str:
        device = await self.device_id()
        if device is None:
            raise UnnamedError(NOT_RUNNING)
        return device

    async def is_running(self) -> bool:
        """For the login gate: does Syncthing answer right now."""
        return await self.device_id() is not None

    @property
    def last_check_ok(self) -> bool:
        return self._last_ok

    # -- metrics and diagnostics -----------------------------------------------------------
    async def metrics(self) -> dict[str, Any]:
        self._require_enabled()
        return await metrics.collect(self.client, self.clock.millis())

    async def metrics_summary(self) -> dict[str, Any]:
        return metrics.summary(await self.metrics())

    def metrics_history(self, limit: int | None) -> dict[str, Any]:
        return self.history.view(limit)

    async def peer_diagnostics(self) -> dict[str, Any]:
        self._require_enabled()
        return await diagnostics.peer_diagnostics(self.client, self.clock.millis())

    async def metrics_loop(self) -> None:
        """A snapshot every minute while Syncthing answers (upstream's history ring)."""
        await self._answered.wait()
        while True:
            if self._last_ok:
                snapshot = await self.metrics()
                self.history.add(snapshot)
                if not snapshot["overall"]["healthy"]:
                    log.warning(
                        "Syncthing health issues: %s", ", ".join(snapshot["overall"]["issues"])
                    )
            await self.clock.sleep(METRICS_SECONDS)

    # -- options (§1.2) --------------------------------------------------------------------
    async def adjust(self) -> None:
        """Keep Syncthing's options as the node needs them; restart it if it asks."""
        client = self.client
        options = await client.request("get", "/rest/config/options")
        wanted = self.layout.options()
        if any(options.get(key) != value for key, value in wanted.items()):
            log.info("Syncthing options differ from the node's: patching %s", sorted(wanted))
            await client.request("patch", "/rest/config/options", body=wanted)
        defaults = await client.request("get", "/rest/config/defaults/folder")
        if any(defaults.get(key) != value for key, value in FOLDER_DEFAULTS.items()):
            log.info("Syncthing folder defaults differ: patching ownership, xattrs, conflicts")
            await client.request("patch", "/rest/config/defaults/folder", body=FOLDER_DEFAULTS)
        folders = await client.request("get", "/rest/config/folders")
        if isinstance(folders, list) and any(f.get("id") == "default" for f in folders):
            log.info("removing Syncthing's 'default' folder: the node only syncs app volumes")
            await client.request("delete", "/rest/config/folders/default")
        if self.settings.development:
            gui = await client.request("get", "/rest/config/gui")
            if isinstance(gui, dict) and gui.get("debugging") is not True:
                await client.request("patch", "/rest/config/gui", body={"debugging": True})
        restart = await client.request("get", "/rest/config/restart-required")
        if isinstance(restart, dict) and restart.get("requiresRestart") is True:
            log.info("Syncthing needs a restart for its new configuration: restarting it")
            await client.request("post", "/rest/system/restart")

    # -- the sentinel ----------------------------------------------------------------------
    async def run(self, report: Reporter | None = None) -> None:
        """Keep Syncthing running and configured (the supervisor runs this loop)."""
        say = report or (lambda _detail: None)
        if not self.enabled:
            self.problem = TURNED_OFF
            log.warning(
                "%s: app data is not replicated and app folders are not managed", TURNED_OFF
            )
            say("turned off")
            return
        if self.managed:
            await self._install_process(say)
        interval = self.settings.syncthing.sentinel_seconds
        runs = 0
        failures = 0
        while True:
            if self.managed and self.process is not None and self.process.running_pid() is None:
                log.warning("Syncthing (home %s) is not running: starting it", self.home)
                await self._start(say)
            device = await self.device_id()
            if device is None:
                failures += 1
                self.problem = f"Syncthing at {self.layout.gui_address} does not answer"
                say(self.problem)
                if self.managed and failures >= FAILURES_BEFORE_RESTART and self.process:
                    log.error(
                        "Syncthing did not answer %d checks in a row: restarting it", failures
                    )
                    await self.process.stop()
                    await self._start(say)
                    failures = 0
            else:
                if failures or runs == 0:
                    log.info("Syncthing answers: device id %s", device)
                failures = 0
                self.problem = None
                if runs % ADJUST_EVERY == 0:
                    try:
                        await self.adjust()
                    except FluxError as error:
                        log.warning("adjusting Syncthing's options failed: %s", error.message)
                say(f"running, device id {device}")
                runs += 1
            await self.clock.sleep(interval)

    async def _install_process(self, say: Reporter) -> None:
        while self.binary is None:
            try:
                self.binary = await self._blocking.run(
                    find_syncthing, self.settings.syncthing.binary
                )
            except SyncthingMissing as missing:
                self.problem = str(missing)
                log.error("Syncthing not started: %s", missing)
                say(f"not started: {missing}")
                await self.clock.sleep(self.settings.syncthing.sentinel_seconds)
        self.process = SyncthingProcess(self.binary, self.home, self.layout, self.clock)
        await self._start(say)

    async def _start(self, say: Reporter) -> None:
        assert self.process is not None
        try:
            state = await self.process.ensure_running()
        except (OSError, RuntimeError) as error:
            self.problem = f"Syncthing could not be started: {error}"
            log.error("%s", self.problem)
            say(self.problem)
            return
        say(f"{'adopted' if state.adopted else 'started'} Syncthing pid {state.pid}")
        deadline = self.clock.monotonic() + READY_SECONDS
        while self.clock.monotonic() < deadline:
            if await self.device_id() is not None:
                return
            await self.clock.sleep(0.25)
        log.warning(
            "Syncthing (pid %s) does not answer yet at %s", state.pid, self.layout.gui_address
        )

    def running_pid(self) -> int | None:
        """The pid of this node's Syncthing, from its pidfile (None: not running)."""
        return running_pid(self.home)

    # -- for the network's availability view (API port + 2) --------------------------------
    def listening(self) -> bool:
        """Whether Syncthing (which holds the listen port) answered the last check."""
        return self._last_ok and (not self.managed or self.running_pid() is not None)

    def describe(self) -> str:
        if self.listening():
            return f"Syncthing listening on {', '.join(self.layout.listen_addresses)}"
        return f"closed: {self.problem or 'Syncthing does not answer'}"

    async def stop_process(self) -> bool:
        """Stop this node's Syncthing (operator command and tests; the node never does)."""
        return await stop_syncthing(self.home, self.clock)

    def promoted_folders(self) -> dict[str, Any]:
        """`/apps/promotedfolders`: never ready where this node syncs no app folders."""
        if self.app_folders is None:
            return {"ready": False, "folders": []}
        return self.app_folders.promoted_folders()

    async def aclose(self) -> None:
        await self.client.aclose()
        if self.process is not None:
            self.process.close()
        self._blocking.close()


def _device_from_meta(meta: Any) -> str | None:
    """`var metadata = {"deviceID":"…"};` → the device id."""
    if not isinstance(meta, str) or not meta.startswith(META_PREFIX):
        return None
    text = meta[len(META_PREFIX) :].strip().rstrip(";")
    try:
        device = json.loads(text).get("deviceID")
    except (ValueError, AttributeError):
        return None
    return device if isinstance(device, str) and device else None
