"""Replicated app data with real Syncthing 1.29 (one per node, own home and ports, loop-
mounted ext4 volumes), driven by the node's own controller (`fluxos.sync.controller`):

    .venv/bin/python bench/sync_replication.py [--megabytes 100] [--folders 50]

1. Replication: a `g:` app on two nodes; 100 MB written on the primary (files of 10 MB);
   the time from the last write until the standby's Syncthing reports the folder in sync
   and every byte is on its disk (a scan is requested at once, as the watcher would do
   ~10 s later).
2. Takeover: the primary's node is killed (its Syncthing stopped); the time until the
   standby's gate opens (the reconciler would start the app then). It is set by the
   takeover settings, printed beside it (mainnet defaults: grace 60 s + index × 180 s).
3. Monitor pass: one node with 50 synced folders (tmpfs mounts, each shared with a second
   node): CPU seconds and wall time of one controller pass, the median of 10.
4. Takeover to serving, through running nodes (`tests/support/syncednodes.py`: two
   in-process nodes, each with its managed Syncthing and its own dockerd in its own network
   namespace, a devnet, images from a local registry): a `g:` web app on both; the
   primary's machine dies (node, Syncthing, container); the time until the standby's copy
   of the app answers HTTP on its host port. Set mostly by the takeover settings, printed
   beside it (the test cluster's: grace 10 s, step 20 s, see the module).
Needs root (mounts, dockerd); part 4 also docker-registry and fluxd (`--skip-nodes`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# the nodes are the tests' harness (tests/support/syncfleet.py), from the checkout
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from tests.support.asyncwait import eventually
from tests.support.daemons import DevnetProcess
from tests.support.dockerd import httpd_image
from tests.support.nodedocker import node_dockers
from tests.support.processes import free_port_run
from tests.support.registry import ImagePusher, running_registry
from tests.support.runtimeapps import web_app
from tests.support.syncednodes import SYNCTHING, Cluster, app_files, app_writes, sole_runner
from tests.support.syncfleet import Fleet, FleetNode

from fluxos.sync.apps import SyncMode, app_identifier

FILE_MB = 10


async def in_sync(node: FleetNode, folder: str, total: int) -> bool:
    status = await node.rest("get", "/rest/db/status", params={"folder": folder})
    return (
        status.get("state") == "idle"
        and status.get("needTotalItems") == 0
        and status.get("inSyncBytes", 0) >= total
    )


def disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


async def replication(root: Path, megabytes: int) -> None:
    fleet = Fleet(root, 2)
    a, b = fleet.nodes
    app_id = app_identifier("bench", "db")
    try:
        size = megabytes + 64
        primary = fleet.install(a, "bench", "db", SyncMode.PRIMARY, size)
        standby = fleet.install(b, "bench", "db", SyncMode.PRIMARY, size)
        await fleet.start(a)
        await fleet.start(b)
        await eventually(lambda: primary.running, within=120)
        await eventually(lambda: b.folders and b.folders.tracked[app_id].promoted, 120)
        total = 0
        for n in range(max(1, megabytes // FILE_MB)):
            (primary.volume.appdata / f"blob{n}.bin").write_bytes(os.urandom(FILE_MB << 20))
            total += FILE_MB << 20
        os.sync()
        started = time.monotonic()
        await a.rest("post", "/rest/db/scan", params={"folder": app_id})
        await eventually(lambda: in_sync(b, app_id, total), within=600, interval=0.1)
        await eventually(lambda: disk_bytes(standby.volume.appdata) == total, 60, 0.1)
        took = time.monotonic() - started
        print(
            f"replication: {total / 2**20:.0f} MiB primary → standby complete in {took:.1f} s "
            f"({total / 2**20 / took:.1f} MiB/s)"
        )
        settings = b.settings.syncthing
        await fleet.stop(a)
        killed = time.monotonic()
        await eventually(lambda: b.gate_open("bench", "db"), within=600, interval=0.05)
        print(
            f"takeover: standby's gate open {time.monotonic() - killed:.1f} s after the "
            f"primary's node died (grace {settings.takeover_grace_seconds:g} s + 1 × step "
            f"{settings.takeover_seconds:g} s, passes every {settings.monitor_seconds:g} s)"
        )
    finally:
        await fleet.close()


async def monitor_pass(root: Path, folders: int) -> None:
    fleet = Fleet(root, 2)
    a, b = fleet.nodes
    try:
        for n in range(folders):
            fleet.install(a, f"app{n}", "data", SyncMode.SHARED, 1, tmpfs=True)
            fleet.install(b, f"app{n}", "data", SyncMode.SHARED, 1, tmpfs=True)
        # both run their passes here only, so the process's CPU time is one node's pass
        await fleet.start(b, passes=False)
        await fleet.start(a, passes=False)
        assert a.folders is not None and b.folders is not None
        for _ in range(4):  # folders and devices written, peers connected and verified
            await a.folders.monitor_pass()
            await b.folders.monitor_pass()
            await asyncio.sleep(1)
        cpu, wall = [], []
        for _ in range(10):
            c0, w0 = time.process_time(), time.monotonic()
            await a.folders.monitor_pass()
            cpu.append(time.process_time() - c0)
            wall.append(time.monotonic() - w0)
        print(
            f"monitor pass, {folders} synced folders: {statistics.median(cpu) * 1000:.0f} ms CPU "
            f"(node process), {statistics.median(wall) * 1000:.0f} ms wall, median of 10"
        )
    finally:
        await fleet.close()


async def takeover_serving(root: Path) -> None:
    with (
        running_registry(root / "registry") as registry,
        node_dockers(root / "dockers", 2, (registry.port,)) as engines,
    ):
        pusher = ImagePusher(registry.url)
        try:
            httpd_image(pusher, "flux/httpd", "1.0")
        finally:
            pusher.close()
        devnet = DevnetProcess(root / "devnet")
        devnet.start()
        cluster = Cluster(root / "nodes", devnet, engines)
        try:
            await cluster.start()
            port = free_port_run(1)
            spec = web_app(
                "gbench", f"{registry.host}/flux/httpd:1.0", port, containerData="g:/data"
            )
            container = "fluxweb_gbench"
            nodes = cluster.nodes
            await asyncio.gather(*(node.node.installer.install(spec) for node in nodes))
            primary = await eventually(lambda: sole_runner(nodes, container), 300, 0.5)
            standby = nodes[1] if primary is nodes[0] else nodes[0]
            await app_writes(primary, container, "echo row > /data/row.txt")
            written = app_files(primary, container)
            await eventually(lambda: app_files(standby, container) == written, 300, 0.5)
            url = f"http://{engines[nodes.index(standby)].address}:{port}/"

            async def serves() -> bool:
                async with httpx.AsyncClient(timeout=2) as client:
                    return (await client.get(url)).status_code == 200

            folders = standby.node.app_folders
            assert folders is not None

            def primary_seen() -> bool:  # its cached running list shows the app (≤ 15 s)
                assert folders is not None
                return "is the primary" in folders.gate(container).reason

            await eventually(primary_seen, within=300, interval=0.1)
            killed = time.monotonic()  # the primary stops answering its peers at once
            await cluster.kill(primary)
            kill_took = time.monotonic() - killed
            await eventually(lambda: folders.may_run(container), within=600, interval=0.05)
            gate_open = time.monotonic() - killed
            reason = folders.gate(container).reason
            await eventually(serves, within=600, interval=0.1)
            print(
                f"takeover through running nodes: the standby's app answers HTTP "
                f"{time.monotonic() - killed:.1f} s after the primary's machine began to die "
                f"(node, Syncthing and container down in {kill_took:.1f} s), its gate "
                f"opened at {gate_open:.1f} s ({reason!r}; grace "
                f"{SYNCTHING['takeover_grace_seconds']} s + index × step "
                f"{SYNCTHING['takeover_seconds']} s, passes every "
                f"{SYNCTHING['monitor_seconds']} s)"
            )
        finally:
            await cluster.close()
            devnet.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--folders", type=int, default=50)
    parser.add_argument("--skip-nodes", action="store_true", help="skip part 4")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("sync_replication: skipped (needs root for the volume mounts)")
        return
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        await replication(Path(tmp) / "replication", args.megabytes)
        await monitor_pass(Path(tmp) / "monitor", args.folders)
        if not args.skip_nodes:
            await takeover_serving(Path(tmp) / "nodes")


if __name__ == "__main__":
    asyncio.run(main())
