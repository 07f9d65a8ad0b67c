"""Installing and removing an app on this node (apps.md §11.2, §11.4-§11.8).

Install: requirement checks, `networkWith` links, the app network, the local record
(before any container, as upstream), then per component: pull, volume, container,
linked networks, start, the wish `running`. Any failure removes everything the attempt
made, in reverse, and raises `InstallError` with the cause. Progress goes to a callback
as upstream's `{"status": ...}` objects.

Removal goes the other way per component (reverse order): stop, remove the container,
unmount and delete the volume, remove the image when no other app uses it; then the app
network and the local record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol

from fluxos.apps.specs import AppSpec, components, host_ports, public_view
from fluxos.clock import Clock
from fluxos.errors import FluxError, NotFound
from fluxos.runtime.components import (
    build_container,
    choose_subnet,
    component_resources,
    container_name,
    container_names,
    network_name,
    plan_mounts,
    repotags,
)
from fluxos.runtime.engine import DockerEngine, default_nofile
from fluxos.runtime.errors import InstallError
from fluxos.runtime.requirements import FactSource, check_ports, check_requirements
from fluxos.runtime.volumes import Volumes
from fluxos.storage.localapps import RUNNING, LocalApps
from fluxos.wire.jsvalues import to_number

log = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]
_NETWORK_WITH = re.compile(r"networkWith\s*[:=]\s*\[([^\]]*)\]", re.IGNORECASE)


class Announcer(Protocol):
    """Where install results go on the network (the registry's gossip, issue 13)."""

    async def install_failed(self, spec: AppSpec, error: FluxError) -> None: ...
    async def removed(self, app: str) -> None: ...
    async def running(self, app: str) -> None: ...


def linked_apps(spec: AppSpec) -> list[str]:
    """Names in the description's `networkWith:[a,b]` token."""
    match = _NETWORK_WITH.search(str(spec.get("description", "")))
    if not match:
        return []
    return [n.strip().strip("'\"") for n in match.group(1).split(",") if n.strip().strip("'\"")]


def _nothing(_status: dict[str, Any]) -> None:
    return None


class Installer:
    def __init__(
        self,
        engine: DockerEngine,
        apps: LocalApps,
        volumes: Volumes,
        facts: FactSource,
        clock: Clock,
        *,
        announcer: Announcer | None = None,
        blocked_ports: Collection[int] = (),
        on_operator_action: Callable[[str], None] = lambda _name: None,
        sibling_ports: Callable[[], Awaitable[dict[int, str]]] | None = None,
    ) -> None:
        self.engine = engine
        self.apps = apps
        self.volumes = volumes
        self.facts = facts
        self.clock = clock
        self.announcer = announcer
        self.blocked_ports = tuple(blocked_ports)
        self.on_operator_action = on_operator_action
        self.sibling_ports = sibling_ports  # other Flux nodes on this IP (runtime.siblings)
        self._installing = asyncio.Lock()
        self._removing = asyncio.Lock()
        self.installing: str | None = None

    async def install(self, spec: AppSpec, progress: Progress = _nothing) -> None:
        name = str(spec["name"])
        if self._installing.locked():
            raise InstallError(
                f"Another application is undergoing installation ({self.installing})."
                " Installation not possible."
            )
        async with self._installing:
            self.installing = name
            try:
                await self._install(spec, progress)
            except FluxError as error:
                progress({"status": f"Installation of {name} failed: {error.message}"})
                if self.announcer is not None:
                    await self.announcer.install_failed(spec, error)
                raise InstallError(error.message) from error
            finally:
                self.installing = None
        if self.announcer is not None:
            await self.announcer.running(name)

    async def _install(self, spec: AppSpec, progress: Progress) -> None:
        name = str(spec["name"])
        progress({"status": "Checking requirements..."})
        facts = await self.facts.facts()
        installed = await self.apps.all()
        if any(str(app.get("name", "")).lower() == name.lower() for app in installed):
            raise InstallError(f"Flux App {name} already installed")
        check_requirements(spec, facts, installed)
        if self.sibling_ports is not None and host_ports(spec):
            used = await self.sibling_ports()
            for port in (int(to_number(p)) for p in host_ports(spec)):
                if port in used:
                    raise InstallError(
                        f"Port {port} of {name} is used by the Flux node at {used[port]}, on"
                        " this node's IP address. Installation aborted."
                    )
        check_ports(spec, installed, self.blocked_ports)
        links = linked_apps(spec)
        for linked in links:
            other = await self.apps.find(linked)
            if other is None or other.get("owner") != spec.get("owner"):
                raise InstallError(
                    f"Application {name} is linked to {linked}, which is not installed here"
                    " with the same owner. Aborting."
                )
        made: list[Callable[[], Any]] = []
        try:
            progress({"status": "Creating Docker network..."})
            taken = [s for network in await self.engine.list_networks() for s in network.subnets]
            subnet, gateway = choose_subnet(name, taken)
            await self.engine.create_network(network_name(name), subnet, gateway)
            made.append(lambda: self.engine.remove_network(network_name(name), force=True))
            progress({"status": f"Docker network of {name} initiated."})
            await self.apps.add(name, public_view(spec), self.clock.time())
            made.append(lambda: self.apps.remove(name))
            for index, _component in enumerate(components(spec)):
                await self._install_component(spec, index, facts, subnet, links, progress, made)
        except BaseException:
            progress({"status": f"Removing what the installation of {name} made..."})
            for undo in reversed(made):
                try:
                    await undo()
                except FluxError as error:
                    log.warning("install of %s: clean-up step failed: %s", name, error.message)
            raise
        progress({"status": f"Flux App {name} successfully installed and launched"})

    async def _install_component(
        self,
        spec: AppSpec,
        index: int,
        facts: Any,
        subnet: str,
        links: list[str],
        progress: Progress,
        made: list[Callable[[], Any]],
        *,
        volume: bool = True,
    ) -> None:
        component = components(spec)[index]
        container = container_name(spec, component)
        repotag = str(component["repotag"])
        progress({"status": f"Pulling component {repotag}..."})
        await self.engine.pull(repotag, progress=_pull_progress(progress))
        progress({"status": f"Pulling global Flux App {repotag} was successful"})
        plan = plan_mounts(spec, index)
        resources = component_resources(component, facts.tier)
        if volume:
            progress({"status": f"Creating volume of {container}..."})
            made.append(lambda: self.volumes.remove(container))
            await self.volumes.create(container, resources.hdd, plan)
            progress({"status": f"Volume of {container} mounted"})
        else:
            await self.volumes.mount(container)
        built = build_container(
            spec,
            index,
            tier=facts.tier,
            node_ip=facts.ip.split(":")[0],
            apps_dir=self.volumes.apps_dir,
            subnet=subnet,
            nofile=default_nofile(),
        )
        made.append(lambda: self.engine.remove(container, force=True))
        await self.engine.create(built)
        for linked in links:
            await self.engine.connect(network_name(linked), container)
        await self.apps.set_desired(container, str(spec["name"]), RUNNING, self.clock.time())
        if "r" in plan.flags or "g" in plan.flags:
            progress({"status": f"Flux App {container} waits for its data to be synced"})
            return
        progress({"status": f"Starting component {container}..."})
        await self.engine.start(container)
        progress({"status": f"Flux App {container} installed and started"})

    async def redeploy(
        self,
        spec: AppSpec,
        soft: Collection[int] = (),
        hard: Collection[int] = (),
        progress: Progress = _nothing,
    ) -> None:
        """A changed spec on the installed app (same components): the containers of `soft`
        components are made again with their data kept, `hard` ones with a new volume;
        then the stored spec is the new one."""
        name = str(spec["name"])
        if self._installing.locked():
            raise InstallError(
                f"Another application is undergoing installation ({self.installing})."
                " Redeploy not possible."
            )
        async with self._installing:
            self.installing = name
            try:
                facts = await self.facts.facts()
                networks = {n.name: n for n in await self.engine.list_networks()}
                network = networks.get(network_name(name))
                if network is None or not network.subnets:
                    raise InstallError(f"Flux App {name} has no Docker network to redeploy in")
                links = linked_apps(spec)
                for index, component in enumerate(components(spec)):
                    if index not in soft and index not in hard:
                        continue
                    container = container_name(spec, component)
                    self.on_operator_action(container)
                    progress({"status": f"Removing container {container}..."})
                    await _ignore_missing(self.engine.stop(container))
                    await _ignore_missing(self.engine.remove(container, force=True))
                    if index in hard:
                        await self.volumes.remove(container)
                    await self._install_component(
                        spec, index, facts, network.subnets[0], links, progress, [],
                        volume=index in hard,
                    )  # fmt: skip
                await self.apps.replace(name, public_view(spec))
            finally:
                self.installing = None
        progress({"status": f"Flux App {name} redeployed"})

    async def remove(
        self,
        name: str,
        progress: Progress = _nothing,
        *,
        force: bool = False,
        announce: bool = True,
    ) -> None:
        spec = await self.apps.find(name)
        if spec is None:
            raise NotFound(f"Flux App {name} is not installed on this node")
        name = str(spec["name"])
        if self._removing.locked():
            raise FluxError("Another application is undergoing removal. Removal not possible.")
        async with self._removing:
            images_in_use = {
                tag
                for other in await self.apps.all()
                if other["name"] != name
                for tag in repotags(other)
            }
            for container in reversed(container_names(spec)):
                self.on_operator_action(container)
                progress({"status": f"Stopping Flux App {container}..."})
                try:
                    if force:
                        await self.engine.remove(container, force=True)
                    else:
                        await _ignore_missing(self.engine.stop(container))
                        await _ignore_missing(self.engine.remove(container, force=True))
                except NotFound:
                    pass
                progress({"status": f"Flux App {container} container removed"})
                await self.volumes.remove(container)
                progress({"status": f"Flux App {container} volume removed"})
            for tag in set(repotags(spec)) - images_in_use:
                try:
                    await self.engine.remove_image(tag)
                except FluxError as error:  # another container (not ours) may use it
                    log.info("image %s of %s kept: %s", tag, name, error.message)
            await _ignore_missing(self.engine.remove_network(network_name(name), force=True))
            await self.apps.remove(name)
        if announce and self.announcer is not None:
            await self.announcer.removed(name)
        progress({"status": f"Flux App {name} was successfuly removed"})


async def _ignore_missing(call: Any) -> None:
    with contextlib.suppress(NotFound):
        await call


def _pull_progress(progress: Progress) -> Callable[[dict[str, Any]], None]:
    """Docker's pull statuses (from the worker thread) to `progress`, on the loop."""
    loop = asyncio.get_running_loop()

    def forward(event: dict[str, Any]) -> None:
        if event.get("status") and not event.get("progressDetail"):
            status = {"status": event["status"], **({"id": event["id"]} if "id" in event else {})}
            loop.call_soon_threadsafe(progress, status)

    return forward
