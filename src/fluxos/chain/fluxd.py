"""Finding fluxd and fluxbenchd: flux.conf discovery and the RPC endpoints it implies
(spec daemon.md §2.1–§2.3, §4.1), and the two clients built on them.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

from fluxos.chain.fluxconf import FluxConf
from fluxos.chain.rpccache import RpcCaches
from fluxos.chain.rpcclient import DaemonClient, RpcEndpoint
from fluxos.chain.rpcmethods import FLUXBENCH_METHODS, FLUXD_METHODS
from fluxos.clock import Clock

log = logging.getLogger(__name__)

FLUXD_HOST = "127.0.0.1"
FLUXD_RPC_PORT = 16124
FLUXD_RPC_PORT_TESTNET = 26124
FLUXD_TIMEOUT = 40.0
FLUXD_CONCURRENCY = 5
FLUXBENCH_RPC_PORT = 16224
FLUXBENCH_RPC_PORT_TESTNET = 26224
FLUXBENCH_TIMEOUT = 10.0
# fluxd's and fluxbenchd's fixed, publicly documented fallback credentials
DEFAULT_RPC_USER = "rpcuser"
DEFAULT_RPC_PASSWORD = "rpcpassword"  # noqa: S105
FLUXBENCH_CREDENTIALS = ("fluxbenchuser", "fluxbenchpassword")
LEGACY_BENCH_CREDENTIALS = ("zelbenchuser", "zelbenchpassword")


def flux_conf_candidates(home: Path, platform: str = sys.platform) -> list[Path]:
    """Where fluxd keeps its config on this platform, newest name first."""
    if platform == "darwin":
        support = home / "Library" / "Application Support"
        return [support / "Flux" / "flux.conf", support / "Zelcash" / "zelcash.conf"]
    if platform.startswith("win"):
        appdata = home / "AppData" / "Roaming"
        return [appdata / "Flux" / "flux.conf", appdata / "Zelcash" / "zelcash.conf"]
    return [home / ".flux" / "flux.conf", home / ".zelcash" / "zelcash.conf"]


def discover_flux_conf(
    configured: Path | None, home: Path, platform: str = sys.platform
) -> Path | None:
    """The flux.conf to use: the configured one (`fluxd_conf` / `$FLUXD_CONFIG_PATH`) if it
    exists, else the platform's default, else the legacy zelcash.conf; None if none exists.

    A configured path that does not exist falls back to the legacy file, as upstream does.
    """
    candidates = flux_conf_candidates(home, platform)
    if configured is not None:
        candidates[0] = configured
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True)
class FluxdConfig:
    """What the node learns from flux.conf (or the defaults when there is none)."""

    endpoint: RpcEndpoint
    conf_path: Path | None
    insight: bool = False
    zelnodeprivkey: str | None = None
    datadir: Path | None = None
    zmq_enabled: bool = False

    @classmethod
    def from_conf(
        cls, conf: FluxConf | None, conf_path: Path | None, *, testnet: bool, host: str
    ) -> FluxdConfig:
        get = conf.get if conf is not None else (lambda _key, default=None: default)
        default_port = FLUXD_RPC_PORT_TESTNET if testnet else FLUXD_RPC_PORT
        port_text = get("rpcport")
        port = int(port_text) if port_text and port_text.isdigit() else default_port
        endpoint = RpcEndpoint(
            url=f"http://{host}:{port}/",
            user=get("rpcuser") or DEFAULT_RPC_USER,
            password=get("rpcpassword") or DEFAULT_RPC_PASSWORD,
        )
        datadir = get("datadir")
        return cls(
            endpoint=endpoint,
            conf_path=conf_path,
            insight=get("insightexplorer") == "1",
            zelnodeprivkey=get("zelnodeprivkey") or None,
            datadir=Path(datadir) if datadir else (conf_path.parent if conf_path else None),
            zmq_enabled=bool(get("zmqpubhashblock")),
        )

    @classmethod
    def read(cls, conf_path: Path, *, testnet: bool, host: str = FLUXD_HOST) -> FluxdConfig:
        """Parse `conf_path`; raises OSError when it cannot be read."""
        return cls.from_conf(FluxConf.read(conf_path), conf_path, testnet=testnet, host=host)


def fluxd_client(clock: Clock, config: FluxdConfig | None = None) -> DaemonClient:
    """fluxd's client: 40 s timeout, 5 calls in flight, the §2.5 answer caches."""
    return DaemonClient(
        "fluxd",
        FLUXD_METHODS,
        timeout=FLUXD_TIMEOUT,
        endpoint=config.endpoint if config else None,
        concurrency=FLUXD_CONCURRENCY,
        caches=RpcCaches(clock),
    )


def fluxbench_endpoint(
    *, testnet: bool, bench_dir: Path | None, port: int | None = None, host: str = FLUXD_HOST
) -> RpcEndpoint:
    """fluxbenchd's endpoint. Its credentials are fixed: `fluxbench*` when the bench data
    dir exists (current benches), else the legacy `zelbench*` pair (spec §4.1)."""
    default_port = FLUXBENCH_RPC_PORT_TESTNET if testnet else FLUXBENCH_RPC_PORT
    user, password = (
        FLUXBENCH_CREDENTIALS
        if bench_dir is not None and bench_dir.is_dir()
        else LEGACY_BENCH_CREDENTIALS
    )
    return RpcEndpoint(f"http://{host}:{port or default_port}/", user, password)


def fluxbench_client(endpoint: RpcEndpoint | None = None) -> DaemonClient:
    """fluxbenchd's client: 10 s timeout, no queue, no cache."""
    return DaemonClient(
        "fluxbench", FLUXBENCH_METHODS, timeout=FLUXBENCH_TIMEOUT, endpoint=endpoint
    )
