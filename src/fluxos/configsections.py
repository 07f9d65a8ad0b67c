"""The tables of `fluxos.toml` below its top level (`[explorer]`, `[daemon]`, `[edge]`,
`[benchmark]`, `[hooks]`, `[geolocation]`, `[upnp]`, `[syncthing]`, `[files]`, `[runtime]`,
`[ui]`), one frozen model each, with their upstream defaults and rules;
`fluxos.config.Settings` holds one of each and loads them with the rest.
"""

from __future__ import annotations

import ipaddress as ipaddr
import re
import shlex
from pathlib import Path

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

UI_RELEASE_URL = "https://api.github.com/repos/RunOnFlux/fluxos-frontend/releases/latest"
_TIERS = ("cumulus", "nimbus", "stratus")


class ExplorerSettings(BaseModel):
    """`[explorer]`: where the block scanner starts and how often it polls at the tip."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start_height: int | None = None  # None: the chain's first block (height 1 on fluxd)
    poll_seconds: float = 2.0

    @field_validator("start_height")
    @classmethod
    def _start_height(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError("must be a block height (0 or more) or absent")
        return value

    @field_validator("poll_seconds")
    @classmethod
    def _poll_seconds(cls, value: float) -> float:
        if not 0 < value <= 600:
            raise ValueError("must be more than 0 and at most 600 seconds")
        return value


class DaemonSettings(BaseModel):
    """`[daemon]`: where fluxd is, and the embedded devnet used when there is none."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    # with no flux.conf found, run `fluxos devnet` and `fluxos bench` as child processes
    embedded: bool = True
    devnet_rpc_port: int = 16124  # preferred; a free port is used when it is taken
    devnet_block_time: float = 30.0  # seconds between devnet blocks; 0 mines on demand only
    ready_timeout: float = 60.0  # how long the start waits for the children to answer

    @field_validator("devnet_rpc_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise ValueError("must be between 1 and 65535")
        return value

    @field_validator("devnet_block_time", "ready_timeout")
    @classmethod
    def _non_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must be zero or more seconds")
        return value


class EdgeSettings(BaseModel):
    """`[edge]`: what one connection to the API port may do (times in seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_byte_timeout: float = 20.0  # a new connection must start a request within this
    header_timeout: float = 60.0  # ... and send the whole head within this (upstream: 60 s)
    body_timeout: float = 60.0  # longest silence while a request body is expected
    keep_alive_timeout: int = 5  # idle time after an answer (upstream: 5 s)
    max_header_bytes: int = 16 * 1024  # request line + headers (upstream: 16 KiB)
    per_ip: int = 256  # open connections per client address
    total: int = 60_000  # open connections overall (also bounded by the open file limit)

    @field_validator("first_byte_timeout", "header_timeout", "body_timeout")
    @classmethod
    def _positive(cls, value: float) -> float:
        if not 0 < value <= 3600:
            raise ValueError("must be more than 0 and at most 3600 seconds")
        return value

    @field_validator("keep_alive_timeout", "max_header_bytes", "per_ip", "total")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be 1 or more")
        return value


class BenchmarkSettings(BaseModel):
    """`[benchmark]`: fluxbenchd's data dir, and the tier the embedded bench assumes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bench_dir: Path | None = None  # default $FLUXBENCH_PATH, else ~/.fluxbenchmark
    rpc_port: int | None = None  # default 16224 (26224 on testnet)
    # the embedded bench reports this tier whatever it measures (a small machine would
    # otherwise fail every tier); empty to report what was measured
    assume_tier: str = "cumulus"

    @field_validator("assume_tier")
    @classmethod
    def _tier(cls, value: str) -> str:
        if value and value.lower() not in _TIERS:
            raise ValueError(f"must be empty or one of {', '.join(_TIERS)}")
        return value.lower()


_HOOK_NAMES = (
    "ufw",
    "daemon_start",
    "daemon_stop",
    "daemon_restart",
    "daemon_reindex",
    "bench_start",
    "bench_restart",
    "daemon_update",
    "bench_update",
    "restart",
    "update_flux",
    "soft_update_flux",
    "soft_update_flux_install",
    "hard_update_flux",
    "rebuild_ui",
    "enter_master",
    "enter_development",
    "allow_port",
)


class HookSettings(BaseModel):
    """`[hooks]`: commands (argv, run without a shell) the control routes run, e.g.
    `daemon_restart = "systemctl restart zelcash"`, `restart = "systemctl restart fluxos"`,
    `update_flux = "apt-get install -y fluxos"`. Unset daemon/bench hooks act on the
    embedded devnet and bench when the node runs them, else answer "not managed by this
    node"; unset software hooks answer that updates are managed by the installer.
    `allow_port` gets the port appended (upstream: `ufw allow <port>`); `ufw` is the
    firewall program the routerIP rules are run with (system.md §7.3)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    daemon_start: tuple[str, ...] = ()
    daemon_stop: tuple[str, ...] = ()  # fluxd and its watchdog, before a chain stream
    daemon_restart: tuple[str, ...] = ()
    daemon_reindex: tuple[str, ...] = ()
    bench_start: tuple[str, ...] = ()
    bench_restart: tuple[str, ...] = ()
    daemon_update: tuple[str, ...] = ()
    bench_update: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()
    update_flux: tuple[str, ...] = ()
    soft_update_flux: tuple[str, ...] = ()
    soft_update_flux_install: tuple[str, ...] = ()
    hard_update_flux: tuple[str, ...] = ()
    rebuild_ui: tuple[str, ...] = ()
    enter_master: tuple[str, ...] = ()
    enter_development: tuple[str, ...] = ()
    allow_port: tuple[str, ...] = ()
    ufw: tuple[str, ...] = ()  # the firewall program for the routerIP rules ("sudo ufw")
    timeout: float = 900.0  # upstream waits up to 15 minutes for its scripts

    @field_validator(*_HOOK_NAMES, mode="before")
    @classmethod
    def _argv(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return tuple(shlex.split(value))
            except ValueError as exc:
                raise ValueError(f"not a valid command line: {exc}") from None
        return value


class GeolocationSettings(BaseModel):
    """`[geolocation]`: where the node says it is. `lookup = false` (the default on a
    devnet) reports the fixed location below instead of asking ip-api.com and Flux's
    stats service."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lookup: bool | None = None  # None: on unless the node is a devnet (embedded or development)
    ip_api_url: str = "http://ip-api.com"
    stats_url: str = "https://stats.runonflux.io"
    continent: str = "Europe"
    continent_code: str = "EU"
    country: str = "Local devnet"
    country_code: str = "XX"
    region: str = "LD"
    region_name: str = "Local devnet"
    lat: float = 0.0
    lon: float = 0.0
    org: str = "fluxos devnet"
    static: bool = True
    data_center: bool = False


class UpnpSettings(BaseModel):
    """`[upnp]`: the Internet gateway (IGD) to ask for port mappings. `gateway_url` pins
    the device description URL (upstream `upnp.gatewayUrl`) instead of SSDP discovery;
    `enabled = false` turns UPnP off (the default on a devnet without a gateway_url)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool | None = None
    gateway_url: str = ""
    node_ip: str = ""  # the local address mappings point at (default: the route's source)
    discovery_timeout: float = 5.0


class SyncthingSettings(BaseModel):
    """`[syncthing]`: the Syncthing this node replicates app data with (files-and-sync.md §1).

    With `managed` the node installs nothing but starts (or, after its own restart, adopts)
    one Syncthing per node with its home in `home` (default `<data dir>/syncthing`), the
    GUI/REST API on a loopback address and its listen port at API port + 2. Without it
    (upstream's "Arcane" mode, `$SYNCTHING_PATH`) the node only uses and adjusts the
    Syncthing whose `config.xml` is in `home`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True  # false: no Syncthing at all (no app data replication, no gate)
    managed: bool = True
    binary: Path | None = None  # default: the project's tools dir, then `syncthing` on PATH
    home: Path | None = None
    gui_host: str = ""  # default: the node's own address when it is loopback, else 127.0.0.1
    gui_port: int = 8384
    monitor_seconds: float = 30.0  # the app-folder monitor pass (upstream 30 s)
    sentinel_seconds: float = 60.0  # the liveness check of the Syncthing process
    # g: takeover: with no node running it, candidate i (address order) starts after
    # grace + i × step seconds of vacancy (upstream: i × 3 min after FDM drops the primary)
    takeover_grace_seconds: float = 60.0
    takeover_seconds: float = 180.0
    stall_seconds: float = 180.0  # a sync flat this long is reported and nudged

    @field_validator("gui_port")
    @classmethod
    def _gui_port(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise ValueError("must be between 1 and 65535")
        return value

    @field_validator("gui_host")
    @classmethod
    def _gui_host(cls, value: str) -> str:
        if value and not ipaddr.ip_address(value).is_loopback:
            raise ValueError("must be a loopback address: Syncthing's API holds its API key")
        return value

    @field_validator(
        "monitor_seconds",
        "sentinel_seconds",
        "takeover_grace_seconds",
        "takeover_seconds",
        "stall_seconds",
    )
    @classmethod
    def _interval(cls, value: float) -> float:
        if not 0 < value <= 3600:
            raise ValueError("must be more than 0 and at most 3600 seconds")
        return value


class FilesSettings(BaseModel):
    """`[files]`: where app volumes and FluxShare live, and the upload limits
    (files-and-sync.md §0, §2, §5).

    `apps_folder` is upstream's `$FLUX_APPS_FOLDER` (default: the runtime's apps dir);
    FluxShare is `share_folder` (default `<apps folder>/ZelShare`), created at start.
    `require_mount`: a component volume must be a mount point, as the runtime makes
    them (loop-mounted ext4 images); a bare mountpoint of an unmounted volume is refused.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    apps_folder: Path | None = None
    share_folder: Path | None = None
    share_max_upload: int = 5 * 1024**3
    upload_max: int = 10 * 1024**3
    restore_max_download: int = 50 * 1024**3
    require_mount: bool = True
    # a zip download whose client reads nothing for this long is stopped (its worker
    # thread is not the client's to keep)
    zip_stall_seconds: float = 120.0
    # networks a remote restore URL may point into besides public addresses (a devnet's
    # own servers); nothing by default: private, loopback and link-local are refused
    remote_allow_networks: list[str] = []

    @field_validator("remote_allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddr.ip_network(network)  # ValueError names the bad one
        return value

    @field_validator("zip_stall_seconds")
    @classmethod
    def _positive_seconds(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value

    @field_validator("share_max_upload", "upload_max", "restore_max_download")
    @classmethod
    def _positive_size(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a positive number of bytes")
        return value


class RuntimeSettings(BaseModel):
    """`[runtime]`: the Docker engine apps run on, where their volumes live, and the
    reconciler's pace (a devnet cluster uses short times so it converges in seconds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True  # false: no apps here (no Docker, no docker login gate)
    docker_host: str = ""  # "" = $DOCKER_HOST, else unix:///var/run/docker.sock
    apps_dir: Path | None = None  # default <data dir>/apps (upstream $FLUX_APPS_FOLDER)
    volumes_dir: Path | None = None  # default <data dir>/appvolumes
    reconcile_seconds: float = 10.0
    settle_seconds: float = 60.0  # control routes answer 503 until the first pass or this
    spawn: bool = True  # take a share of the network's global apps (apps.md §10)
    # every spawner delay is upstream's times this: 1 on mainnet, small on a devnet cluster
    spawn_time_scale: float = 1.0
    # fluxapprunning of the apps here every broadcast_seconds (upstream: hourly); a
    # location nobody renews is gone after location_seconds (upstream: 125 min), which is
    # how the network notices a dead node and its spawners take its place
    broadcast_seconds: float = 3600.0
    location_seconds: float = 7500.0
    monitor_seconds: float = 60.0  # app monitoring's sample period (upstream: a minute)

    @field_validator("reconcile_seconds", "settle_seconds")
    @classmethod
    def _seconds(cls, value: float) -> float:
        if not 0 < value <= 3600:
            raise ValueError("must be more than 0 and at most 3600 seconds")
        return value

    @field_validator("spawn_time_scale")
    @classmethod
    def _scale(cls, value: float) -> float:
        if not 0 < value <= 1:
            raise ValueError("must be more than 0 and at most 1")
        return value

    @field_validator("broadcast_seconds", "location_seconds", "monitor_seconds")
    @classmethod
    def _gossip_seconds(cls, value: float) -> float:
        if not 1 <= value <= 86_400:
            raise ValueError("must be at least 1 and at most 86400 seconds")
        return value

    @model_validator(mode="after")
    def _renewed_in_time(self) -> RuntimeSettings:
        if self.location_seconds <= self.broadcast_seconds:
            raise ValueError(
                "location_seconds must be longer than broadcast_seconds, else every"
                " location expires before it is renewed"
            )
        return self


class UiSettings(BaseModel):
    """`[ui]`: the operator's web UI on the home port (API port − 1). `/flux/rebuildui`
    installs the latest bundle named by `release_url` (a GitHub "latest release"
    document; "" turns it off); `fluxos ui install` installs one by hand."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    release_url: str = UI_RELEASE_URL
    # install the latest release at start and every update_hours; None: on for a serving
    # node with its own fluxd on a public address (not a devnet's, nor one on loopback)
    auto_update: bool | None = None
    update_hours: float = 24.0
    asset: str = "dist.tar.gz"
    max_download_bytes: int = 256 * 1024**2
    status_log_lines: int = 8  # warnings/errors the built-in page shows; 0 shows none

    @field_validator("release_url")
    @classmethod
    def _release_url(cls, value: str) -> str:
        if value and not re.match(r"https?://[^/\s]+", value):
            raise ValueError("must be empty or an http(s):// URL")
        return value

    @field_validator("update_hours")
    @classmethod
    def _hours(cls, value: float) -> float:
        if not 0 < value <= 24 * 365:
            raise ValueError("must be more than 0 hours and at most a year")
        return value

    @field_validator("max_download_bytes")
    @classmethod
    def _max_bytes(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a positive number of bytes")
        return value

    @field_validator("status_log_lines")
    @classmethod
    def _log_lines(cls, value: int) -> int:
        if not 0 <= value <= 100:
            raise ValueError("must be between 0 and 100")
        return value
