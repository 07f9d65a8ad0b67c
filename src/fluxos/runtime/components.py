"""From an app spec to Docker objects (apps.md §0, §1.4, §11.4, §11.6): names, the app
network's subnet, the mounts of `containerData`, and each component's `ContainerSpec`.

Pure functions; the installer feeds them what the node knows (its IP, tier, the
networks already taken) and hands the results to the engine.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fluxos.apps.resources import Tier, _tier_or_plain
from fluxos.apps.specs import AppSpec, components, is_compose
from fluxos.runtime.engine import UPSTREAM_NOFILE, BindMount, ContainerSpec
from fluxos.runtime.errors import InstallError
from fluxos.wire.jsvalues import to_number

NETWORK_PREFIX = "fluxDockerNetwork_"
FLUX_HOST = {"fluxnode.service": "169.254.43.43"}
LEGACY_PINNED = (
    "HNSDoH", "dane", "fdm", "Jetpack2", "fdmdedicated", "isokosse", "ChainBraryDApp",
    "health", "ethercalc",
)  # fmt: skip
"""Apps whose network octet is the char code of their name's last letter (§11.4)."""
_PINNED_OCTETS = frozenset(ord(name[-1]) for name in LEGACY_PINNED)
_FLAGS = re.compile(r"^[rgs]+$")
_BAD_NAME = re.compile(r'[<>:"|?*]')
_RESERVED_NAMES = frozenset({"appdata", "backup", ".", ".."})


def container_name(spec: AppSpec, component: dict[str, Any]) -> str:
    """`flux<component>_<app>` (v4+) or `flux<app>` (v1-3)."""
    if is_compose(spec):
        return f"flux{component['name']}_{spec['name']}"
    return f"flux{spec['name']}"


def container_names(spec: AppSpec) -> list[str]:
    return [container_name(spec, component) for component in components(spec)]


def network_name(app: str) -> str:
    return f"{NETWORK_PREFIX}{app}"


def app_of_container(name: str) -> str:
    """`fluxweb_app` -> `app`; `fluxapp` (v1-3) -> `app`."""
    bare = name.lstrip("/")
    bare = bare.removeprefix("flux") if bare.startswith("flux") else bare.removeprefix("zel")
    return bare.split("_", 1)[1] if "_" in bare else bare


APP_SUBNETS = "172.23.0.0/16"  # every app network's /24 is inside it


def choose_subnet(app: str, taken: Collection[str]) -> tuple[str, str]:
    """(subnet, gateway) of the app network: `172.23.<o>.0/24`, `o` the lowest octet no
    docker network uses (legacy apps keep their pinned octet)."""
    used = set()
    for subnet in taken:
        try:
            network = ipaddress.ip_network(subnet, strict=False)
        except ValueError:
            continue
        if network.version == 4 and str(network).startswith("172.23."):
            used.add(int(str(network.network_address).split(".")[2]))
    if app in LEGACY_PINNED:
        octet = ord(app[-1])
    else:
        free = [o for o in range(1, 256) if o not in used and o not in _PINNED_OCTETS]
        if not free:
            raise InstallError("No free docker network subnet is left on this node")
        octet = free[0]
    return f"172.23.{octet}.0/24", f"172.23.{octet}.1"


def container_ipv4(subnet: str, index: int) -> str:
    """The component's fixed address: the subnet's hosts after the gateway, in order."""
    hosts = list(ipaddress.ip_network(subnet).hosts())
    return str(hosts[1 + index])


@dataclass(frozen=True)
class Resources:
    cpu: float  # cores
    ram: float  # MB
    hdd: float  # GB


def component_resources(component: dict[str, Any], tier: Tier) -> Resources:
    if component.get("tiered"):
        values = [float(_tier_or_plain(component, key, tier)) for key in ("cpu", "ram", "hdd")]
    else:
        values = [float(to_number(component.get(key))) for key in ("cpu", "ram", "hdd")]
    return Resources(*values)


# -- containerData (§1.4) ------------------------------------------------------------------
@dataclass(frozen=True)
class MountPlan:
    """What a component mounts: host paths relative to the apps folder."""

    flags: str
    primary_target: str
    binds: list[tuple[str, str]] = field(default_factory=list)  # (host rel path, target)
    directories: list[str] = field(default_factory=list)  # own dirs to create
    files: list[str] = field(default_factory=list)  # own files to create


def _check_target(path: str, data: str) -> str:
    if not path.startswith("/") or ".." in path.split("/") or "\0" in path:
        raise InstallError(
            f"containerData {data}: container path {path} must be absolute, without .. or NUL"
        )
    return path


def _check_name(name: str, data: str) -> str:
    if (
        not name
        or "/" in name
        or ".." in name
        or name in _RESERVED_NAMES
        or _BAD_NAME.search(name)
        or len(name) > 255
    ):
        raise InstallError(f"containerData {data}: {name!r} is not a valid directory or file name")
    return name


def plan_mounts(spec: AppSpec, index: int) -> MountPlan:
    """Parse a component's containerData (mountParser); errors name the entry."""
    component = components(spec)[index]
    data = str(component.get("containerData", ""))
    dirs = [container_name(spec, c) for c in components(spec)]
    own = dirs[index]
    entries = data.split("|")
    first = entries[0]
    flags, _, rest = first.partition(":")
    if rest and _FLAGS.match(flags):
        primary = rest
    else:
        flags, primary = "", first
    _check_target(primary, data)
    plan = MountPlan(flags=flags, primary_target=primary, binds=[(f"{own}/appdata", primary)])
    targets = {primary}
    names: set[str] = set()
    for entry in entries[1:]:
        parts = entry.split(":")
        kind = parts[0]
        if kind.isdigit() and len(parts) == 2:
            other = _other_component(int(kind), index, dirs, data)
            host, target = f"{other}/appdata", parts[1]
        elif kind == "m" and len(parts) == 3:
            host, target = f"{own}/{_check_name(parts[1], data)}", parts[2]
            plan.directories.append(parts[1])
        elif kind == "f" and len(parts) == 3:
            host, target = f"{own}/{_check_name(parts[1], data)}", parts[2]
            plan.files.append(parts[1])
        elif kind in ("c", "cf") and len(parts) == 4 and parts[1].isdigit():
            other = _other_component(int(parts[1]), index, dirs, data)
            host, target = f"{other}/{_check_name(parts[2], data)}", parts[3]
        else:
            raise InstallError(f"containerData {data}: mount {entry!r} is not understood")
        if kind in ("m", "f"):
            if parts[1] in names:
                raise InstallError(f"containerData {data}: {parts[1]} is named twice")
            names.add(parts[1])
        _check_target(target, data)
        if target in targets:
            raise InstallError(f"containerData {data}: {target} is mounted twice")
        targets.add(target)
        plan.binds.append((host, target))
    return plan


def _other_component(number: int, index: int, dirs: list[str], data: str) -> str:
    if number >= index and not (number == 0 and index == 0):
        raise InstallError(
            f"containerData {data}: component {number} must come before this one ({index})"
        )
    return dirs[number]


# -- the container (§11.6) -------------------------------------------------------------------
def build_container(
    spec: AppSpec,
    index: int,
    *,
    tier: Tier,
    node_ip: str,
    apps_dir: Path,
    subnet: str,
    nofile: int = UPSTREAM_NOFILE,
) -> ContainerSpec:
    """The container of component `index` as upstream's appDockerCreate makes it."""
    component = components(spec)[index]
    app = str(spec["name"])
    compose = is_compose(spec)
    resources = component_resources(component, tier)
    if compose:
        env_key, hostname = "environmentParameters", str(component["name"])
        ports = list(
            zip(component.get("containerPorts") or [], component.get("ports") or [], strict=False)
        )
    else:
        env_key, hostname = "enviromentParameters", app
        if to_number(spec.get("version")) == 1:
            ports = [(spec["containerPort"], spec["port"])] if spec.get("port") else []
        else:
            ports = list(
                zip(spec.get("containerPorts") or [], spec.get("ports") or [], strict=False)
            )
    env = [str(item) for item in component.get(env_key) or [] if item != "privileged"]
    env += [f"FLUX_NODE_HOST_IP={node_ip}", f"FLUX_APP_NAME={app}"]
    command = [str(item) for item in component.get("commands") or [] if item != "--privileged"]
    plan = plan_mounts(spec, index)
    mounts = [BindMount(str(apps_dir / host), target) for host, target in plan.binds]
    ram_mb = resources.ram
    return ContainerSpec(
        name=container_name(spec, component),
        image=str(component["repotag"]),
        hostname=hostname,
        command=command,
        env=env,
        ports=[(int(to_number(c)), int(to_number(h))) for c, h in ports],
        nano_cpus=round(resources.cpu * 1e9),
        memory=round(ram_mb * 1024 * 1024),
        memory_swap=round((ram_mb + 2000) * 1024 * 1024),
        mounts=mounts,
        network=network_name(app),
        ipv4=container_ipv4(subnet, index),
        extra_hosts=dict(FLUX_HOST),
        nofile=nofile,
    )


def repotags(spec: AppSpec) -> list[str]:
    return [str(component["repotag"]) for component in components(spec)]
