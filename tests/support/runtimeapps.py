"""App specs and node facts for the runtime tests and benchmark: a one-component v8 app
serving HTTP from the test image, and this machine's real hardware as a devnet node's."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fluxos.apps.params import DEVELOPMENT
from fluxos.apps.ports import port_in
from fluxos.runtime.requirements import NodeFacts, host_cores, host_ram_mb
from tests.support.processes import free_port_run

OWNER = "1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC"


def free_app_port() -> int:
    """A free port below the kernel's ephemeral range that an app spec may claim: not one
    of upstream's banned host ports (30000-30099 lies inside free_port_run's draw)."""
    for _ in range(100):
        port = free_port_run(1)
        if not port_in(port, DEVELOPMENT.banned_ports):
            return port
    raise RuntimeError("no free port outside the banned app ports found")


class HostFacts:
    """This machine's real RAM, cores and disk; a devnet node's identity. `cores` stands in
    for a bigger node's core count where a benchmark needs one (said in its output)."""

    def __init__(self, disk: Path, cores: int | None = None) -> None:
        self.disk = disk
        self.cores = cores

    async def facts(self) -> NodeFacts:
        return NodeFacts(
            tier="basic",
            cores=self.cores or host_cores(),
            ram_mb=host_ram_mb(),
            ssd_gb=shutil.disk_usage(self.disk).total / 1024**3,
            ip="127.0.0.1:16127",
            static_ip=False,
            datacenter=False,
            collateral="",
        )


def web_app(
    name: str, image: str, port: int, *, owner: str = OWNER, **component: Any
) -> dict[str, Any]:
    return {
        "version": 8,
        "name": name,
        "description": "test app",
        "owner": owner,
        "compose": [
            {
                "name": "web",
                "description": "web",
                "repotag": image,
                "ports": [port],
                "containerPorts": [80],
                "environmentParameters": ["GREETING=hi"],
                "commands": [],
                "containerData": "/data|m:conf:/etc/conf",
                "domains": [""],
                "cpu": 0.2,
                "ram": 64,
                "hdd": 1,
                **component,
            }
        ],
        "instances": 3,
        "contacts": [],
        "geolocation": [],
        "expire": 22000,
        "nodes": [],
        "staticip": False,
        "enterprise": "",
        "datacenter": False,
    }
