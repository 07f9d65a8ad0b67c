"""The block height app rules are judged at: the daemon's, or the latest fork height.

App rules change with the chain height (§1.1), so every check and quote asks a
`HeightSource`. A node asks its fluxd; without one, the latest fork height applies
every rule in force today. The `fluxos apps` commands find fluxd through `--rpc-url`
or a flux.conf (`rpcuser`, `rpcpassword`, `rpcport`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fluxos.apps.params import AppParams
from fluxos.chain.fluxconf import FluxConf
from fluxos.errors import DaemonUnavailable, FluxError
from fluxos.jsonrpc import JsonRpcClient

logger = logging.getLogger(__name__)

FLUXD_RPC_PORT = 16124
FLUXD_TESTNET_RPC_PORT = 26124
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


class DaemonHeight:
    """fluxd's `getblockcount` over JSON-RPC; with a `fallback`, its height while fluxd
    cannot answer (said once per outage in the log)."""

    def __init__(self, rpc: JsonRpcClient, fallback: HeightSource | None = None) -> None:
        self._rpc = rpc
        self._fallback = fallback
        self._failing = False

    async def current_height(self) -> int:
        try:
            height = await self._ask()
        except DaemonUnavailable as error:
            if self._fallback is None:
                raise
            if not self._failing:
                logger.warning("%s; app rules fall back until fluxd answers", error.message)
                self._failing = True
            return await self._fallback.current_height()
        if self._failing:
            logger.info("fluxd answers again: app rules use its height %d", height)
            self._failing = False
        return height

    async def _ask(self) -> int:
        try:
            height = await self._rpc.call("getblockcount")
        except FluxError as error:
            raise DaemonUnavailable(f"Daemon height unavailable: {error.message}") from None
        if not isinstance(height, int) or isinstance(height, bool) or height < 0:
            raise DaemonUnavailable(f"Daemon answered getblockcount with {height!r}")
        return height


@dataclass(frozen=True)
class RpcEndpoint:
    """fluxd's JSON-RPC address and login, as a flux.conf gives them."""

    url: str
    user: str
    password: str

    def client(self, timeout: float = 10.0) -> JsonRpcClient:
        return JsonRpcClient(self.url, self.user, self.password, timeout=timeout)


def read_flux_conf_rpc(path: Path, *, testnet: bool = False) -> RpcEndpoint:
    """fluxd's RPC endpoint from a flux.conf: `rpcconnect`, `rpcport` (by network when
    absent), `rpcuser`, `rpcpassword`. Raises OSError if the file cannot be read."""
    conf = FluxConf.read(path)
    testnet = testnet or conf.get("testnet") == "1"
    port_text = conf.get("rpcport") or ""
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise FluxError(f"{path}: rpcport must be a port number, got {port_text!r}")
    port = int(port_text) if port_text else FLUXD_TESTNET_RPC_PORT if testnet else FLUXD_RPC_PORT
    host = conf.get("rpcconnect") or "127.0.0.1"
    return RpcEndpoint(
        f"http://{host}:{port}/", conf.get("rpcuser") or "", conf.get("rpcpassword") or ""
    )


def find_flux_conf(
    data_dir: Path | None, environ: Mapping[str, str] | None = None, home: Path | None = None
) -> Path | None:
    """$FLUXD_CONFIG_PATH, else the node data dir's flux.conf, else fluxd's ~/.flux/flux.conf."""
    env = os.environ if environ is None else environ
    if env.get(FLUX_CONF_ENV):
        return Path(env[FLUX_CONF_ENV]).expanduser()
    candidates = [data_dir / "flux.conf"] if data_dir else []
    candidates.append((home or Path.home()) / ".flux" / "flux.conf")
    return next((path for path in candidates if path.is_file()), None)
