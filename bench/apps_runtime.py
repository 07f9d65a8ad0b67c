"""The apps runtime on a real dockerd (private, started here) with images from a real
registry: install time per component, the node side's CPU and RSS while N idle apps run
(reconciler passes), and apps reconciled per second after a restart (every container
stopped, a fresh reconciler brings them all back).

    sudo .venv/bin/python bench/apps_runtime.py [--apps 10] [--idle-seconds 20]

Needs root (loop-mounted volumes, its own dockerd). Upstream's space accounting locks
hdd + 12 GB per component against ssd x 0.95 - 80 GB, so 50 apps need a ~770 GB disk:
`--data-root` puts the node side on one, e.g. a sparse file loop-mounted (ext4's
unwritten extents keep the volumes' fallocate from filling the backing file). The CPU
accounting (cores x 10 - 10 >= 10 x the cpu locked, cores = the host's, as upstream) lets a
2-core machine hold 1 core of apps, 19 at this bench's cpu 0.05. `--cores 8` makes the
accounting see a stratus-sized node instead, so that 50 idle apps install here; their cpu
limits are caps on this machine's real cores, not reservations, and the output says so.
Then, on a three-node `fluxos cluster` with an engine per node (tests.support.appscluster),
the time from the payment block of an app registered for 2 instances to both copies
answering on their port
(`--runs` registrations, median; `--no-network` skips it).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.appscluster import (
    Owner,
    answers,
    hosts_running,
    register_and_pay,
    running_apps_cluster,
)
from tests.support.cluster import wait_until
from tests.support.dockerd import DockerDaemon, httpd_image
from tests.support.processes import free_port
from tests.support.registry import ImagePusher, running_registry
from tests.support.runtimeapps import HostFacts, free_app_port, web_app
from tests.unit.apps.spec_samples import component, v8_spec

from fluxos.clock import SystemClock
from fluxos.runtime.engine import DockerEngine
from fluxos.runtime.installer import Installer
from fluxos.runtime.reconciler import Reconciler
from fluxos.runtime.volumes import Volumes
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.storage.localapps import LocalApps


async def measure(
    work: Path, docker_url: str, image: str, count: int, idle: float, cores: int | None
) -> None:
    database = Database(f"sqlite+aiosqlite:///{work / 'node.db'}", ALL_AREAS)
    await database.open()
    engine = DockerEngine(docker_url)
    clock = SystemClock()
    apps = LocalApps(database)
    volumes = Volumes(work / "apps", work / "volumes")
    reconciler = Reconciler(engine, apps, clock, volumes=volumes)
    installer = Installer(engine, apps, volumes, HostFacts(work, cores), clock)
    if cores:
        print(
            f"the install's cpu accounting sees {cores} cores (--cores); this machine has"
            f" {psutil.cpu_count()}: the apps' cpu limits are caps, the apps idle"
        )
    try:
        await engine.pull(image)  # the first pull is the registry's, not the install's
        installs = []
        for index in range(count):
            spec = web_app(f"bench{index}", image, free_app_port(), ram=32, cpu=0.05)
            started = time.perf_counter()
            await installer.install(spec)
            installs.append(time.perf_counter() - started)
        print(
            f"install per component: median {statistics.median(installs) * 1000:.0f} ms,"
            f" max {max(installs) * 1000:.0f} ms ({count} apps, image already pulled)"
        )

        me = psutil.Process()
        cpu_before = me.cpu_times()
        passes, started = 0, time.perf_counter()
        while time.perf_counter() - started < idle:
            await reconciler.reconcile_once()
            passes += 1
            await asyncio.sleep(1.0)
        cpu_after = me.cpu_times()
        used = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
        elapsed = time.perf_counter() - started
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{count} idle apps, one reconciler pass a second: node CPU"
            f" {used / elapsed * 100:.1f} % of a core, {used / passes * 1000:.1f} ms per pass;"
            f" peak RSS {rss:.0f} MiB"
        )

        for spec in await apps.all():
            await engine.kill(f"fluxweb_{spec['name']}")
        fresh = Reconciler(engine, apps, clock, volumes=volumes)
        started = time.perf_counter()
        report = await fresh.reconcile_once()
        seconds = time.perf_counter() - started
        print(
            f"after a restart: {len(report.started)} apps started in {seconds:.2f} s"
            f" ({len(report.started) / seconds:.1f} apps/s)"
        )
    finally:
        for spec in await apps.all():
            await installer.remove(spec["name"], force=True)
        engine.close()
        await database.close()


def payment_to_answering(work: Path, runs: int) -> None:
    with running_apps_cluster(work / "cluster") as cluster:
        figures = []
        for run in range(runs):
            owner, port = Owner(), free_port()
            web = component(
                name="web", repotag=cluster.image, ports=[port], containerPorts=[80],
                domains=[""], cpu=0.1, ram=100, hdd=1,
            )  # fmt: skip
            name = f"benchweb{run}"
            spec = v8_spec(name=name, owner=owner.zelid, instances=2, compose=[web])
            register_and_pay(cluster, owner, spec)
            paid = time.perf_counter()  # the payment block was just mined

            def both_answer(name: str = name, port: int = port) -> bool:
                hosts = hosts_running(cluster, f"fluxweb_{name}")
                return len(hosts) >= 2 and all(
                    answers(cluster.engines[i - 1].address, port) for i in hosts
                )

            wait_until(both_answer, timeout=300, interval=0.25)
            figures.append(time.perf_counter() - paid)
    print(
        f"payment block to both instances answering (3 nodes, 2 instances, spawner delays"
        f" x0.002): median {statistics.median(figures):.1f} s, max {max(figures):.1f} s"
        f" ({runs} apps)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=10)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-network", action="store_true")
    parser.add_argument(
        "--cores",
        type=int,
        default=None,
        help="the core count the install's cpu accounting sees (default: this machine's);"
        " e.g. 8, a stratus node's, to install 50 idle apps on a 2-core machine",
    )
    parser.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="where the node side's files, volumes and dockerd live (its disk is the one"
        " the install's space accounting sees); e.g. a large sparse loop-mounted filesystem",
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("apps_runtime: skipped (needs root: its own dockerd and loop volumes)")
        return
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="fluxos-bench-", dir=args.data_root) as directory:
        work = Path(directory)
        daemon = DockerDaemon(work / "dockerd").start()
        try:
            with running_registry(work / "registry") as registry:
                pusher = ImagePusher(registry.url)
                try:
                    httpd_image(pusher, "flux/httpd", "bench")
                finally:
                    pusher.close()
                image = f"{registry.host}/flux/httpd:bench"
                asyncio.run(
                    measure(work, daemon.url, image, args.apps, args.idle_seconds, args.cores)
                )
        finally:
            daemon.stop()
        if not args.no_network:
            payment_to_answering(work, args.runs)


if __name__ == "__main__":
    main()
