"""The facts the `/flux/*` informational routes report: this process and its host, the
owner's settings, the node's tier, and what the benchmark daemon says of the system."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from fluxos.config import Settings
from fluxos.errors import FluxError
from fluxos.system.hostinfo import HostInfo
from fluxos.system.nodetier import NodeTier

if TYPE_CHECKING:
    from fluxos.apps.enterprisenodes import EnterpriseNodes

log = logging.getLogger(__name__)


class _Bench(Protocol):
    async def call(self, method: str, *params: Any, use_cache: bool = True) -> Any: ...


class NodeInfo:
    """The service of the "Flux" information routes (`node.info`)."""

    def __init__(self, settings: Settings, host: HostInfo, tier: NodeTier, bench: _Bench) -> None:
        self.settings = settings
        self.host = host
        self.tier = tier
        self._bench = bench
        self.enterprise: EnterpriseNodes | None = None  # set once the apps area is built

    async def tier_name(self) -> str:
        """cumulus/nimbus/stratus from the collateral, `_new` for current amounts."""
        collateral = await self.tier.collateral()
        return collateral.tier

    async def is_arcane_os(self) -> bool:
        """Whether the benchmark daemon reports a secure (ArcaneOS) system; False when it
        cannot be asked, as upstream answers."""
        try:
            benchmarks = await self._bench.call("getbenchmarks")
        except FluxError as error:
            log.debug("isarcaneos: benchmark daemon unavailable (%s); answering false", error)
            return False
        return bool(isinstance(benchmarks, dict) and benchmarks.get("systemsecure") is True)

    def flux_ids(self) -> dict[str, str]:
        """The Flux team's ZelIDs, keyed as upstream answers them."""
        return {
            "fluxTeamFluxID": self.settings.flux_team_zelid,
            "fluxSupportTeamFluxID": self.settings.flux_support_team_zelid,
        }
