"""A node that depends on UPnP (API port other than 16127, or routerIP set) stops when its
gateway cannot map ports; one on 16127 carries on. Real miniupnpc against a closed port,
time on a ManualClock."""

from __future__ import annotations

import asyncio

from fluxos.clock import ManualClock
from fluxos.configsections import UpnpSettings
from fluxos.system.upnp import REQUIRED_GRACE, MiniupnpcGateway, UpnpService
from tests.support.network import eventually
from tests.support.processes import free_port


async def boot_without_gateway(api_port: int, router_ip: str = "") -> list[str]:
    clock = ManualClock()
    stops: list[str] = []
    url = f"http://127.0.0.1:{free_port()}/rootDesc.xml"  # nothing listens there
    gateway = MiniupnpcGateway(UpnpSettings(enabled=True, gateway_url=url))
    service = UpnpService(
        gateway,
        clock,
        api_port=lambda: api_port,
        router_ip=lambda: router_ip,
        stop_node=stops.append,
    )
    try:
        boot = asyncio.create_task(service.boot())
        # the failed discovery runs in a worker thread; then boot waits on the clock
        await eventually(lambda: boot.done() or clock.pending(), within=10)
        assert not stops  # nothing stops before the grace period
        await clock.advance_async(REQUIRED_GRACE)
        await asyncio.wait_for(boot, 10)
    finally:
        service.close()
    assert service.is_upnp is False
    return stops


async def test_a_node_on_another_api_port_stops_after_the_grace_period() -> None:
    stops = await boot_without_gateway(16137)
    assert len(stops) == 1
    assert stops[0].startswith("UPnP is required on API port 16137")
    assert "the gateway cannot map ports" in stops[0]


async def test_router_ip_makes_upnp_required_too() -> None:
    assert len(await boot_without_gateway(16127, router_ip="192.168.1.1")) == 1


async def test_a_node_on_16127_without_router_ip_carries_on() -> None:
    assert await boot_without_gateway(16127) == []
