"""Node settings: `fluxos.toml` in the data dir, then `FLUXOS_*` environment variables, then
command-line options — parsed once at start into a frozen, typed `Settings`.

Keys and defaults mirror upstream's `config/userconfig.js` (the operator's file) and
`ZelBack/config/default.js`; upstream's camelCase names (`routerIP`, `blockedPorts`, …)
are accepted beside our snake_case ones. A bad value stops the start with a message
naming the key, its source and the rule.
"""

from __future__ import annotations

import ipaddress as ipaddr
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from fluxos.configsections import (
    BenchmarkSettings,
    DaemonSettings,
    EdgeSettings,
    ExplorerSettings,
    FilesSettings,
    GeolocationSettings,
    HookSettings,
    RuntimeSettings,
    SyncthingSettings,
    UiSettings,
    UpnpSettings,
)
from fluxos.errors import ConfigError

CONFIG_FILE = "fluxos.toml"
ENV_PREFIX = "FLUXOS_"
ALLOWED_API_PORTS = (16127, 16137, 16147, 16157, 16167, 16177, 16187, 16197)
FLUX_TEAM_ZELID = "1hjy4bCYBJr4mny4zCE85J94RXa8W6q37"
FLUX_SUPPORT_TEAM_ZELID = "16iJqiVbHptCx87q6XQwNpKdgEZnFtKcyP"
MARKETPLACE_URL = "https://stats.runonflux.io/marketplace/listapps"
MARKETPLACE_DEV_URL = "https://stats.runonflux.io/marketplace/listdevapps"

# upstream userconfig names → ours
ALIASES = {
    "routerIP": "router_ip",
    "blockedPorts": "blocked_ports",
    "blockedRepositories": "blocked_repositories",
    "apiPort": "apiport",
    "apiport": "apiport",
    "fluxTeamFluxID": "flux_team_zelid",
    "fluxSupportTeamFluxID": "flux_support_team_zelid",
    "minOutgoing": "min_outgoing_peers",
    "minIncoming": "min_incoming_peers",
    "pgpPublicKey": "pgp_public_key",
    "pgpPrivateKey": "pgp_private_key",
    "testEventStream": "test_event_stream",
}

_ZELID = re.compile(r"^(1[1-9A-HJ-NP-Za-km-z]{24,33}|0x[0-9a-fA-F]{40})$")
_KADENA = re.compile(r"^kadena:[^?]+\?chainid=([0-9]{1,2})$")
_LOG_LEVELS = ("debug", "info", "warning", "error")


def node_data_dir(
    data_dir: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The node's data dir: the one given, else $FLUXOS_DATA_DIR, else ~/.fluxos."""
    env = os.environ if environ is None else environ
    chosen = data_dir or env.get(f"{ENV_PREFIX}DATA_DIR") or Path.home() / ".fluxos"
    return Path(chosen).expanduser().resolve()


class Settings(BaseModel):
    """Everything a node is configured with. Frozen: change the file and restart."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data_dir: Path
    # the operator's userconfig
    zelid: str = ""
    ipaddress: str = "127.0.0.1"
    apiport: int = 16127
    router_ip: str = ""
    kadena: str = ""
    testnet: bool = False
    development: bool = False
    blocked_ports: tuple[int, ...] = ()
    blocked_repositories: tuple[str, ...] = ()
    pgp_public_key: str = ""
    pgp_private_key: str = ""
    # upstream's testEventStream: /flux/eventstream and POST /flux/dosstate
    test_event_stream: bool = False
    # the node process
    host: str = "0.0.0.0"  # noqa: S104 - a Flux node serves the public network
    database_url: str = ""  # SQLite only (sqlite+aiosqlite:///PATH): the one CI tests
    log_level: str = "info"
    log_console: bool = True
    flux_team_zelid: str = FLUX_TEAM_ZELID
    flux_support_team_zelid: str = FLUX_SUPPORT_TEAM_ZELID
    fluxd_conf: Path | None = None
    # peer network targets (upstream fluxapps.minOutgoing/minIncoming; random dials fill
    # up to the targets)
    min_outgoing_peers: int = 8
    min_incoming_peers: int = 4
    outgoing_peer_target: int = 14
    incoming_peer_target: int = 12
    # Flux's public services the app checks and prices ask; "" turns one off (§3.4, §5.3)
    flux_helpers_url: str = "https://raw.githubusercontent.com/RunOnFlux/flux/master/helpers"
    flux_stats_url: str = "https://stats.runonflux.io"
    flux_rates_url: str = "https://viprates.runonflux.io/rates"
    coingecko_url: str = (
        "https://api.coingecko.com/api/v3/simple/price?vs_currencies=usd&ids=zelcash"
    )
    daemon: DaemonSettings = DaemonSettings()
    benchmark: BenchmarkSettings = BenchmarkSettings()
    hooks: HookSettings = HookSettings()
    geolocation: GeolocationSettings = GeolocationSettings()
    upnp: UpnpSettings = UpnpSettings()
    explorer: ExplorerSettings = ExplorerSettings()
    edge: EdgeSettings = EdgeSettings()
    syncthing: SyncthingSettings = SyncthingSettings()
    files: FilesSettings = FilesSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    ui: UiSettings = UiSettings()

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # PostgreSQL is offered only once CI runs the storage tests against a real server
        if value and not value.startswith("sqlite+aiosqlite:///"):
            raise ValueError("must be a SQLite URL (sqlite+aiosqlite:///PATH) or empty")
        return value

    @field_validator("zelid")
    @classmethod
    def _zelid(cls, value: str) -> str:
        if value and not _ZELID.match(value):
            raise ValueError(
                "must be a ZelID: a 1… Bitcoin address (25–34 base58 characters) "
                "or a 0x… Ethereum address"
            )
        return value

    @field_validator("ipaddress")
    @classmethod
    def _ipaddress(cls, value: str) -> str:
        try:
            ipaddr.ip_address(value.strip("[]"))
        except ValueError:
            raise ValueError("must be an IPv4 or IPv6 address") from None
        return value

    @field_validator("apiport")
    @classmethod
    def _apiport(cls, value: int) -> int:
        if value not in ALLOWED_API_PORTS:
            allowed = ", ".join(map(str, ALLOWED_API_PORTS))
            raise ValueError(f"must be one of {allowed}")
        return value

    @field_validator(
        "min_outgoing_peers", "min_incoming_peers", "outgoing_peer_target", "incoming_peer_target"
    )
    @classmethod
    def _peer_count(cls, value: int) -> int:
        if not 1 <= value <= 1000:
            raise ValueError("must be between 1 and 1000")
        return value

    @field_validator("router_ip")
    @classmethod
    def _router_ip(cls, value: str) -> str:
        if value:
            try:
                ipaddr.IPv4Address(value)
            except ValueError:
                raise ValueError("must be empty or an IPv4 address") from None
        return value

    @field_validator("kadena")
    @classmethod
    def _kadena(cls, value: str) -> str:
        if value:
            match = _KADENA.match(value)
            if not match or not 0 <= int(match.group(1)) <= 20:
                raise ValueError("must be empty or kadena:<account>?chainid=<0..20>")
        return value

    @field_validator("blocked_ports")
    @classmethod
    def _blocked_ports(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        bad = [port for port in value if not 1 <= port <= 65535]
        if bad:
            raise ValueError(f"ports must be between 1 and 65535 ({bad} are not)")
        return value

    @field_validator("flux_helpers_url", "flux_stats_url", "flux_rates_url", "coingecko_url")
    @classmethod
    def _service_url(cls, value: str) -> str:
        if value and not re.match(r"https?://[^/\s]+", value):
            raise ValueError("must be empty or an http(s):// URL")
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.lower() not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return value.lower()

    # -- derived values --------------------------------------------------------------------
    @property
    def database(self) -> str:
        """The SQLAlchemy URL; SQLite in the data dir unless `database_url` says otherwise."""
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'fluxos.db'}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def home_port(self) -> int:
        return self.apiport - 1

    @property
    def syncthing_port(self) -> int:
        """Syncthing's listen port, the one peers probe: API port + 2 (16127 → 16129)."""
        return self.apiport + 2

    @property
    def syncthing_home(self) -> Path:
        return self.syncthing.home or self.data_dir / "syncthing"

    @property
    def apps_folder(self) -> Path:
        """Where app component volumes live (upstream's `appsFolder`)."""
        return self.files.apps_folder or self.runtime.apps_dir or self.data_dir / "apps"

    @property
    def share_folder(self) -> Path:
        return self.files.share_folder or self.apps_folder / "ZelShare"

    @property
    def marketplace_url(self) -> str:
        return MARKETPLACE_DEV_URL if self.development else MARKETPLACE_URL

    def public_view(self) -> dict[str, Any]:
        """The settings as plain data, for `fluxos config show`."""
        return json.loads(self.model_dump_json())


def load_settings(
    data_dir: Path | str | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Read the data dir's `fluxos.toml`, the environment and `overrides`, in that order."""
    env = dict(os.environ if environ is None else environ)
    directory = node_data_dir(data_dir, env)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    config_file = directory / CONFIG_FILE
    if config_file.exists():
        try:
            document = tomllib.loads(config_file.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_file}: not valid TOML: {exc}") from None
        for key, value in document.items():
            name = _canonical(key)
            values[name] = value
            sources[name] = str(config_file)
    for name in Settings.model_fields:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None and name != "data_dir":
            values[name] = _env_value(name, raw)
            sources[name] = f"environment {ENV_PREFIX}{name.upper()}"
    # upstream's own environment variables for fluxd's config and the bench's data dir
    if "fluxd_conf" not in values and env.get("FLUXD_CONFIG_PATH"):
        values["fluxd_conf"] = env["FLUXD_CONFIG_PATH"]
        sources["fluxd_conf"] = "environment FLUXD_CONFIG_PATH"
    # upstream's "Arcane" mode: an externally run Syncthing whose home is $SYNCTHING_PATH
    syncthing = values.get("syncthing")
    if env.get("SYNCTHING_PATH") and (syncthing is None or isinstance(syncthing, dict)):
        values["syncthing"] = {"managed": False, "home": env["SYNCTHING_PATH"], **(syncthing or {})}
        sources["syncthing"] = "environment SYNCTHING_PATH"
    benchmark = values.get("benchmark")
    if env.get("FLUXBENCH_PATH") and (benchmark is None or isinstance(benchmark, dict)):
        values["benchmark"] = {"bench_dir": env["FLUXBENCH_PATH"], **(benchmark or {})}
    files = values.get("files")
    if env.get("FLUX_APPS_FOLDER") and (files is None or isinstance(files, dict)):
        values["files"] = {"apps_folder": env["FLUX_APPS_FOLDER"], **(files or {})}
    for key, value in (overrides or {}).items():
        if value is not None:
            values[_canonical(key)] = value
            sources[_canonical(key)] = "command line"
    values["data_dir"] = directory
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, sources)) from None


def _canonical(key: str) -> str:
    return ALIASES.get(key, key)


def _env_value(name: str, raw: str) -> Any:
    field_type = Settings.model_fields[name].annotation
    if isinstance(field_type, type) and issubclass(field_type, BaseModel):
        try:
            return json.loads(raw)  # a section as JSON: FLUXOS_DAEMON='{"embedded": false}'
        except ValueError:
            return raw
    annotation = str(field_type)
    if "tuple" in annotation:
        text = raw.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                return text
        return [item.strip() for item in text.split(",") if item.strip()]
    return raw


def _describe(exc: ValidationError, sources: dict[str, str]) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) if error["loc"] else "?"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        source = sources.get(key.split(".")[0], "default")
        problems.append(f"{key}: {message}, got {error.get('input')!r} (from {source})")
    return "invalid configuration: " + "; ".join(problems)
