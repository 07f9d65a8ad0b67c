"""Replicated app data on a cluster of three running nodes (issue 15's Tests): each node is
served in process with its own managed Syncthing (API port + 2), its own dockerd in its own
network namespace, a devnet for its tier and real gossip between them. The apps' data is
written by the apps themselves (a shell in the container, on the `g:`/`r:` volume).

* `g:` app with two instances: the primary's writes reach the standby; the primary's
  machine dies and the standby starts the app with every file; the old primary comes back
  and converges without touching the newer writes; the #1761 scenarios — its volume
  emptied, then unmounted, while its node was down — lose nothing on the healthy replica.
* `r:` app: a new node starts its instance only once its copy is complete; then that node's
  process restarts while its Syncthing and the app keep running, and data keeps flowing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from fluxos.sync.process import running_pid
from tests.integration.runtime.conftest import Images
from tests.support.network import eventually
from tests.support.processes import free_port_run
from tests.support.runtimeapps import web_app
from tests.support.syncednodes import (
    Cluster,
    Machines,
    app_files,
    app_writes,
    appdata,
    install,
    machines,
    running,
    running_cluster,
    sole_runner,
    verified_standby,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop-mounted volumes and dockerd need root"),
]

SYNC_WITHIN = 150.0


@pytest.fixture(scope="module")
def nodes_machines(tmp_path_factory: pytest.TempPathFactory, images: Images) -> Iterator[Machines]:
    with machines(tmp_path_factory.mktemp("cluster"), images.httpd, 3) as made:
        yield made


@pytest.fixture
async def cluster(tmp_path: Path, nodes_machines: Machines) -> AsyncIterator[Cluster]:
    async with running_cluster(tmp_path, nodes_machines) as made:
        yield made


async def test_g_app_takeover_return_and_1761(cluster: Cluster, images: Images) -> None:
    a, b, c = cluster.nodes
    spec = web_app("gledger", images.httpd, free_port_run(1), containerData="g:/data")
    container = "fluxweb_gledger"
    await install([a, b], spec)  # two instances; the third node runs nothing of it

    primary = await eventually(lambda: sole_runner([a, b], container), SYNC_WITHIN, 0.5)
    standby = b if primary is a else a

    # data written by the app on the primary appears on the standby, which runs nothing
    await app_writes(
        primary,
        container,
        "for n in 1 2 3 4 5 6; do dd if=/dev/urandom of=/data/row$n.dat bs=4k count=16"
        " 2>/dev/null; done; mkdir -p /data/sub; echo version=1 > /data/sub/config.ini",
    )
    written = app_files(primary, container)
    assert len(written) == 7
    await eventually(lambda: app_files(standby, container) == written, SYNC_WITHIN, 0.5)
    assert not await running(standby, container)
    assert not await c.node.docker.exists(container)  # the third node has no instance

    # the primary's machine dies: the standby starts the app with every file
    await cluster.kill(primary)
    folders = standby.node.app_folders
    assert folders is not None
    # the reason reads "primary" from the pass after the container started
    await eventually(lambda: "takes over" in folders.gate(container).reason, SYNC_WITHIN, 0.05)
    await eventually(lambda: running(standby, container), within=SYNC_WITHIN, interval=0.5)
    assert app_files(standby, container) == written
    await app_writes(
        standby,
        container,
        "echo newer > /data/row3.dat; rm /data/row5.dat; echo after > /data/after-takeover.dat",
    )
    newest = app_files(standby, container)
    assert newest != written and "row5.dat" not in newest

    # the old primary comes back: it converges to the newer data and never runs
    old = await cluster.come_back(primary)
    await eventually(lambda: app_files(old, container) == newest, SYNC_WITHIN, 0.5)
    await eventually(lambda: verified_standby(old, container), SYNC_WITHIN, 0.5)
    assert not await running(old, container)
    assert await running(standby, container)
    assert app_files(standby, container) == newest

    # #1761: the old primary's volume is emptied while its node is down
    await cluster.kill(old)
    shutil.rmtree(appdata(old, container))
    appdata(old, container).mkdir()
    old = await cluster.come_back(old)
    await eventually(lambda: app_files(old, container) == newest, SYNC_WITHIN, 0.5)
    assert app_files(standby, container) == newest
    assert not await running(old, container)

    # #1761: unmounted while down: the bare mount point takes no writes, the node mounts
    # its volume again before anything syncs or runs, and the healthy replica loses nothing
    await cluster.kill(old)
    volume = old.node.app_volumes.directory(container)
    await asyncio.to_thread(subprocess.run, ["umount", str(volume)], check=True)
    with pytest.raises(PermissionError):
        (volume / "host-file").write_text("on the host's disk")  # immutable until mounted
    old = await cluster.come_back(old)
    await eventually(lambda: os.path.ismount(volume), within=SYNC_WITHIN, interval=0.5)
    await eventually(lambda: verified_standby(old, container), SYNC_WITHIN, 0.5)
    assert app_files(old, container) == newest
    assert app_files(standby, container) == newest
    assert not await running(old, container)
    assert await running(standby, container)


async def test_r_app_waits_for_its_copy_and_a_node_restart_keeps_syncthing(
    cluster: Cluster, images: Images
) -> None:
    a, _b, c = cluster.nodes
    spec = web_app("rpages", images.httpd, free_port_run(1), containerData="r:/data")
    container = "fluxweb_rpages"
    await install([a], spec)
    await eventually(lambda: running(a, container), within=SYNC_WITHIN, interval=0.5)  # seeds
    await app_writes(
        a,
        container,
        "for n in 1 2 3 4 5 6 7 8; do dd if=/dev/urandom of=/data/page$n.html bs=64k count=16"
        " 2>/dev/null; done",
    )
    written = app_files(a, container)
    assert len(written) == 8

    # a new node: its instance starts only once its copy is complete
    await install([c], spec)
    early: list[int] = []

    async def complete_before_running() -> bool:
        if not await running(c, container):
            return False
        have = app_files(c, container)
        if have != written:
            early.append(len(have))
        return True

    await eventually(complete_before_running, within=SYNC_WITHIN, interval=0.05)
    assert early == []
    assert app_files(c, container) == written

    # c's node process restarts while its Syncthing (and the app) keep running
    pid = running_pid(c.settings.syncthing_home)
    started_at = (await c.node.docker.inspect(container))["State"]["StartedAt"]
    await c.stop(keep_syncthing=True)
    assert running_pid(c.settings.syncthing_home) == pid
    await app_writes(a, container, "echo while-c-restarts > /data/during.txt")
    during = appdata(c, container) / "during.txt"
    await eventually(during.exists, within=SYNC_WITHIN, interval=0.5)  # its node is down
    assert during.read_text() == "while-c-restarts\n"
    c = await cluster.come_back(c)
    assert running_pid(c.settings.syncthing_home) == pid
    await eventually(lambda: c.node.app_folders and c.node.app_folders.passes >= 2, SYNC_WITHIN)
    assert c.node.app_folders is not None and c.node.app_folders.may_run(container) is True
    state = (await c.node.docker.inspect(container))["State"]
    assert state["Running"] and state["StartedAt"] == started_at  # never restarted
    config: Any = await c.node.sync.client.request("get", f"/rest/config/folders/{container}")
    assert config["type"] == "sendreceive"
    await app_writes(c, container, "echo after-restart > /data/from-c.txt")
    back = appdata(a, container) / "from-c.txt"
    await eventually(back.exists, within=SYNC_WITHIN, interval=0.5)
    assert back.read_text() == "after-restart\n"
