"""Settings of the benchmark daemon, parsed once into a frozen value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from fluxos.bench.tiers import Tier, TierThresholds, default_thresholds
from fluxos.errors import BadParameter

DEFAULT_RPC_PORT = 16224
DEFAULT_API_PORT = 16127
# fluxbenchd's fixed credentials; FluxOS hard-codes them (daemon.md §4.1).
RPC_USER = "fluxbenchuser"
RPC_PASSWORD = "fluxbenchpassword"  # noqa: S105 - a protocol constant, not a secret
# FluxOS marks a node DOS when the bench reports a version below 6.2.0 (daemon.md §4.2);
# we speak fluxbenchd 6.3.1's protocol.
BENCH_VERSION = "6.3.1"
DAY = 24 * 3600.0


@dataclass(frozen=True)
class NetworkFigures:
    """Network speeds the operator states; this bench cannot measure them (no internet)."""

    download_mbit: float | None = None
    upload_mbit: float | None = None
    ping_ms: float | None = None

    def __post_init__(self) -> None:
        for name in ("download_mbit", "upload_mbit", "ping_ms"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise BadParameter(f"{name} must be >= 0, got {value}")


@dataclass(frozen=True)
class BenchSettings:
    """Everything the bench needs; defaults mirror fluxbenchd's.

    `assume_tier` forces the reported tier (devnets on small machines); the measured
    figures are still reported, and the result says the tier was assumed.
    `disk_kind` overrides the kernel's rotational flag, which virtual disks often get
    wrong ("auto", "ssd" or "hdd").
    """

    data_dir: Path
    rpc_host: str = "127.0.0.1"
    rpc_port: int = DEFAULT_RPC_PORT
    assume_tier: Tier | None = None
    public_ip: str | None = None
    api_port: int = DEFAULT_API_PORT
    api_host: str = "127.0.0.1"  # where the node's API listens (`fluxos start --host`)
    network: NetworkFigures = field(default_factory=NetworkFigures)
    cpu_seconds: float = 4.0  # per phase (single-thread, then all CPUs)
    cpu_max_prime: int = 10_000
    write_test_mb: int = 512
    write_test_seconds: float = 4.0
    max_age_seconds: float = DAY
    disk_kind: str = "auto"
    fluxnode_key_wif: str | None = None
    thresholds: Mapping[Tier, TierThresholds] = field(default_factory=default_thresholds)

    def __post_init__(self) -> None:
        for name in ("rpc_port", "api_port"):
            port = getattr(self, name)
            if not 1 <= port <= 65535:
                raise BadParameter(f"{name} must be between 1 and 65535, got {port}")
        if self.cpu_seconds <= 0:
            raise BadParameter(f"cpu_seconds must be > 0, got {self.cpu_seconds}")
        if self.cpu_max_prime < 3:
            raise BadParameter(f"cpu_max_prime must be >= 3, got {self.cpu_max_prime}")
        if self.write_test_mb < 1:
            raise BadParameter(f"write_test_mb must be >= 1, got {self.write_test_mb}")
        if self.write_test_seconds <= 0:
            raise BadParameter(f"write_test_seconds must be > 0, got {self.write_test_seconds}")
        if self.max_age_seconds <= 0:
            raise BadParameter(f"max_age_seconds must be > 0, got {self.max_age_seconds}")
        if self.disk_kind not in ("auto", "ssd", "hdd"):
            raise BadParameter(f"disk_kind must be auto, ssd or hdd, got {self.disk_kind!r}")
        if self.public_ip is not None and (":" in self.public_ip or not self.public_ip.strip()):
            raise BadParameter(
                f"public_ip must be a bare IPv4 address or host (the port comes from "
                f"api_port), got {self.public_ip!r}"
            )

    @property
    def socket_address(self) -> str:
        """The `ipaddress` fluxbench reports: `ip`, or `ip:apiport` when apiport ≠ 16127."""
        if not self.public_ip:
            return ""
        if self.api_port != DEFAULT_API_PORT:
            return f"{self.public_ip}:{self.api_port}"
        return self.public_ip

    @property
    def results_path(self) -> Path:
        return self.data_dir / "benchmarks.json"

    @property
    def key_path(self) -> Path:
        return self.data_dir / "bench.key"

    @property
    def debug_log_path(self) -> Path:
        return self.data_dir / "debug.log"
