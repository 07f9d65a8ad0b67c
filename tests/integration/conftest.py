"""Shared real processes for the daemon API tests: one devnet, one bench, one node using
them through a flux.conf, and the node owner's ZelID."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.daemons import Admin, BenchProcess, DevnetProcess, answers
from tests.support.processes import NodeProcess, wait_until


@dataclass
class DaemonStack:
    devnet: DevnetProcess
    bench: BenchProcess
    node: NodeProcess
    admin: Admin
    admin_headers: dict[str, str]
    tmp: Path


@pytest.fixture(scope="module")
def daemon_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonStack]:
    tmp = tmp_path_factory.mktemp("daemon-stack")
    devnet = DevnetProcess(tmp / "devnet", nodes=2).start()
    bench = BenchProcess(tmp / "bench", flux_conf=devnet.conf_path)
    admin = Admin()
    node_dir = tmp / "node"
    node_dir.mkdir()
    (node_dir / "fluxos.toml").write_text(
        f'zelid = "{admin.zelid}"\n'
        f'fluxd_conf = "{devnet.conf_path}"\n'
        "[benchmark]\n"
        f'bench_dir = "{bench.data_dir}"\n'
        f"rpc_port = {bench.port}\n"
    )
    node = NodeProcess(node_dir, env={"HOME": str(tmp / "home")})
    try:
        # the node starts while the bench measures the CPU: give it time on a busy machine
        node.start(wait=False)
        bench.start()
        wait_until(lambda: answers(node), timeout=120, interval=0.2)
        yield DaemonStack(devnet, bench, node, admin, admin.login(node.url), tmp)
    finally:
        node.stop()
        bench.stop()
        devnet.stop()
