"""What the install checks know of this node: tier, hardware, address, static IP."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

from fluxos.apps.resources import Tier
from fluxos.runtime.errors import InstallError
from fluxos.runtime.requirements import NodeFacts, host_cores, host_ram_mb
from fluxos.system.nodetier import NodeTier

log = logging.getLogger(__name__)


class NodeFactsSource:
    def __init__(
        self,
        tier: NodeTier,
        own_ip: Callable[[], Awaitable[str | None]],
        fallback_ip: str,
        disk: Path,
        static_ip: Callable[[], bool],
        datacenter: Callable[[], bool],
    ) -> None:
        self.tier = tier
        self.own_ip = own_ip
        self.fallback_ip = fallback_ip
        self.disk = disk
        self.static_ip = static_ip
        self.datacenter = datacenter

    async def facts(self) -> NodeFacts:
        try:
            collateral = await self.tier.collateral()
        except Exception as error:
            raise InstallError(f"Unable to determine this node's tier: {error}") from error
        try:
            ip = await self.own_ip() or self.fallback_ip
        except Exception as error:  # the bench is away: the configured address
            log.info("own address unknown (%s); using %s", error, self.fallback_ip)
            ip = self.fallback_ip
        self.disk.mkdir(parents=True, exist_ok=True)
        return NodeFacts(
            tier=cast(Tier, collateral.internal_tier),
            cores=host_cores(),
            ram_mb=host_ram_mb(),
            ssd_gb=shutil.disk_usage(self.disk).total / 1024**3,
            ip=ip,
            static_ip=self.static_ip(),
            datacenter=self.datacenter(),
            collateral=f"{collateral.txid}:{collateral.index}",
        )
