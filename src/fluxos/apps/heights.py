"""The block height app rules are judged at: the daemon's, or the latest fork height.

App rules change with the chain height (§1.1), so every check and quote asks a
`HeightSource`. A node asks its synced fluxd; until then the latest fork height applies
every rule in force today. The `fluxos apps` commands find fluxd through `--rpc-url`
or a flux.conf (`rpcuser`, `rpcpassword`, `rpcport`, `rpcconnect`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from fluxos.apps.params import AppParams
from fluxos.chain.fluxd import FluxdConfig, discover_flux_conf
from fluxos.chain.liveness import SyncState
from fluxos.chain.rpcclient import RpcEndpoint
from fluxos.errors import DaemonUnavailable, FluxError
from fluxos.jsonrpc import JsonRpcClient

logger = logging.getLogger(__name__)

FLUX_CONF_ENV = "FLUXD_CONFIG_PATH"


class HeightSource(Protocol):
    """Where the node's current block height comes from."""

    async def current_height(self) -> int:
        """The height to apply app rules at; DaemonUnavailable if it cannot be known."""
        ...


class LatestForkHeight:
    """No daemon: answer the latest fork height of `params`, so every rule of today applies."""

    def __init__(self, params: AppParams) -> None:
        self._height = params.latest_fork_height()
        self._told = False

    async def current_height(self) -> int:
        if not self._told:
            logger.warning(
                "no daemon height available: app checks and prices use the latest fork height %d",
                self._height,
            )
            self._told = True
        return self._height


class SyncStatus(Protocol):
    """The node's view of fluxd (`fluxos.chain.liveness.DaemonLiveness`)."""

    def sync_state(self) -> SyncState: ...


class SyncedDaemonHeight:
    """The height of a synced fluxd; while fluxd is unreachable or still syncing, the
    `fallback`'s (said once per change in the log).

    Upstream refuses app checks then ("Daemon not yet synced."); this node keeps answering
    with today's rules, since a check or quote is advice and the chain decides at payment.
    """

    def __init__(self, status: SyncStatus, fallback: HeightSource) -> None:
        self._status = status
        self._fallback = fallback
        self._synced: bool | None = None

    async def current_height(self) -> int:
        state = self._status.sync_state()
        if state.synced != self._synced:
            if state.synced:
                logger.info("fluxd is synced: app rules use its height (%d)", state.height)
            else:
                logger.warning(
                    "fluxd is not synced (height %d of %d headers): app rules fall back",
                    state.height,
                    state.header,
                )
            self._synced = state.synced
        return state.height if state.synced else await self._fallback.current_height()


class DaemonHeight:
    """fluxd's `getblockcount` over JSON-RPC (for commands that run without a node)."""

    def __init__(self, rpc: JsonRpcClient) -> None:
        self._rpc = rpc

    async def current_height(self) -> int:
        try:
            height = await self._rpc.call("getblockcount")
        except FluxError as error:
            raise DaemonUnavailable(f"Daemon height unavailable: {error.message}") from None
        if not isinstance(height, int) or isinstance(height, bool) or height < 0:
            raise DaemonUnavailable(f"Daemon answered getblockcount with {height!r}")
        return height


def flux_conf_endpoint(path: Path) -> RpcEndpoint:
    """fluxd's RPC endpoint as the flux.conf at `path` describes it (OSError if unreadable)."""
    return FluxdConfig.read(path, testnet=False).endpoint


def find_flux_conf(
    data_dir: Path | None, environ: Mapping[str, str] | None = None, home: Path | None = None
) -> Path | None:
    """$FLUXD_CONFIG_PATH, else the node data dir's flux.conf, else where fluxd keeps it
    (~/.flux/flux.conf, or the legacy ~/.zelcash/zelcash.conf)."""
    env = os.environ if environ is None else environ
    if env.get(FLUX_CONF_ENV):
        return Path(env[FLUX_CONF_ENV]).expanduser()
    if data_dir is not None and (data_dir / "flux.conf").is_file():
        return data_dir / "flux.conf"
    return discover_flux_conf(None, home or Path.home())
