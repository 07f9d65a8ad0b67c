"""The system service: the node's own `/flux/*` routes (information, logs, settings,
software control) as one facade over the pieces in this package."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fluxos.config import Settings
from fluxos.daemon.control import ProcessControl
from fluxos.errors import FluxError, NotFound
from fluxos.events import EventBus
from fluxos.system.adjustments import SettingsAdjuster
from fluxos.system.chainstream import ChainStreamer
from fluxos.system.clockdrift import ClockDrift
from fluxos.system.firewall import PortOpened, allow_port
from fluxos.system.geolocation import GeolocationService
from fluxos.system.info import InfoBuilder
from fluxos.system.livesettings import LiveSettings
from fluxos.system.logfiles import LOG_FILES, tail
from fluxos.system.metrics import NodeMetrics
from fluxos.system.ownaddress import OwnAddress
from fluxos.system.software import SoftwareControl
from fluxos.system.sourceinfo import SourceInfo, read_source_info
from fluxos.system.supervisor import LoopStatus
from fluxos.system.upnp import UpnpService

log = logging.getLogger(__name__)

TAIL_LINES = 100


class SystemService:
    def __init__(
        self,
        *,
        live: LiveSettings,
        adjuster: SettingsAdjuster,
        software: SoftwareControl,
        control: ProcessControl,
        geolocation: GeolocationService,
        clock_drift: ClockDrift,
        own_address: OwnAddress,
        info: InfoBuilder,
        metrics: NodeMetrics,
        upnp: UpnpService,
        events: EventBus,
        chain: ChainStreamer,
        loops: Callable[[], list[LoopStatus]] = list,
    ) -> None:
        self.live = live
        self.adjust = adjuster
        self.software = software
        self.control = control
        self.geolocation = geolocation
        self.clock_drift = clock_drift
        self.own_address = own_address
        self.info = info
        self.metrics = metrics
        self.upnp = upnp
        self.events = events
        self.chain = chain
        self._loops = loops
        self._source: SourceInfo | None = None

    @property
    def settings(self) -> Settings:
        return self.live.current

    # -- information ----------------------------------------------------------------------
    async def node_info(self) -> dict[str, Any]:
        return await self.info.build()

    def loops(self, *, with_errors: bool) -> list[dict[str, object]]:
        """The supervisor's table: every background loop, its state and restarts. The text
        of a loop's last error only `with_errors` (admins), else just the error's type."""
        rows = [status.as_dict() for status in self._loops()]
        if not with_errors:
            for row in rows:
                error = row["lastError"]
                if isinstance(error, str):
                    row["lastError"] = error.split(":", 1)[0]
        return rows

    async def ip(self) -> str | None:
        return await self.own_address.get()

    def static_ip(self) -> bool:
        return self.geolocation.static_ip

    async def node_geolocation(self) -> dict[str, Any] | None:
        await self.geolocation.restore()
        return self.geolocation.geolocation

    def pgp_public_key(self) -> str:
        return self.settings.pgp_public_key

    async def drift(self) -> dict[str, Any]:
        return await self.clock_drift.drift()

    def source(self) -> SourceInfo:
        if self._source is None:
            self._source = read_source_info()
        return self._source

    # -- logs -----------------------------------------------------------------------------
    def log_path(self, name: str) -> Path:
        """The node's `<name>.log` (debug, info, warn, error); NotFound when not written yet."""
        path = self.settings.log_dir / LOG_FILES[name]
        if not path.is_file():
            raise NotFound(f"{LOG_FILES[name]} not found: this node has not written it yet")
        return path

    async def tail_log(self, name: str) -> str:
        try:
            path = self.log_path(name)
            return await asyncio.to_thread(tail, path, TAIL_LINES)
        except (OSError, NotFound) as error:
            detail = error.message if isinstance(error, FluxError) else str(error)
            raise FluxError(f"Error obtaining Flux log file: {detail}") from error

    async def allow_port(self, port: str) -> PortOpened:
        return await allow_port(self.settings.hooks, port)

    # -- control --------------------------------------------------------------------------
    async def restart(self) -> None:
        await self.software.restarter.restart()

    async def run_software_action(self, hook: str) -> str:
        return await self.software.run(hook)

    async def update_daemon(self) -> str:
        return await self.control.update_daemon()

    async def update_bench(self) -> str:
        return await self.control.update_bench()
