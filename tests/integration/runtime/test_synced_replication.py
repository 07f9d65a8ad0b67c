"""App data replicated between two running nodes (issue 15): each node is served in
process with its own managed Syncthing (API port + 2), its own dockerd (its own network
namespace), a real devnet for its tier and the peer network between them. The same app is
installed on both; their `fluxapprunning` gossip makes each a location of the app in the
other's registry, each node's Syncthing folder is then shared with the other's device
(asked at its `/syncthing/deviceid`), and data written on one node's volume reaches the
other's. For a `g:` app exactly one node runs it, the standby receives its data, and
when the primary's machine dies the standby starts the app with every file."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from fluxos.runtime.engine import DockerEngine
from tests.integration.runtime.conftest import Images
from tests.support.network import InProcessNode, eventually
from tests.support.processes import free_port_run
from tests.support.runtimeapps import web_app
from tests.support.syncednodes import Machines, appdata, install, machines, running_cluster

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop-mounted volumes and dockerd need root"),
]


@pytest.fixture(scope="module")
def nodes_machines(tmp_path_factory: pytest.TempPathFactory, images: Images) -> Iterator[Machines]:
    with machines(tmp_path_factory.mktemp("replication"), images.httpd, 2) as made:
        yield made


@pytest.fixture
async def pair(tmp_path: Path, nodes_machines: Machines) -> AsyncIterator[list[InProcessNode]]:
    async with running_cluster(tmp_path, nodes_machines) as made:
        yield made.nodes


async def located_at(node: InProcessNode, app: str) -> set[str]:
    reply = await node.get(f"/apps/location/{app}")
    if reply.get("status") != "success":
        return set()
    return {row["ip"] for row in reply["data"]}


async def wait_located(here: InProcessNode, there: InProcessNode, app: str) -> None:
    async def listed() -> bool:
        return there.address in await located_at(here, app)

    await eventually(listed, within=90, interval=1)  # the route is cached 30 s


async def folder_devices(node: InProcessNode, folder: str) -> set[str]:
    """The devices `folder` is shared with (none while it is not configured yet)."""
    folders: Any = await node.node.sync.client.request("get", "/rest/config/folders")
    config = next((f for f in folders or [] if f.get("id") == folder), {})
    return {device["deviceID"] for device in config.get("devices", [])}


async def test_an_s_app_replicates_between_the_two_nodes(
    pair: list[InProcessNode], images: Images
) -> None:
    a, b = pair
    spec = web_app("sshare", images.httpd, free_port_run(1), containerData="s:/data")
    container = "fluxweb_sshare"
    await install(pair, spec)

    # each node's running broadcast makes it a location in the other's registry
    for here, there in ((a, b), (b, a)):
        await wait_located(here, there, "sshare")

    # … and each folder is shared with the other node's Syncthing device
    ids = {node.address: await node.node.sync.device_id() for node in pair}
    for here, there in ((a, b), (b, a)):

        async def shared(h: InProcessNode = here, t: InProcessNode = there) -> bool:
            return ids[t.address] in await folder_devices(h, container)

        await eventually(shared, within=60, interval=0.5)

    (appdata(a, container) / "from-a.txt").write_text("written on a")
    (appdata(b, container) / "from-b.txt").write_text("written on b")

    def both_everywhere() -> bool:
        return all(
            (appdata(node, container) / name).exists()
            for node in pair
            for name in ("from-a.txt", "from-b.txt")
        )

    await eventually(both_everywhere, within=120, interval=0.5)
    assert (appdata(b, container) / "from-a.txt").read_text() == "written on a"
    assert (appdata(a, container) / "from-b.txt").read_text() == "written on b"


async def test_a_g_app_runs_once_and_its_standby_receives_the_data(
    pair: list[InProcessNode], images: Images
) -> None:
    spec = web_app("gprime", images.httpd, free_port_run(1), containerData="g:/data")
    container = "fluxweb_gprime"
    await install(pair, spec)

    async def running_on() -> list[InProcessNode]:
        found = []
        for node in pair:
            state = (await node.node.docker.inspect(container))["State"]
            if state["Running"]:
                found.append(node)
        return found

    # a standby counts as a location too (upstream advertises g: apps while stopped)
    for here, there in ((pair[0], pair[1]), (pair[1], pair[0])):
        await wait_located(here, there, "gprime")

    async def one_primary() -> bool:
        # both installs seed their empty copies at once (neither knows the other yet), so
        # both may start; once each sees the other run, the lower address keeps it
        found = await running_on()
        others = [node for node in pair if node not in found]
        return len(found) == 1 and all(
            node.node.app_folders is not None and node.node.app_folders.may_run(container) is False
            for node in others
        )

    await eventually(one_primary, within=120, interval=0.5)
    primary = (await running_on())[0]
    standby = pair[1] if primary is pair[0] else pair[0]
    assert standby.node.app_folders is not None
    assert standby.node.app_folders.may_run(container) is False

    (appdata(primary, container) / "ledger.txt").write_text("written by the primary")
    copy = appdata(standby, container) / "ledger.txt"
    await eventually(copy.exists, within=120, interval=0.5)
    assert copy.read_text() == "written by the primary"
    assert len(await running_on()) == 1  # the standby still runs nothing
    # the primary publishes its writable folder to the peers deciding about theirs
    published = (await primary.get("/apps/promotedfolders"))["data"]
    assert published["ready"] is True and container in published["folders"]

    # the primary's machine dies (node, Syncthing and app): the standby takes over with
    # every file once the vacancy outlasts its takeover wait
    await primary.stop()
    engine = DockerEngine(primary.node.settings.runtime.docker_host)  # its dockerd lives on
    try:
        await engine.stop(container)
    finally:
        engine.close()

    async def standby_runs() -> bool:
        state = (await standby.node.docker.inspect(container))["State"]
        return bool(state["Running"])

    folders = standby.node.app_folders
    assert folders is not None
    # the reason reads "primary" from the pass after the container started
    await eventually(lambda: "takes over" in folders.gate(container).reason, 120, 0.05)
    await eventually(standby_runs, within=120, interval=0.5)
    assert copy.read_text() == "written by the primary"
