"""From specs to Docker objects: names, subnets, containerData mounts, containers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fluxos.runtime.components import (
    app_of_container,
    build_container,
    choose_subnet,
    container_ipv4,
    container_names,
    plan_mounts,
)
from fluxos.runtime.errors import InstallError


def spec(*data: str, **extra: Any) -> dict[str, Any]:
    compose = [
        {
            "name": f"c{i}",
            "repotag": "runonflux/web:1",
            "ports": [30000 + i],
            "containerPorts": [80],
            "environmentParameters": ["A=1", "privileged"],
            "commands": ["--privileged", "serve"],
            "containerData": value,
            "cpu": 0.5,
            "ram": 300,
            "hdd": 2,
            "tiered": False,
            **extra,
        }
        for i, value in enumerate(data)
    ]
    return {"version": 7, "name": "myapp", "compose": compose}


def test_names() -> None:
    assert container_names(spec("/a", "/b")) == ["fluxc0_myapp", "fluxc1_myapp"]
    assert container_names({"version": 3, "name": "old"}) == ["fluxold"]
    assert app_of_container("/fluxc0_myapp") == "myapp"
    assert app_of_container("zelold") == "old"


def test_subnet_is_the_lowest_free_octet_and_legacy_apps_keep_theirs() -> None:
    taken = ["172.23.1.0/24", "172.23.2.0/24", "10.0.0.0/8"]
    assert choose_subnet("myapp", taken) == ("172.23.3.0/24", "172.23.3.1")
    assert choose_subnet("dane", []) == (f"172.23.{ord('e')}.0/24", f"172.23.{ord('e')}.1")
    crowded = [f"172.23.{o}.0/24" for o in range(1, 101)]
    octet = int(choose_subnet("myapp", crowded)[0].split(".")[2])
    assert octet == 102  # 101 is 'e', pinned for the legacy app "dane" & co.
    assert container_ipv4("172.23.3.0/24", 0) == "172.23.3.2"


def test_mounts() -> None:
    app = spec("s:/data|m:logs:/var/log|f:conf.json:/etc/conf.json", "/srv|0:/shared|c:0:logs:/l")
    first = plan_mounts(app, 0)
    assert first.flags == "s"
    assert first.binds == [
        ("fluxc0_myapp/appdata", "/data"),
        ("fluxc0_myapp/logs", "/var/log"),
        ("fluxc0_myapp/conf.json", "/etc/conf.json"),
    ]
    assert first.directories == ["logs"] and first.files == ["conf.json"]
    second = plan_mounts(app, 1)
    assert second.binds == [
        ("fluxc1_myapp/appdata", "/srv"),
        ("fluxc0_myapp/appdata", "/shared"),
        ("fluxc0_myapp/logs", "/l"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("data", "must be absolute"),
        ("/a|m:../x:/b", "not a valid directory"),
        ("/a|m:appdata:/b", "not a valid directory"),
        ("/a|m:x:/a", "mounted twice"),
        ("/a|1:/b", "must come before"),
        ("/a|z:/b", "not understood"),
    ],
)
def test_bad_mounts_name_the_entry(data: str, message: str) -> None:
    with pytest.raises(InstallError, match=message):
        plan_mounts(spec(data), 0)


def test_container() -> None:
    built = build_container(
        spec("/data"),
        0,
        tier="basic",
        node_ip="1.2.3.4",
        apps_dir=Path("/apps"),
        subnet="172.23.5.0/24",
        nofile=100000,
    )
    assert built.name == "fluxc0_myapp" and built.hostname == "c0"
    assert built.command == ["serve"]
    assert built.env == ["A=1", "FLUX_NODE_HOST_IP=1.2.3.4", "FLUX_APP_NAME=myapp"]
    assert built.ports == [(80, 30000)]
    assert built.nano_cpus == 500_000_000
    assert built.memory == 300 * 1024 * 1024
    assert built.memory_swap == 2300 * 1024 * 1024
    assert built.network == "fluxDockerNetwork_myapp" and built.ipv4 == "172.23.5.2"
    assert built.mounts[0].source == "/apps/fluxc0_myapp/appdata"
    assert built.extra_hosts == {"fluxnode.service": "169.254.43.43"}


def test_tiered_resources() -> None:
    app = spec("/d", tiered=True, cpubamf=4, rambamf=4000, hddbamf=50)
    built = build_container(
        app, 0, tier="bamf", node_ip="1.2.3.4", apps_dir=Path("/a"), subnet="172.23.9.0/24"
    )
    assert built.nano_cpus == 4_000_000_000 and built.memory == 4000 * 1024 * 1024
