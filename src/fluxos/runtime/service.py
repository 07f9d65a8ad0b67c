"""What the apps runtime routes ask (apps.md §9, §11.2, §11.7, §11.9): install and remove,
operator control, inspection and the container inventory.

Control changes the component's stored wish first, then acts, and tells the reconciler
so the action never counts as a crash. Until the first reconciler pass after start has
run (the boot-settling window), control answers 503 with `Retry-After`.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import AsyncIterator
from typing import Any, Protocol

from fluxos.apps.locations import iso
from fluxos.apps.specs import AppSpec, components, host_ports, is_compose
from fluxos.clock import Clock
from fluxos.errors import BadParameter, FluxError, NotFound
from fluxos.runtime.components import container_names
from fluxos.runtime.engine import DockerEngine
from fluxos.runtime.errors import Settling
from fluxos.runtime.globalcommands import GlobalCommands
from fluxos.runtime.installer import Installer
from fluxos.runtime.logpolling import LogPage, page, since_seconds
from fluxos.runtime.monitoring import AppMonitor
from fluxos.runtime.progress import Report, envelope, streamed
from fluxos.runtime.reconciler import Reconciler
from fluxos.runtime.requirements import host_cores, host_ram_mb, locked
from fluxos.runtime.tampering import TamperWatch
from fluxos.storage.localapps import RUNNING, STOPPED, LocalApps
from fluxos.storage.tampering import incident_view
from fluxos.sync.apps import sync_mode
from fluxos.wire.jsvalues import to_number

log = logging.getLogger(__name__)

CONTAINER_PREFIXES = ("/flux", "/zel")
FLUX_NETWORK, FLUX_SUBNET, FLUX_GATEWAY = "fluxDockerNetwork", "172.23.0.0/24", "172.23.0.1"


class InstallableSpecs(Protocol):
    """The registry's answer to "which spec would `installapplocally` install?"."""

    async def spec_for_install(self, name_or_hash: str) -> AppSpec | None: ...


class NoRegistry:
    async def spec_for_install(self, name_or_hash: str) -> AppSpec | None:
        return None


class GlobalSpecs(Protocol):
    """The registry's global specs (`/apps/availableapps` lists them first)."""

    async def global_specs(self) -> list[AppSpec]: ...


class NoGlobalSpecs:
    async def global_specs(self) -> list[AppSpec]:
        return []


class RuntimeService:
    def __init__(
        self,
        engine: DockerEngine,
        apps: LocalApps,
        installer: Installer,
        reconciler: Reconciler,
        clock: Clock,
        *,
        specs: InstallableSpecs | None = None,
        catalogue: GlobalSpecs | None = None,
        commands: GlobalCommands | None = None,
        monitor: AppMonitor | None = None,
        tampering: TamperWatch | None = None,
        settle_seconds: float = 60.0,
    ) -> None:
        self.engine = engine
        self.apps = apps
        self.installer = installer
        self.reconciler = reconciler
        self.clock = clock
        self.specs: InstallableSpecs = specs or NoRegistry()
        self.catalogue: GlobalSpecs = catalogue or NoGlobalSpecs()
        self.commands = commands
        self.monitor = monitor
        self.tampering = tampering
        self.settle_seconds = settle_seconds
        self._started_at = clock.monotonic()

    # -- owners ----------------------------------------------------------------------------
    async def owner_of(self, name: str) -> str | None:
        spec = await self.apps.find(_app_part(name))
        return str(spec["owner"]) if spec and spec.get("owner") else None

    # -- install and remove ----------------------------------------------------------------
    async def install_stream(self, spec: AppSpec) -> AsyncIterator[str]:
        """Upstream's install stream: status objects, then the result envelope (Docker
        is asked first, so an absent engine is a plain error answer)."""
        await self.engine.ping()
        return self._install_chunks(spec)

    def _install_chunks(self, spec: AppSpec) -> AsyncIterator[str]:
        async def install(report: Report) -> None:
            await self.installer.install(spec, report)

        return streamed(install, f"Flux App {spec['name']} successfully installed and launched")

    async def test_install_stream(self, spec: AppSpec) -> AsyncIterator[str]:
        """testappinstall: cpu 0.2, ram 300, hdd 2 and no ports per component; the app is
        removed afterwards whatever happened."""
        trial = json.loads(json.dumps(spec))
        for component in components(trial):
            for key in ("ports", "containerPorts", "domains"):
                if key in component:
                    component[key] = []
            component.update({"cpu": 0.2, "ram": 300, "hdd": 2, "tiered": False})
        if not is_compose(trial):
            for key in ("port", "containerPort"):
                trial.pop(key, None)
        await self.engine.ping()
        return self._test_chunks(trial)

    async def _test_chunks(self, spec: AppSpec) -> AsyncIterator[str]:
        async for chunk in self._install_chunks(spec):
            yield chunk
        if await self.apps.get(str(spec["name"])) is not None:
            statuses: list[dict[str, Any]] = []
            try:
                await self.installer.remove(str(spec["name"]), statuses.append, announce=False)
            except FluxError as error:
                statuses.append({"status": f"Removal of the test install failed: {error.message}"})
            for status in statuses:
                yield json.dumps(status)

    async def install_by_name(self, name_or_hash: str) -> AppSpec:
        spec = await self.specs.spec_for_install(name_or_hash)
        if spec is None:
            raise NotFound(f"Application Specifications of {name_or_hash} not found")
        return spec

    async def remove_stream(self, name: str, *, force: bool) -> AsyncIterator[str]:
        if "_" in name:
            raise BadParameter("Components cannot be removed manually")
        await self.engine.ping()
        spec = await self.apps.find(name)
        if spec is None:
            raise NotFound(f"Flux App {name} is not installed on this node")
        return self._remove_chunks(spec, force)

    async def _remove_chunks(self, spec: AppSpec, force: bool) -> AsyncIterator[str]:
        name = str(spec["name"])
        statuses: list[dict[str, Any]] = []
        try:
            await self.installer.remove(name, statuses.append, force=force)
        except FluxError as error:
            for status in statuses:
                yield json.dumps(status)
            yield envelope("error", error.message, error.name)
            return
        for status in statuses:
            yield json.dumps(status)
        yield envelope(
            "success", f"Removal step done. Result: Flux App {spec['name']} was successfuly removed"
        )

    async def redeploy_stream(
        self, name: str, *, force: bool, component: str | None = None
    ) -> AsyncIterator[str]:
        """`redeploy` (every component) or `redeploycomponent`: containers made again
        with their data (soft), or with new volumes too (`force`, hard)."""
        if component is None and "_" in name:
            raise BadParameter("Component cannot be redeployed manually")
        await self.check_settled()
        spec = await self.apps.find(name)
        if spec is None:
            raise NotFound(f"Flux App {name} is not installed on this node")
        indexes = list(range(len(components(spec))))
        if component is not None:
            names = [str(c.get("name", "")) for c in components(spec)]
            if not is_compose(spec) or component not in names:
                raise NotFound(f"Component {component} of {spec['name']} not found")
            indexes = [names.index(component)]
        return self._redeploy_chunks(spec, indexes, force)

    def _redeploy_chunks(
        self, spec: AppSpec, indexes: list[int], force: bool
    ) -> AsyncIterator[str]:
        async def redeploy(report: Report) -> None:
            soft, hard = ((), indexes) if force else (indexes, ())
            await self.installer.redeploy(spec, soft, hard, report)

        kind = "hard" if force else "soft"
        return streamed(redeploy, f"Flux App {spec['name']} {kind} redeployed")

    # -- control (§11.7) -------------------------------------------------------------------
    async def check_settled(self) -> None:
        """Docker answers, and the reconciler has been over the apps once since start."""
        await self.engine.ping()
        if self.reconciler.passes == 0:
            elapsed = self.clock.monotonic() - self._started_at
            wait = max(1, int(self.settle_seconds - elapsed))
            raise Settling(
                "FluxOS is starting: apps are being brought back to their state. Try again"
                " shortly.",
                retry_after=wait,
            )

    async def target(self, name: str) -> tuple[AppSpec, list[str], bool]:
        """(spec, containers in order, is one component) of `app` or `component_app`."""
        spec = await self.apps.find(_app_part(name))
        if spec is None:
            raise NotFound(f"Flux App {name} is not installed on this node")
        names = container_names(spec)
        if "_" in name and is_compose(spec):
            wanted = f"flux{name}".lower()
            matching = [n for n in names if n.lower() == wanted]
            if not matching:
                raise NotFound(f"Component {name} of {spec['name']} not found")
            return spec, matching, True
        return spec, names, False

    async def _wish(self, spec: AppSpec, containers: list[str], desired: str) -> None:
        now = self.clock.time()
        for name in containers:
            self.reconciler.operator_acted(name)
            await self.apps.set_desired(name, str(spec["name"]), desired, now)

    async def start(self, name: str) -> str:
        await self.check_settled()
        spec, containers, single = await self.target(name)
        await self._wish(spec, containers, RUNNING)
        gated = self._gated(spec)
        for container in containers:
            if container in gated:  # its copy may not be the one to run: the gate decides
                continue
            if (await self.engine.inspect(container))["State"]["Status"] != "running":
                await self.engine.start(container)
        return (
            f"Flux App {name} successfully started."
            if single
            else f"Application {spec['name']} started"
        )

    def _gated(self, spec: AppSpec) -> set[str]:
        """Containers of `spec` that start only when the Syncthing controller's gate opens
        (r: and g: volumes on a node whose app folders sync): control leaves a stopped one
        to the reconciler, so a g: standby never runs, not even briefly (apps.md §11.7)."""
        if self.reconciler.gate is None:
            return set()
        return {
            container
            for container, component in zip(container_names(spec), components(spec), strict=True)
            if (mode := sync_mode(str(component.get("containerData") or ""))) is not None
            and mode.gated
        }

    async def stop(self, name: str) -> str:
        await self.check_settled()
        spec, containers, single = await self.target(name)
        await self._wish(spec, containers, STOPPED)
        already = True
        for container in reversed(containers):
            if (await self.engine.inspect(container))["State"]["Running"]:
                already = False
                await self.engine.stop(container)
        if single:
            return (
                f"Flux App {name} is already stopped."
                if already
                else f"Flux App {name} successfully stopped."
            )
        return f"Application {spec['name']} stopped"

    # -- for a backup or restore task (fluxos.files.backuptasks.AppControl) -----------------
    async def stop_app(self, name: str) -> None:
        """Every container of the app wished stopped and stopped (a missing one is fine):
        the reconciler leaves them until `start_app`."""
        await self.engine.ping()
        spec, containers, _single = await self.target(name)
        await self._wish(spec, containers, STOPPED)
        for container in reversed(containers):
            try:
                if (await self.engine.inspect(container))["State"]["Running"]:
                    await self.engine.stop(container)
            except NotFound:
                log.info("%s: no container to stop for the task", container)

    async def start_app(self, name: str) -> None:
        """Every container wished running again; the ones without synced data started now,
        the synced ones left to the reconciler and the Syncthing controller's gate."""
        spec, containers, _single = await self.target(name)
        await self._wish(spec, containers, RUNNING)
        synced = {
            container
            for container, component in zip(containers, components(spec), strict=True)
            if sync_mode(str(component.get("containerData") or "")) is not None
        }
        for container in containers:
            if container in synced:
                continue
            try:
                if (await self.engine.inspect(container))["State"]["Status"] != "running":
                    await self.engine.start(container)
            except NotFound:
                log.info("%s: no container to start after the task", container)

    async def restart(self, name: str) -> str:
        await self.check_settled()
        spec, containers, single = await self.target(name)
        await self._wish(spec, containers, RUNNING)
        was_stopped = False
        gated = self._gated(spec)
        for container in containers:
            if (await self.engine.inspect(container))["State"]["Running"]:
                await self.engine.restart(container)
            else:
                was_stopped = True
                if container not in gated:
                    await self.engine.start(container)
        if single:
            if was_stopped:
                return f"Flux App {name} was stopped, successfully started."
            return f"Flux App {name} successfully restarted."
        return f"Application {spec['name']} restarted"

    async def pause(self, name: str, *, unpause: bool = False) -> str:
        await self.check_settled()
        spec, containers, single = await self.target(name)
        for container in reversed(containers):
            self.reconciler.operator_acted(container)
            await (self.engine.unpause if unpause else self.engine.pause)(container)
        verb = "unpaused" if unpause else "paused"
        return (
            f"Flux App {name} successfully {verb}."
            if single
            else f"Application {spec['name']} {verb}"
        )

    async def kill(self, name: str) -> str:
        """upstream 8.18's appkill: stop at once (SIGKILL), durable like appstop."""
        await self.check_settled()
        spec, containers, single = await self.target(name)
        await self._wish(spec, containers, STOPPED)
        for container in reversed(containers):
            if (await self.engine.inspect(container))["State"]["Running"]:
                await self.engine.kill(container)
        return (
            f"Flux App {name} successfully killed."
            if single
            else f"Application {spec['name']} killed"
        )

    async def component_names(self, name: str) -> list[str]:
        spec, _containers, _single = await self.target(name)
        return [str(c.get("name", spec["name"])) for c in components(spec)]

    async def held_components(self) -> list[dict[str, Any]]:
        """Components the operator holds stopped (the reconciler leaves them)."""
        wishes = await self.apps.desired()
        return [
            {"name": container.removeprefix("flux"), "desired": desired}
            for container, desired in sorted(wishes.items())
            if desired == STOPPED
        ]

    # -- inspection (§11.9) ----------------------------------------------------------------
    async def container_of(self, name: str) -> str:
        """The container of `component_app`, or of a one-component (or v1-3) app."""
        spec, containers, single = await self.target(name)
        if single or len(containers) == 1:
            return containers[0]
        raise BadParameter(
            f"appname must name a component of {spec['name']} (component_app), one of"
            f" {', '.join(n.removeprefix('flux') for n in containers)}"
        )

    async def log(self, name: str, lines: int | str) -> str:
        container = await self.container_of(name)
        return (await self.engine.logs(container, tail=lines)).decode(errors="replace")

    async def log_page(self, name: str, lines: int | str, since: str) -> LogPage:
        """applogpolling: the lines after `since` (Docker's timestamp of the last line a
        viewer holds), or the last `lines`."""
        container = await self.container_of(name)
        if since:
            raw = await self.engine.logs(
                container, tail="all", timestamps=True, since=since_seconds(since)
            )
        else:
            raw = await self.engine.logs(container, tail=lines, timestamps=True)
        return page(raw, lines, since)

    async def inspect(self, name: str) -> dict[str, Any]:
        return await self.engine.inspect(await self.container_of(name))

    async def stats(self, name: str) -> dict[str, Any]:
        container = await self.container_of(name)
        stats = await self.engine.stats(container)
        inspect = await self.engine.inspect(container)
        stats["nanoCpus"] = inspect["HostConfig"].get("NanoCpus")
        return stats

    async def top(self, name: str) -> dict[str, Any]:
        return await self.engine.top(await self.container_of(name))

    async def changes(self, name: str) -> list[dict[str, Any]] | None:
        return await self.engine.changes(await self.container_of(name))

    async def exec_stream(
        self, name: str, command: list[str], env: list[str]
    ) -> AsyncIterator[bytes]:
        container = await self.container_of(name)
        await self.engine.inspect(container)
        return self.engine.exec_stream(container, command, env)

    # -- monitoring (§11.9) ----------------------------------------------------------------
    def _monitor(self) -> AppMonitor:
        if self.monitor is None:
            raise FluxError("app monitoring does not run on this node")
        return self.monitor

    async def _monitored(self, name: str | None) -> tuple[str, list[str]]:
        """(the app's name, its component ids) of `app` or `component_app`."""
        spec, containers, _single = await self.target(name or "")
        return str(spec["name"]), [c.removeprefix("flux") for c in containers]

    async def monitor_samples(self, name: str, range_ms: int | None) -> list[dict[str, Any]]:
        container = await self.container_of(name)
        return self._monitor().samples(container.removeprefix("flux"), range_ms)

    async def monitor_stream(self, name: str) -> AsyncIterator[str]:
        container = await self.container_of(name)
        await self.engine.inspect(container)
        return self._stats_chunks(container)

    async def _stats_chunks(self, container: str) -> AsyncIterator[str]:
        async for sample in self.engine.stats_stream(container):
            yield json.dumps(sample)

    async def start_monitoring(self, name: str | None) -> str:
        monitor = self._monitor()
        if name is None:
            monitor.stopped.clear()
            return "Application monitoring started for all apps"
        app, ids = await self._monitored(name)
        monitor.start(ids)
        return f"Application monitoring started for {app}"

    async def stop_monitoring(self, name: str | None, *, delete: bool) -> str:
        monitor = self._monitor()
        if name is None:
            monitor.stop(await monitor.watched() + list(monitor.stores), delete=delete)
            if delete:
                return (
                    "Application monitoring stopped for all apps. Monitoring data deleted for"
                    " all apps."
                )
            return (
                "Application monitoring stopped for all apps. Existing monitoring data maintained."
            )
        _app, ids = await self._monitored(name)
        monitor.stop(ids, delete=delete)
        if delete:
            return f"Application monitoring stopped and monitoring data deleted for {name}."
        return f"Application monitoring stopped for {name}. Existing monitoring data maintained."

    async def tampering_events(self, name: str | None, limit: int) -> list[dict[str, Any]]:
        if self.tampering is None:
            return []
        incidents = await self.tampering.store.incidents(name, limit)
        return [incident_view(incident, iso) for incident in incidents]

    # -- inventory (§9) --------------------------------------------------------------------
    async def containers(self, *, all: bool) -> list[dict[str, Any]]:
        listed = await self.engine.list_containers(all=all)
        answer = []
        for summary in listed:
            names = summary.get("Names") or [""]
            if not str(names[0]).startswith(CONTAINER_PREFIXES):
                continue
            answer.append(
                {
                    k: v
                    for k, v in summary.items()
                    if k not in ("HostConfig", "NetworkSettings", "Mounts")
                }
            )
        return answer

    async def images(self) -> list[dict[str, Any]]:
        return await self.engine.list_images()

    async def installed(self, name: str | None = None) -> list[AppSpec]:
        specs = await self.apps.all()
        return [s for s in specs if name is None or s.get("name") == name]

    async def ports_in_use(self) -> list[int]:
        """/flux/portsinuse: the host ports of the apps installed here (running or not),
        which the other Flux nodes on this IP do not install onto."""
        return sorted(
            {int(to_number(p)) for spec in await self.apps.all() for p in host_ports(spec)}
        )

    async def available(self) -> list[AppSpec]:
        """availableapps: the global specs, then the specs installed here (upstream
        concatenates them: an app may appear twice)."""
        return [*await self.catalogue.global_specs(), *await self.apps.all()]

    async def resources(self) -> dict[str, float]:
        """appsresources: what the installed apps hold at this node's tier (untiered
        values where the tier is unknown); hdd adds 12 GB per component."""
        tier: Any = ""
        try:
            tier = (await self.installer.facts.facts()).tier
        except FluxError as error:
            log.info("appsresources without a tier: %s", error.message)
        cpu, ram, hdd = locked(await self.apps.all(), tier)
        return {"appsCpusLocked": cpu, "appsRamLocked": ram, "appsHddLocked": hdd}

    async def usage(self) -> dict[str, Any]:
        """fluxusage: installed apps, how many containers run, the node's hardware."""
        installed = len(await self.apps.all())
        running = len(await self.containers(all=False))
        disk = self.installer.volumes.volumes_dir
        disk.mkdir(parents=True, exist_ok=True)
        return {
            "totalApps": installed,
            "runningApps": running,
            "stoppedApps": installed - running,
            "nodeSpecs": {
                "cpuCores": host_cores(),
                "ram": host_ram_mb(),
                "ssdStorage": round(shutil.disk_usage(disk).total / 1024**3, 2),
            },
        }

    async def create_flux_network(self) -> str:
        """createfluxnetwork: upstream's shared `fluxDockerNetwork` (172.23.0.0/24)."""
        networks = await self.engine.list_networks()
        if any(network.name == FLUX_NETWORK for network in networks):
            return "Flux Network already exists."
        taken = [subnet for network in networks for subnet in network.subnets]
        if FLUX_SUBNET in taken:
            raise FluxError(f"Subnet {FLUX_SUBNET} of {FLUX_NETWORK} is used by another network")
        network_id = await self.engine.create_network(FLUX_NETWORK, FLUX_SUBNET, FLUX_GATEWAY)
        return f"Flux Network {FLUX_NETWORK} created ({network_id[:12]})."


def _app_part(name: str) -> str:
    return name.split("_", 1)[1] if "_" in name else name
