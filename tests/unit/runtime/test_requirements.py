"""Install-time requirement checks (§11.1) with upstream's messages."""

from __future__ import annotations

import re
from typing import Any

import pytest

from fluxos.runtime.errors import InstallError
from fluxos.runtime.requirements import NodeFacts, check_ports, check_requirements

FACTS = NodeFacts(
    tier="basic", cores=4, ram_mb=8000, ssd_gb=220, ip="1.2.3.4:16127",
    static_ip=False, datacenter=False, collateral="ab:0",
)  # fmt: skip


def app(
    name: str = "app", *, cpu: float = 1, ram: float = 1000, hdd: float = 10, **top: Any
) -> dict[str, Any]:
    component = {"name": "c", "ports": [31000], "cpu": cpu, "ram": ram, "hdd": hdd}
    return {"version": 7, "name": name, "compose": [component], "nodes": [], **top}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (app(hdd=200), "Insufficient space on Flux Node to spawn an application"),
        (app(cpu=3.5), "Insufficient CPU power on Flux Node to spawn an application"),
        (app(ram=6500), "Insufficient RAM on Flux Node to spawn an application"),
        (app(staticip=True), "Application app requires static IP address to run. Aborting."),
        (app(nodes=["9.9.9.9"]), "Application app is not allowed to run on this node. Aborting."),
    ],
)
def test_refusals(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(InstallError, match=message):
        check_requirements(spec, FACTS, [])


def test_installed_apps_lock_their_resources() -> None:
    check_requirements(app(ram=3000), FACTS, [])
    with pytest.raises(InstallError, match="Insufficient RAM"):
        check_requirements(app(ram=3000), FACTS, [app("other", ram=3500)])


def test_nodes_may_name_this_node_by_ip_or_collateral() -> None:
    check_requirements(app(nodes=["1.2.3.4"]), FACTS, [])
    check_requirements(app(nodes=["ab:0"]), FACTS, [])


def test_ports_held_by_another_app() -> None:
    with pytest.raises(
        InstallError,
        match=re.escape(
            "Flux App app port 31000 already used with different application. Installation aborted."
        ),
    ):
        check_ports(app(), [app("other")])
    check_ports(app(), [app()])  # an app's own ports are no clash
    with pytest.raises(InstallError, match="blocked by this node's operator"):
        check_ports(app(), [], blocked=[31000])
