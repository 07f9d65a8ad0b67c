"""The apps runtime over HTTP: a node served in-process with a real devnet (its tier),
a real dockerd and registry. The admin installs, controls, inspects and removes an app;
without Docker the node serves on and says so."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from fluxos.clock import ManualClock
from fluxos.config import load_settings
from fluxos.identity import Credentials
from fluxos.network.nodelist import FluxnodeList
from fluxos.node import Node
from fluxos.runtime.errors import InstallError
from fluxos.runtime.installer import Installer
from fluxos.runtime.siblings import SiblingPorts
from fluxos.runtime.volumes import Volumes
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.localapps import LocalApps
from tests.integration.runtime.conftest import Images
from tests.integration.runtime.test_install import answers
from tests.support.asyncwait import eventually
from tests.support.daemons import DevnetProcess
from tests.support.identity import Person
from tests.support.inprocess import serving
from tests.support.processes import free_port
from tests.support.runtimeapps import HostFacts, web_app


class SpecTable:
    """Stands in for the global apps registry behind `InstallableSpecs` (issue 13)."""

    def __init__(self) -> None:
        self.specs: dict[str, dict[str, Any]] = {}

    async def spec_for_install(self, name_or_hash: str) -> dict[str, Any] | None:
        return self.specs.get(name_or_hash)


@dataclass
class World:
    node: Node
    clock: ManualClock
    http: httpx.AsyncClient
    admin: Credentials
    specs: SpecTable

    async def get(self, path: str, *, auth: bool = True) -> httpx.Response:
        headers = {"zelidauth": self.admin.header_qs()} if auth else {}
        return await self.http.get(path, headers=headers)


async def log_in(http: httpx.AsyncClient, clock: ManualClock, person: Person) -> Credentials:
    phrase = (await http.get("/id/loginphrase")).json()
    assert phrase["status"] == "success", phrase
    clock.advance(1)
    reply = await http.post("/id/verifylogin", json=person.login_body(phrase["data"]))
    assert reply.json()["status"] == "success", reply.text
    return person.credentials(phrase["data"])


def objects(text: str) -> list[dict[str, Any]]:
    """Upstream's streams: JSON objects one after another."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text):
        value, at = decoder.raw_decode(text, at)
        found.append(value)
    return found


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Any:
    process = DevnetProcess(tmp_path_factory.mktemp("runtime-devnet")).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
async def world(tmp_path: Path, devnet: DevnetProcess, docker_url: str) -> AsyncIterator[World]:
    admin = Person()
    settings = load_settings(
        tmp_path,
        {
            "zelid": admin.zelid,
            "fluxd_conf": str(devnet.conf_path),
            "development": True,
            "runtime": {
                "docker_host": docker_url,
                "reconcile_seconds": 3600,
                "monitor_seconds": 3600,  # the test takes the samples itself
            },
        },
        environ={},
    )
    clock = ManualClock(start=1_750_000_000.0)
    specs = SpecTable()
    node = Node(settings, clock=clock, run_apps=True, install_specs=specs)
    async with serving(node) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        credentials = await log_in(http, clock, admin)
        yield World(node, clock, http, credentials, specs)
        for spec in await node.local_apps.all():
            await node.installer.remove(spec["name"], force=True)


async def test_install_control_inspect_remove(world: World, images: Images) -> None:
    port = free_port()
    owner = Person()
    world.specs.specs["webapi"] = web_app("webapi", images.httpd, port, owner=owner.zelid)
    assert (await world.get("/apps/installapplocally/webapi", auth=False)).json()["data"][
        "code"
    ] == 401
    streamed = objects((await world.get("/apps/installapplocally/webapi")).text)
    assert streamed[-1] == {
        "status": "success",
        "data": {"message": "Flux App webapi successfully installed and launched"},
    }
    assert {"status": "Flux App fluxweb_webapi installed and started"} in streamed
    await eventually(lambda: answers(port), within=30)
    # this node is no confirmed fluxnode: its fluxapprunning is not sent, the install stands
    assert world.node.app_announcer.failures["fluxapprunning"] == 1

    running = (await world.get("/apps/listrunningapps")).json()["data"]
    assert [c["Names"] for c in running] == [["/fluxweb_webapi"]]
    assert "HostConfig" not in running[0]
    installed = (await world.get("/apps/installedapps/webapi")).json()["data"]
    assert [spec["name"] for spec in installed] == ["webapi"]

    # an operator stop is durable; the reconciler leaves the component stopped
    reply = (await world.get("/apps/appstop/webapi")).json()
    assert reply == {"status": "success", "data": {"message": "Application webapi stopped"}}
    await world.node.reconciler.reconcile_once()
    assert not (await world.node.docker.inspect("fluxweb_webapi"))["State"]["Running"]
    held = (await world.get("/apps/heldcomponents")).json()["data"]
    assert held == [{"name": "web_webapi", "desired": "stopped"}]
    reply = (await world.get("/apps/appstart/web_webapi")).json()
    assert reply["data"]["message"] == "Flux App web_webapi successfully started."
    await eventually(lambda: answers(port), within=30)
    reply = (await world.get("/apps/apprestart/webapi")).json()
    assert reply["data"]["message"] == "Application webapi restarted"
    assert (await world.get("/apps/appcomponentnames/webapi")).json()["data"] == ["web"]

    inspect = (await world.get("/apps/appinspect/web_webapi")).json()["data"]
    assert inspect["Name"] == "/fluxweb_webapi"
    top = (await world.get("/apps/apptop/webapi")).json()["data"]
    assert top["Titles"] and top["Processes"]
    command = {"appname": "web_webapi", "cmd": ["/bin/sh", "-c", "echo $X inside"], "env": ["X=hi"]}
    refused = await world.http.post(
        "/apps/appexec", json=command, headers={"zelidauth": world.admin.header_qs()}
    )
    assert refused.json()["data"]["code"] == 401  # appexec is the app owner's alone
    owner_login = await log_in(world.http, world.clock, owner)
    output = await world.http.post(
        "/apps/appexec", json=command, headers={"zelidauth": owner_login.header_qs()}
    )
    assert output.status_code == 200
    assert output.content.endswith(b"hi inside\n")
    log = (await world.get("/apps/applog/webapi/5")).json()
    assert log["status"] == "success" and isinstance(log["data"], str)
    bad = (await world.get("/apps/appstop/nothing_webapi")).json()
    assert bad["status"] == "error" and "not found" in bad["data"]["message"]
    assert (await world.get("/apps/appstop/webapi", auth=False)).json()["data"]["code"] == 401

    removal = objects((await world.get("/apps/appremove/webapi")).text)
    assert removal[-1]["data"]["message"] == (
        "Removal step done. Result: Flux App webapi was successfuly removed"
    )
    assert not await world.node.docker.exists("fluxweb_webapi")
    assert world.node.app_announcer.failures["fluxappremoved"] == 1
    assert (await world.get("/apps/listallapps")).json()["data"] == []
    assert (await world.get("/apps/installedapps")).json()["data"] == []


async def test_without_docker_the_node_serves_on(tmp_path: Path) -> None:
    admin = Person()
    settings = load_settings(
        tmp_path,
        {"zelid": admin.zelid, "runtime": {"docker_host": f"unix://{tmp_path}/no.sock"}},
        environ={},
    )
    node = Node(settings, clock=ManualClock(), run_apps=True)
    async with serving(node) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        reply = await http.get("/apps/listrunningapps")
        assert reply.status_code == 503
        assert reply.headers["retry-after"] == "30"
        assert reply.json()["status"] == "error"
        assert "Docker is not available on this node" in reply.json()["data"]["message"]
        # the docker login gate: no login phrase while Docker is away
        phrase = (await http.get("/id/loginphrase")).json()
        assert phrase["status"] == "error"
        assert "Docker is not available" in phrase["data"]["message"]
        assert (await http.get("/apps/latestspecificationversion")).json()["data"] == 8


LOGGER = "i=0; while true; do i=$((i+1)); echo out $i; echo err $i >&2; busybox usleep 5000; done"


def numbers(lines: list[str], stream: str) -> list[int]:
    """The counters of `stream`'s lines ("<docker stamp> out 17")."""
    found = []
    for line in lines:
        _stamp, _sep, text = line.partition(" ")
        kind, _sep, count = text.partition(" ")
        if kind == stream:
            found.append(int(count))
    return found


async def test_log_polling_loses_no_line_and_repeats_none(world: World, images: Images) -> None:
    # a writer alternating stdout and stderr: Docker stamps the two in separate copiers,
    # so its log is not always in time order — the case a time filter alone loses lines in
    command = ["/bin/busybox", "sh", "-c", LOGGER]
    spec = web_app("logapp", images.httpd, free_port(), commands=command)
    world.specs.specs["logapp"] = spec
    streamed = objects((await world.get("/apps/installapplocally/logapp")).text)
    assert streamed[-1]["status"] == "success", streamed

    seen: list[str] = []
    reply = (await world.get("/apps/applogpolling/logapp/all")).json()
    assert set(reply) == {
        "logs", "lineCount", "logCount", "sinceTimestamp", "truncated", "status",
    }  # fmt: skip
    assert reply["status"] == "success" and reply["lineCount"] == "all"
    assert reply["truncated"] is False and reply["logCount"] == len(reply["logs"])
    seen += reply["logs"]
    polls = 0
    while len(numbers(seen, "err")) < 400 or polls < 10:
        since = seen[-1].split(" ", 1)[0] if seen else ""
        reply = (await world.get(f"/apps/applogpolling/logapp/40/{since}")).json()
        assert reply["status"] == "success", reply
        assert reply["sinceTimestamp"] == since and reply["lineCount"] == 40
        assert reply["logCount"] == len(reply["logs"]) <= 40
        seen += reply["logs"]
        polls += 1
    for stream in ("out", "err"):
        counts = numbers(seen, stream)
        # every line exactly once, none missing from the first to the last seen
        assert counts == list(range(1, len(counts) + 1)), stream
    # the last lines without a cursor: `lines` of them, truncated says there were more
    tail = (await world.get("/apps/applogpolling/logapp/7")).json()
    assert tail["logCount"] == 7 and tail["truncated"] is True
    # by query, as the UI asks; an unparsable count is upstream's 100
    by_query = await world.http.get(
        "/apps/applogpolling",
        params={"appname": "logapp", "lineCount": "many", "since": since},
        headers={"zelidauth": world.admin.header_qs()},
    )
    assert by_query.json()["lineCount"] == 100
    bad = (await world.get("/apps/applogpolling/logapp/5/yesterday")).json()
    assert bad["status"] == "error" and "since must be a time" in bad["data"]["message"]
    assert (await world.get("/apps/applogpolling/logapp", auth=False)).json()["data"]["code"] == 401


async def test_redeploy_inventory_and_global_commands(
    world: World, images: Images, docker_url: str
) -> None:
    node = world.node
    # these public answers are cached 30 s by URL: each look asks with a query of its own
    assert (await world.get("/apps/availableapps?before")).json() == {
        "status": "success",
        "data": [],
    }
    empty = (await world.get("/apps/appsresources?before")).json()["data"]
    assert empty == {"appsCpusLocked": 0, "appsRamLocked": 0, "appsHddLocked": 0}
    port = free_port()
    world.specs.specs["redo"] = web_app("redo", images.httpd, port)
    streamed = objects((await world.get("/apps/installapplocally/redo")).text)
    assert streamed[-1]["status"] == "success", streamed

    # the inventory in the operator UI's shapes
    available = (await world.get("/apps/availableapps?after", auth=False)).json()["data"]
    assert [spec["name"] for spec in available] == ["redo"]  # no global specs here
    usage = (await world.get("/apps/fluxusage?after", auth=False)).json()["data"]
    assert {k: usage[k] for k in ("totalApps", "runningApps", "stoppedApps")} == {
        "totalApps": 1, "runningApps": 1, "stoppedApps": 0,
    }  # fmt: skip
    assert usage["nodeSpecs"]["cpuCores"] >= 1 and usage["nodeSpecs"]["ram"] > 0
    held = (await world.get("/apps/appsresources?after", auth=False)).json()["data"]
    assert held == {"appsCpusLocked": 0.2, "appsRamLocked": 64, "appsHddLocked": 13}

    engine = docker.DockerClient(base_url=docker_url, version="1.41")
    try:
        container = "fluxweb_redo"
        engine.containers.get(container).exec_run(
            ["/bin/busybox", "sh", "-c", "echo kept >/data/f"]
        )
        first = engine.containers.get(container).id

        # soft: a new container, the data kept
        soft = objects((await world.get("/apps/redeploy/redo")).text)
        assert soft[-1] == {
            "status": "success",
            "data": {"message": "Flux App redo soft redeployed"},
        }
        assert engine.containers.get(container).id != first
        await eventually(lambda: answers(port), within=30)
        kept = engine.containers.get(container).exec_run(["/bin/busybox", "cat", "/data/f"])
        assert kept.output == b"kept\n"
        # one component, soft
        again = objects((await world.get("/apps/redeploycomponent/redo/web")).text)
        assert again[-1]["status"] == "success", again
        # hard: a new volume, the data gone
        hard = objects((await world.get("/apps/redeploy/redo/true")).text)
        assert hard[-1]["data"]["message"] == "Flux App redo hard redeployed"
        await eventually(lambda: answers(port), within=30)
        gone = engine.containers.get(container).exec_run(["/bin/busybox", "cat", "/data/f"])
        assert gone.exit_code != 0
    finally:
        engine.close()
    refused = (await world.get("/apps/redeploy/web_redo")).json()
    assert refused["data"]["message"] == "Component cannot be redeployed manually"
    missing = (await world.get("/apps/redeploycomponent/redo/db")).json()
    assert missing["status"] == "error" and "Component db of redo not found" in str(missing)
    assert (await world.get("/apps/redeploy/redo", auth=False)).json()["data"]["code"] == 401

    # global=true: the registry's locations hear the command with the caller's own login;
    # here the one location is this node itself, so the stop comes back to it over HTTP
    nowhere = (await world.get("/apps/appstop/redo/true")).json()
    assert nowhere["status"] == "error" and "not running on any node" in str(nowhere)
    now = world.clock.millis()
    here = world.http.base_url
    await node.app_location_store.put_location(
        "redo", f"{here.host}:{here.port}", app_hash="00" * 32, broadcasted_at=now,
        expire_at=now + 3_600_000, running_since=now, os_uptime=None, static_ip=False,
    )  # fmt: skip
    queried = (await world.get("/apps/appstop/redo/true")).json()
    assert queried == {"status": "success", "data": {"message": "redo queried for global stop"}}
    await node.runtime.commands.settle()  # type: ignore[union-attr]
    assert not (await node.docker.inspect("fluxweb_redo"))["State"]["Running"]
    assert (await world.get("/apps/heldcomponents")).json()["data"] == [
        {"name": "web_redo", "desired": "stopped"}
    ]
    await world.get("/apps/appstart/redo/true")
    await node.runtime.commands.settle()  # type: ignore[union-attr]
    await eventually(lambda: answers(port), within=30)


async def test_create_flux_network(world: World) -> None:
    created = (await world.get("/apps/createfluxnetwork")).json()
    try:
        assert created["status"] == "success", created
        assert created["data"].startswith("Flux Network fluxDockerNetwork created")
        again = (await world.get("/apps/createfluxnetwork")).json()
        assert again == {"status": "success", "data": "Flux Network already exists."}
        networks = {n.name: n for n in await world.node.docker.list_networks()}
        assert networks["fluxDockerNetwork"].subnets == ["172.23.0.0/24"]
    finally:
        await world.node.docker.remove_network("fluxDockerNetwork")
    assert (await world.get("/apps/createfluxnetwork", auth=False)).json()["data"]["code"] == 401


async def test_monitoring_samples_and_streams(
    world: World, images: Images, docker_url: str
) -> None:
    monitor = world.node.app_monitor
    world.specs.specs["watched"] = web_app("watched", images.httpd, free_port())
    streamed = objects((await world.get("/apps/installapplocally/watched")).text)
    assert streamed[-1]["status"] == "success", streamed
    missing = (await world.get("/apps/appmonitor/web_watched")).json()
    assert missing["status"] == "error" and missing["data"]["message"] == "No data available"

    async def minutes(count: int) -> None:
        for _ in range(count):
            assert await monitor.sample_all() == 1

    # every minute a sample into the hour's store, every third one into the week's
    await minutes(3)
    first = (await world.get("/apps/appmonitor/web_watched")).json()["data"]
    assert len(first) == 1 and len(monitor.stores["web_watched"].last_hour) == 3
    assert first[0]["timestamp"] == world.clock.millis()
    data = first[0]["data"]
    assert data["nanoCpus"] == 200_000_000 and "memory_stats" in data and "cpu_stats" in data
    assert data["disk_stats"]["status"] == "success"
    engine = docker.DockerClient(base_url=docker_url, version="1.41")
    try:
        write = "busybox dd if=/dev/zero of=/data/blob bs=1024 count=2048"
        engine.containers.get("fluxweb_watched").exec_run(["/bin/busybox", "sh", "-c", write])
    finally:
        engine.close()
    world.clock.advance(600)
    await minutes(3)
    samples = (await world.get("/apps/appmonitor/watched")).json()["data"]  # one component
    assert len(samples) == 2
    grown = samples[1]["data"]["disk_stats"]["bind"] - samples[0]["data"]["disk_stats"]["bind"]
    assert grown >= 2048 * 1024
    # `range` (ms back from now) keeps the recent ones only
    recent = (await world.get("/apps/appmonitor/web_watched/300000")).json()["data"]
    assert [s["timestamp"] for s in recent] == [samples[1]["timestamp"]]
    bad = (await world.get("/apps/appmonitor/web_watched/0")).json()
    assert bad["status"] == "error" and "range must be at least 1" in bad["data"]["message"]
    assert (await world.get("/apps/appmonitor/web_watched", auth=False)).json()["data"][
        "code"
    ] == 401

    # stopped, it takes no samples (and keeps its data); started again, it does
    stopped = (await world.get("/apps/stopmonitoring/web_watched")).json()
    assert stopped["data"]["message"] == (
        "Application monitoring stopped for web_watched. Existing monitoring data maintained."
    )
    assert await monitor.sample_all() == 0
    assert len((await world.get("/apps/appmonitor/web_watched")).json()["data"]) == 2
    started = (await world.get("/apps/startmonitoring/watched")).json()
    assert started["data"]["message"] == "Application monitoring started for watched"
    await minutes(3)
    assert len((await world.get("/apps/appmonitor/web_watched")).json()["data"]) == 3
    everything = (await world.get("/apps/startmonitoring")).json()
    assert everything["data"]["message"] == "Application monitoring started for all apps"
    assert (await world.get("/apps/startmonitoring", auth=False)).json()["data"]["code"] == 401

    # the week's store keeps seven days
    world.clock.advance(8 * 24 * 3600)
    await minutes(3)
    kept = (await world.get("/apps/appmonitor/web_watched")).json()["data"]
    oldest = world.clock.millis() - 7 * 24 * 3_600_000
    assert kept and all(sample["timestamp"] >= oldest for sample in kept)

    # the live stream: Docker's stats objects as they come
    headers = {"zelidauth": world.admin.header_qs()}
    async with world.http.stream(
        "GET", "/apps/appmonitorstream/web_watched", headers=headers
    ) as live:
        assert live.status_code == 200
        chunk = await anext(live.aiter_text())
    assert "memory_stats" in chunk

    deleted = (await world.get("/apps/stopmonitoring/watched/true")).json()
    assert deleted["data"]["message"] == (
        "Application monitoring stopped and monitoring data deleted for watched."
    )
    gone = (await world.get("/apps/appmonitor/web_watched")).json()
    assert gone["data"]["message"] == "No data available"


async def test_tampering_events_name_what_the_host_did(
    world: World, images: Images, docker_url: str
) -> None:
    watch, owner = world.node.tampering, Person()
    port = free_port()
    world.specs.specs["guarded"] = web_app("guarded", images.httpd, port, owner=owner.zelid)
    streamed = objects((await world.get("/apps/installapplocally/guarded")).text)
    assert streamed[-1]["status"] == "success", streamed
    container = "fluxweb_guarded"

    async def incidents(query: str) -> list[dict[str, Any]]:
        reply = (await world.get(f"/apps/tamperingevents{query}", auth=False)).json()
        assert reply["status"] == "success", reply
        return list(reply["data"])

    # what the runtime itself does is no tampering: installing, operator stop and start,
    # the owner's own exec
    assert await watch.scan() == 0
    owner_login = await log_in(world.http, world.clock, owner)
    command = {"appname": "web_guarded", "cmd": ["/bin/busybox", "true"]}
    answer = await world.http.post(
        "/apps/appexec", json=command, headers={"zelidauth": owner_login.header_qs()}
    )
    assert answer.status_code == 200
    assert (await world.get("/apps/appstop/guarded")).json()["status"] == "success"
    assert (await world.get("/apps/appstart/guarded")).json()["status"] == "success"
    assert await watch.scan() == 0
    assert await incidents("?none") == []

    engine = docker.DockerClient(base_url=docker_url, version="1.41")
    try:
        # the host execs into the app, then kills it twice within the hour
        engine.containers.get(container).exec_run(["/bin/busybox", "cat", "/etc/hostname"])
        assert await watch.scan() == 1
        world.clock.advance(1)
        engine.containers.get(container).kill()
        assert await watch.scan() >= 1
        await world.node.reconciler.reconcile_once()  # the crash ladder starts it again
        world.clock.advance(1)
        engine.containers.get(container).kill()
        await watch.scan()
        world.clock.advance(1)
        # and removes it by hand; the reconciler then finds it gone
        engine.containers.get(container).remove(force=True)
        await watch.scan()
        await world.node.reconciler.reconcile_once()
    finally:
        engine.close()

    found = await incidents("/guarded")
    kinds = [incident["eventType"] for incident in found]
    assert kinds == ["container_vanished", "container_stopped", "container_exec"], found
    vanished, stopped, executed = found
    assert vanished["severity"] == 3 and vanished["count"] >= 2  # Docker's event + the pass
    assert stopped["severity"] == 2 and stopped["count"] >= 2  # one incident for the hour
    assert "kill" in stopped["detailsSample"]
    assert executed["severity"] == 2 and "exec_start" in executed["detailsSample"]
    assert all(i["appName"] == "guarded" and i["component"] == container for i in found)
    assert all(i["ownerZelid"] == owner.zelid for i in found)
    assert len({i["incidentKey"] for i in found}) == 1
    # each incident names the node it happened on, as fluxd knows this fluxnode
    status = await world.node.fluxd.call("getfluxnodestatus", use_cache=False)
    outpoint = re.search(r"([0-9a-f]{64}), *(\d+)", str(status["collateral"]))
    assert outpoint is not None, status
    for incident in found:
        assert incident["nodeTxid"] == status.get("txhash", outpoint.group(1)), incident
        assert incident["nodeOutidx"] == int(status.get("outidx", outpoint.group(2)))
        assert incident["nodeIp"] == status["ip"] and incident["pubkey"] == status["pubkey"]
    assert await incidents("/web_guarded?component") == found
    assert len(await incidents("/guarded?limit=1")) == 1
    assert await incidents("/otherapp") == []
    bad = (await world.get("/apps/tamperingevents/bad%20name", auth=False)).json()
    assert bad["status"] == "error" and "appname" in bad["data"]["message"]


async def test_nodes_on_one_address_never_install_onto_the_same_port(
    world: World, images: Images, tmp_path: Path
) -> None:
    port = free_port()
    world.specs.specs["first"] = web_app("first", images.httpd, port)
    streamed = objects((await world.get("/apps/installapplocally/first")).text)
    assert streamed[-1]["status"] == "success", streamed
    used = (await world.get("/flux/portsinuse?after", auth=False)).json()
    assert used == {"status": "success", "data": [port]}

    # a second Flux node behind the same address (its own API port), as the fluxnode list
    # shows them: it asks this one over HTTP before it installs
    here = world.http.base_url
    this_node, second_node = f"{here.host}:{here.port}", f"{here.host}:{free_port()}"
    listed = FluxnodeList(
        [{"ip": this_node, "pubkey": "02aa"}, {"ip": second_node, "pubkey": "02bb"}]
    )
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'second.db'}", ALL_AREAS)
    await database.open()
    async with httpx.AsyncClient() as http:
        siblings = SiblingPorts(lambda: listed, lambda: second_node, lambda: http)
        assert siblings.siblings() == [this_node]
        assert await siblings() == {port: this_node}
        second = Installer(
            world.node.docker, LocalApps(database),
            Volumes(tmp_path / "apps", tmp_path / "volumes"), HostFacts(tmp_path),
            world.clock, sibling_ports=siblings,
        )  # fmt: skip
        with pytest.raises(InstallError) as refused:
            await second.install(web_app("second", images.httpd, port))
        assert refused.value.message == (
            f"Port {port} of second is used by the Flux node at {this_node}, on this node's"
            " IP address. Installation aborted."
        )
        assert await LocalApps(database).all() == []
        assert not await world.node.docker.exists("fluxweb_second")
        # a sibling that does not answer is passed over
        gone = SiblingPorts(
            lambda: FluxnodeList([{"ip": f"{here.host}:{free_port()}"}]),
            lambda: second_node,
            lambda: http,
        )
        assert await gone() == {}
    await database.close()


async def test_kill_pause_inspection_images_and_a_trial_install(
    world: World, images: Images, docker_url: str
) -> None:
    node, port, container = world.node, free_port(), "fluxweb_held"
    world.specs.specs["held"] = web_app("held", images.httpd, port)
    streamed = objects((await world.get("/apps/installapplocally/held")).text)
    assert streamed[-1]["status"] == "success", streamed

    # pause and unpause: the reconciler leaves a paused app alone
    paused = (await world.get("/apps/apppause/held")).json()
    assert paused == {"status": "success", "data": {"message": "Application held paused"}}
    assert (await node.docker.inspect(container))["State"]["Paused"] is True
    await node.reconciler.reconcile_once()
    assert (await node.docker.inspect(container))["State"]["Paused"] is True
    unpaused = (await world.get("/apps/appunpause/web_held")).json()
    assert unpaused["data"]["message"] == "Flux App web_held successfully unpaused."
    await eventually(lambda: answers(port), within=30)

    stats = (await world.get("/apps/appstats/web_held")).json()["data"]
    assert stats["nanoCpus"] == 200_000_000 and stats["memory_stats"]["usage"] > 0
    engine = docker.DockerClient(base_url=docker_url, version="1.41")
    try:
        engine.containers.get(container).exec_run(["/bin/busybox", "touch", "/made-here"])
    finally:
        engine.close()
    changes = (await world.get("/apps/appchanges/web_held")).json()["data"]
    assert {"Path": "/made-here", "Kind": 1} in changes
    images_listed = (await world.get("/apps/listappsimages")).json()["data"]
    assert any(images.httpd in (image["RepoTags"] or []) for image in images_listed)

    # appkill (upstream 8.18): down at once, and held down like an operator stop
    assert (await world.get("/apps/appkill/held", auth=False)).json()["data"]["code"] == 401
    killed = (await world.get("/apps/appkill/held")).json()
    assert killed == {"status": "success", "data": {"message": "Application held killed"}}
    state = (await node.docker.inspect(container))["State"]
    assert state["Running"] is False and state["ExitCode"] == 137
    await node.reconciler.reconcile_once()
    assert (await node.docker.inspect(container))["State"]["Running"] is False
    held = (await world.get("/apps/heldcomponents")).json()["data"]
    assert held == [{"name": "web_held", "desired": "stopped"}]

    # testappinstall: installed without ports at minimal resources, then removed again
    world.specs.specs["trial"] = web_app("trial", images.httpd, free_port())
    trial = objects((await world.get("/apps/testappinstall/trial")).text)
    assert {
        "status": "success",
        "data": {"message": "Flux App trial successfully installed and launched"},
    } in trial
    assert not await node.docker.exists("fluxweb_trial")
    assert [spec["name"] for spec in await node.local_apps.all()] == ["held"]


async def test_bad_installs_answer_upstreams_errors_and_leave_nothing(
    world: World, images: Images
) -> None:
    node, port = world.node, free_port()
    world.specs.specs["taken"] = web_app("taken", images.httpd, port)
    assert objects((await world.get("/apps/installapplocally/taken")).text)[-1]["status"] == (
        "success"
    )
    world.specs.specs["huge"] = web_app("huge", images.httpd, free_port(), ram=10**7)
    world.specs.specs["clash"] = web_app("clash", images.httpd, port)
    expected = {
        "huge": "Insufficient RAM on Flux Node to spawn an application",
        "clash": f"Flux App clash port {port} already used with different application."
        " Installation aborted.",
    }
    for count, (name, message) in enumerate(expected.items(), start=1):
        streamed = objects((await world.get(f"/apps/installapplocally/{name}")).text)
        assert streamed[-1]["status"] == "error", streamed
        assert streamed[-1]["data"]["message"] == message
        # the install error is broadcast (not sent here: this node is no confirmed fluxnode)
        assert node.app_announcer.failures["fluxappinstallingerror"] == count
        assert not await node.docker.exists(f"fluxweb_{name}")
        networks = [network.name for network in await node.docker.list_networks()]
        assert f"fluxDockerNetwork_{name}" not in networks
        assert not (node.app_volumes.apps_dir / f"fluxweb_{name}").exists()
        assert not node.app_volumes.image(f"fluxweb_{name}").exists()
    installed = (await world.get("/apps/installedapps?afterbad")).json()["data"]
    assert [spec["name"] for spec in installed] == ["taken"]
