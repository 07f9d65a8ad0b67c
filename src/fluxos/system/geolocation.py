"""Where the node is, and whether its IP is static (spec system.md §2.2).

The lookup services (ip-api.com, then Flux's stats service) are the internet: they sit
behind `LocationLookup`, and a devnet (or `[geolocation] lookup = false`) reports the
configured fixed location instead. The result is kept in the node state so a restart
serves the last known location at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import httpx
import psutil

from fluxos.clock import Clock
from fluxos.configsections import GeolocationSettings
from fluxos.errors import FluxError
from fluxos.storage.nodestate import NodeState

log = logging.getLogger(__name__)

DOCUMENT_KEY = "nodeGeolocation"
REFRESH_SECONDS = 3 * 24 * 3600.0
RETRY_SECONDS = 5 * 60.0
NO_IP_RETRY_SECONDS = 10.0
STATIC_AFTER_SECONDS = 10 * 24 * 3600.0
# hosting companies whose addresses upstream takes as static data-centre IPs
DATA_CENTER_ORGS = (
    "hetzner",
    "ovh",
    "netcup",
    "hostnodes",
    "contabo",
    "hostslim",
    "zayo",
    "cogent",
    "lumen",
)
IP_API_FIELDS = (
    "status,continent,continentCode,country,countryCode,region,regionName,lat,lon,query,"
    "org,isp,proxy,hosting"
)
GEOLOCATION_KEYS = (
    "ip",
    "continent",
    "continentCode",
    "country",
    "countryCode",
    "region",
    "regionName",
    "lat",
    "lon",
    "org",
    "static",
    "dataCenter",
)
Geolocation = dict[str, Any]
IpSource = Callable[[], Awaitable[str | None]]


class LocationLookup(Protocol):
    """One service that maps an IP to `{ip, continent, …, org, static, dataCenter}`."""

    name: str

    async def locate(self, ip: str) -> Geolocation: ...


class IpApiLookup:
    name = "ip-api.com"

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http, self.base_url = http, base_url.rstrip("/")

    async def locate(self, ip: str) -> Geolocation:
        reply = await self.http.get(f"{self.base_url}/json/{ip}", params={"fields": IP_API_FIELDS})
        data = reply.json()
        if not isinstance(data, dict) or data.get("status") != "success":
            raise FluxError(f"ip-api.com did not locate {ip}: {data!r:.200}")
        return {
            "ip": data.get("query"),
            "continent": data.get("continent"),
            "continentCode": data.get("continentCode"),
            "country": data.get("country"),
            "countryCode": data.get("countryCode"),
            "region": data.get("region"),
            "regionName": data.get("regionName"),
            "lat": data.get("lat"),
            "lon": data.get("lon"),
            "org": data.get("org") or data.get("isp"),
            "static": bool(data.get("proxy") or data.get("hosting")),
            "dataCenter": bool(data.get("hosting")),
        }


class FluxStatsLookup:
    name = "stats.runonflux.io"

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http, self.base_url = http, base_url.rstrip("/")

    async def locate(self, ip: str) -> Geolocation:
        reply = await self.http.get(f"{self.base_url}/fluxlocation/{ip}")
        body = reply.json()
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(body, dict) or body.get("status") != "success" or not data:
            raise FluxError(f"Flux's stats service did not locate {ip}")
        return {key: data.get(key) for key in GEOLOCATION_KEYS}


class FixedLocation:
    """The configured location (devnets, nodes told not to ask the internet)."""

    name = "fixed location"

    def __init__(self, settings: GeolocationSettings) -> None:
        self.settings = settings

    async def locate(self, ip: str) -> Geolocation:
        s = self.settings
        return {
            "ip": ip,
            "continent": s.continent,
            "continentCode": s.continent_code,
            "country": s.country,
            "countryCode": s.country_code,
            "region": s.region,
            "regionName": s.region_name,
            "lat": s.lat,
            "lon": s.lon,
            "org": s.org,
            "static": s.static,
            "dataCenter": s.data_center,
        }


def _ip_on_interface(ip: str) -> bool:
    return any(
        address.address == ip
        for addresses in psutil.net_if_addrs().values()
        for address in addresses
    )


def _org_is_data_center(org: Any) -> bool:
    text = str(org or "").lower()
    return any(name in text for name in DATA_CENTER_ORGS)


class GeolocationService:
    """Keeps the node's location and static-IP verdict fresh (a supervised loop)."""

    def __init__(
        self,
        own_ip: IpSource,
        lookups: Sequence[LocationLookup],
        state: NodeState,
        clock: Clock,
        *,
        ip_on_interface: Callable[[str], bool] = _ip_on_interface,
    ) -> None:
        self.own_ip = own_ip
        self.lookups = list(lookups)
        self.state = state
        self.clock = clock
        self.ip_on_interface = ip_on_interface
        self.geolocation: Geolocation | None = None
        self.static_ip = False
        self.data_center = False
        self.last_ip_change: float | None = None
        self.last_error: str | None = None
        self._runs = 0
        self._restored = False

    async def run(self) -> None:
        await self.restore()
        while True:
            delay = await self.refresh()
            await self.clock.sleep(delay)

    async def restore(self) -> None:
        if self._restored:
            return
        self._restored = True
        try:
            stored = await self.state.get(DOCUMENT_KEY)
        except Exception as error:  # the database may be closed in a failing start
            log.warning("could not read the stored geolocation: %s", error)
            return
        if isinstance(stored, dict):
            self.geolocation = stored.get("geolocation")
            self.static_ip = bool(stored.get("staticIp"))
            self.data_center = bool(stored.get("dataCenter"))
            self.last_ip_change = stored.get("lastIpChangeDate")

    async def refresh(self) -> float:
        """One round; the seconds until the next one."""
        ip = await self.own_ip()
        if not ip:
            self.last_error = "own IP unknown (the benchmark daemon reports none yet)"
            return NO_IP_RETRY_SECONDS
        ip = ip.split(":")[0].strip("[]")
        previous = self.geolocation.get("ip") if self.geolocation else None
        changed = previous is not None and previous != ip
        self._runs += 1
        if self.geolocation is None or changed or self._runs % 4 == 0:
            try:
                located = await self._locate(ip)
            except FluxError as error:
                self.last_error = error.message
                log.warning("geolocation of %s failed: %s; retrying in 5 minutes", ip, error)
                return RETRY_SECONDS
            self.geolocation = located
        self._judge_static(ip, changed)
        self.last_error = None
        await self._store()
        return REFRESH_SECONDS

    async def _locate(self, ip: str) -> Geolocation:
        problems = []
        for lookup in self.lookups:
            try:
                located = await lookup.locate(ip)
            except (FluxError, httpx.HTTPError, ValueError) as error:
                problems.append(f"{lookup.name}: {error}")
                continue
            log.info("located %s with %s: %s", ip, lookup.name, located.get("country"))
            return located
        raise FluxError("; ".join(problems) or "no location service configured")

    def _judge_static(self, ip: str, changed: bool) -> None:
        assert self.geolocation is not None
        now = self.clock.time()
        org_dc = _org_is_data_center(self.geolocation.get("org"))
        self.data_center = bool(self.geolocation.get("dataCenter")) or org_dc
        if changed:
            self.static_ip = False
            self.last_ip_change = now
            return
        stable = self.last_ip_change is None or now - self.last_ip_change >= STATIC_AFTER_SECONDS
        if self.ip_on_interface(ip) and stable:
            self.static_ip = True
        else:
            self.static_ip = bool(self.geolocation.get("static")) or org_dc

    async def _store(self) -> None:
        document = {
            "geolocation": self.geolocation,
            "staticIp": self.static_ip,
            "dataCenter": self.data_center,
            "lastIpChangeDate": self.last_ip_change,
            "updatedAt": self.clock.millis(),
        }
        try:
            await self.state.put(DOCUMENT_KEY, document, self.clock.time())
        except Exception:
            log.exception("could not store the geolocation; it is kept in memory")
