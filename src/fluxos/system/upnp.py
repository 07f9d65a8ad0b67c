"""UPnP port mappings on the node's Internet gateway (spec system.md §7).

`Gateway` is what the node needs of an IGD; `MiniupnpcGateway` implements it with the
MiniUPnP project's client (`miniupnpc`), whose calls block, so they run one at a time in
their own `BlockingRunner`. The device is found once — at `[upnp] gateway_url` when set
(upstream's `upnp.gatewayUrl`), else by SSDP discovery — and found again after a failure.

`UpnpService` holds the routes' actions and the boot-time check of §7.3: verify that a
test mapping can be made, listed and removed, then map the API, API+1 (SSL), API−1 (home
UI) and API+2 (Syncthing). `is_upnp` (for `/flux/info.flux.upnp`) is the last check's
result. A node on a port other than 16127, or with `routerIP` set, depends on UPnP: when
the check fails it logs why and stops after `REQUIRED_GRACE` seconds, as upstream exits.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fluxos.blocking import BlockingRunner
from fluxos.clock import Clock
from fluxos.configsections import UpnpSettings
from fluxos.errors import BadParameter, FluxError

log = logging.getLogger(__name__)

DEFAULT_API_PORT = 16127
STEP_PAUSE = 0.5  # upstream waits 500 ms between gateway calls
REQUIRED_GRACE = 120.0
ROUTER_RULES_INTERVAL = 3601.0  # upstream: every 60 min + 1 s
MANUAL = "Flux_manual_entry"
TEST_MAPPING = "Flux_UPNP_Mapping_Test"
PROTOCOLS = ("TCP", "UDP")


class UpnpError(FluxError):
    """The gateway refused or did not answer; the message is the gateway's reason."""


@dataclass(frozen=True)
class PortMapping:
    public_port: int
    protocol: str
    private_host: str
    private_port: int
    description: str
    enabled: bool
    ttl: int
    remote_host: str

    def view(self, local_address: str) -> dict[str, Any]:
        """The shape upstream's nat-upnp client lists mappings in."""
        return {
            "public": {"host": self.remote_host, "port": self.public_port},
            "private": {"host": self.private_host, "port": self.private_port},
            "protocol": self.protocol.lower(),
            "enabled": self.enabled,
            "description": self.description,
            "ttl": self.ttl,
            "local": self.private_host == local_address,
        }


class Gateway(Protocol):
    async def external_ip(self) -> str: ...
    async def locate(self) -> tuple[str, str]:
        """(the gateway's control URL, this node's address on its network)."""
        ...

    async def add(self, port: int, protocol: str, description: str, ttl: int = 0) -> None: ...
    async def delete(self, port: int, protocol: str) -> None: ...
    async def mappings(self) -> list[PortMapping]: ...
    def close(self) -> None: ...


class MiniupnpcGateway:
    """The IGD through miniupnpc (blocking calls, one at a time, in a worker thread)."""

    def __init__(self, settings: UpnpSettings) -> None:
        self.settings = settings
        self._device: Any = None
        self._control_url = ""
        self._blocking = BlockingRunner("upnp", max_workers=1)

    def _find(self) -> Any:
        import miniupnpc  # the C extension is only loaded on a node that uses UPnP

        delay = int(self.settings.discovery_timeout * 1000)
        options = {"multicastif": self.settings.node_ip} if self.settings.node_ip else {}
        device = miniupnpc.UPnP(**options)
        device.discoverdelay = delay
        if self.settings.gateway_url:
            self._control_url = device.selectigd(self.settings.gateway_url)
        else:
            if device.discover() < 1:
                raise UpnpError("no UPnP gateway answered the SSDP discovery")
            self._control_url = device.selectigd()
        self._device = device
        return device

    async def _run(self, action: Callable[[Any], Any]) -> Any:
        def call() -> Any:
            device = self._device or self._find()
            try:
                return action(device)
            except Exception:
                self._device = None  # find the gateway again next time
                raise

        try:
            return await self._blocking.run(call)
        except UpnpError:
            raise
        except Exception as error:
            raise UpnpError(str(error) or type(error).__name__) from error

    def _local_address(self, device: Any) -> str:
        return self.settings.node_ip or str(device.lanaddr)

    async def external_ip(self) -> str:
        return str(await self._run(lambda device: device.externalipaddress()))

    async def locate(self) -> tuple[str, str]:
        return await self._run(lambda device: (self._control_url, self._local_address(device)))

    async def add(self, port: int, protocol: str, description: str, ttl: int = 0) -> None:
        def add(device: Any) -> None:
            address = self._local_address(device)
            if not device.addportmapping(port, protocol, address, port, description, "", ttl):
                raise UpnpError(f"the gateway did not map {protocol} port {port}")

        await self._run(add)

    async def delete(self, port: int, protocol: str) -> None:
        await self._run(lambda device: device.deleteportmapping(port, protocol))

    async def mappings(self) -> list[PortMapping]:
        def listing(device: Any) -> list[PortMapping]:
            found = []
            index = 0
            while (entry := device.getgenericportmapping(index)) is not None:
                public_port, protocol, (host, private_port), description, enabled, remote, ttl = (
                    entry
                )
                found.append(
                    PortMapping(
                        int(public_port),
                        str(protocol),
                        str(host),
                        int(private_port),
                        str(description),
                        str(enabled) == "1",
                        int(ttl),
                        str(remote or ""),
                    )
                )
                index += 1
            return found

        return list(await self._run(listing))

    def close(self) -> None:
        self._blocking.close()


def port_number(value: str | None) -> int:
    """A route's `port` (path or query): upstream's message when it is missing."""
    if value is None or value == "":
        raise BadParameter("No Port address specified.")
    try:
        port = int(value)
    except ValueError:
        raise BadParameter(f"port must be a whole number from 1 to 65535, got {value!r}") from None
    if not 1 <= port <= 65535:
        raise BadParameter(f"port must be a whole number from 1 to 65535, got {port}")
    return port


class UpnpService:
    def __init__(
        self,
        gateway: Gateway | None,
        clock: Clock,
        *,
        api_port: Callable[[], int],
        router_ip: Callable[[], str],
        stop_node: Callable[[str], None],
        router_firewall: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.gateway = gateway
        self.router_firewall = router_firewall
        self.clock = clock
        self.api_port = api_port
        self.router_ip = router_ip
        self.stop_node = stop_node
        self.is_upnp = False

    def _require(self) -> Gateway:
        if self.gateway is None:
            raise FluxError(
                "UPnP is off on this node: set [upnp] enabled = true (and gateway_url to pin "
                "the gateway) in fluxos.toml"
            )
        return self.gateway

    # -- the routes -----------------------------------------------------------------------
    async def map_port(self, port: int) -> str:
        gateway = self._require()
        for protocol in PROTOCOLS:
            await gateway.add(port, protocol, MANUAL)
        return "Port mapped"

    async def unmap_port(self, port: int) -> str:
        gateway = self._require()
        for protocol in PROTOCOLS:
            await gateway.delete(port, protocol)
        return "Port unmapped"

    async def mapping_views(self) -> list[dict[str, Any]]:
        gateway = self._require()
        _, address = await gateway.locate()
        return [mapping.view(address) for mapping in await gateway.mappings()]

    async def external_ip(self) -> str:
        return await self._require().external_ip()

    async def gateway_view(self) -> dict[str, str]:
        control_url, address = await self._require().locate()
        return {"gateway": control_url, "address": address}

    # -- boot (§7.3) ----------------------------------------------------------------------
    async def verify(self, api_port: int) -> bool:
        """Can this gateway map ports for us? Every step's failure is logged by name."""
        gateway = self._require()
        if self.router_ip() and self.router_firewall is not None:
            await self.router_firewall()  # the router must be reachable before we ask it
        test_port = api_port + 3
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("get public ip", gateway.external_ip),
            ("get Gateway", gateway.locate),
            ("Create Mapping", lambda: gateway.add(test_port, "TCP", TEST_MAPPING)),
            ("get Mappings", gateway.mappings),
            ("Remove Mapping", lambda: gateway.delete(test_port, "TCP")),
        ]
        for name, step in steps:
            try:
                await step()
            except FluxError as error:
                log.error("UPnP check failed at %s: %s", name, error.message)
                self.is_upnp = False
                return False
            await self.clock.sleep(STEP_PAUSE)
        self.is_upnp = True
        return True

    async def map_node_ports(self, api_port: int) -> None:
        gateway = self._require()
        for port, description in (
            (api_port, "Flux_Backend_API"),
            (api_port + 1, "Flux_Backend_API_SSL"),
            (api_port - 1, "Flux_Home_UI"),
            (api_port + 2, "Flux_Syncthing"),
        ):
            await gateway.add(port, "TCP", description)
            await self.clock.sleep(STEP_PAUSE)

    async def boot(self) -> None:
        """The background step at start: check, then map the node's own ports."""
        if self.gateway is None:
            log.info("UPnP is off on this node")
            return
        api_port = self.api_port()
        required = api_port != DEFAULT_API_PORT or bool(self.router_ip())
        problem = None
        if await self.verify(api_port):
            try:
                await self.map_node_ports(api_port)
                log.info("UPnP: mapped ports %d-%d on the gateway", api_port - 1, api_port + 2)
                await self._keep_router_rules()
                return
            except FluxError as error:
                problem = f"mapping the node's ports failed: {error.message}"
                log.error("UPnP: %s", problem)
        else:
            problem = "the gateway cannot map ports"
        if required:
            reason = f"UPnP is required on API port {api_port} (or with routerIP set) and {problem}"
            log.error("%s; stopping in %g s", reason, REQUIRED_GRACE)
            await self.clock.sleep(REQUIRED_GRACE)
            self.stop_node(reason)

    async def _keep_router_rules(self) -> None:
        """Re-apply the router's firewall rules every hour while routerIP is set (an
        operator may have removed one)."""
        while self.router_firewall is not None:
            await self.clock.sleep(ROUTER_RULES_INTERVAL)
            if self.router_ip():
                await self.router_firewall()

    def close(self) -> None:
        if self.gateway is not None:
            self.gateway.close()
