"""`fluxos start` with no flux.conf anywhere: the node runs the devnet and the bench as
supervised children, answers real daemon and benchmark data, controls them on request,
restarts them when they die, and takes them down with it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.daemons import Admin, answers
from tests.support.processes import NodeProcess, wait_until


def child(node: NodeProcess, module: str) -> psutil.Process | None:
    """The node's running child `python -m <module>`, if any."""
    assert node.process is not None
    for process in psutil.Process(node.process.pid).children(recursive=True):
        try:
            if module in process.cmdline() and process.status() != psutil.STATUS_ZOMBIE:
                return process
        except psutil.NoSuchProcess:
            continue
    return None


def succeeds(node: NodeProcess, path: str, headers: dict[str, str] | None = None) -> object:
    reply = node.get(path, headers=headers or {}).json()
    return reply["data"] if reply["status"] == "success" else None


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, Admin]]:
    tmp = tmp_path_factory.mktemp("embedded")
    admin = Admin()
    (tmp / "node").mkdir()
    (tmp / "node" / "fluxos.toml").write_text(f'zelid = "{admin.zelid}"\n')
    # a home without ~/.flux/flux.conf: nothing to discover, so the node runs its own
    node = NodeProcess(tmp / "node", env={"HOME": str(tmp / "home")})
    node.start(wait=False)
    try:
        wait_until(lambda: answers(node), timeout=120, interval=0.2)
        wait_until(lambda: succeeds(node, "/daemon/getblockcount"), timeout=90, interval=0.5)
        yield node, admin
    finally:
        node.stop()


def test_real_daemon_and_benchmark_data(embedded: tuple[NodeProcess, Admin]) -> None:
    node, _admin = embedded
    info = succeeds(node, "/daemon/getinfo")
    assert isinstance(info, dict) and info["blocks"] >= 2_200_000
    assert "balance" not in info
    assert isinstance(succeeds(node, "/daemon/getblockcount"), int)
    fluxnodes = succeeds(node, "/daemon/viewdeterministicfluxnodelist")
    assert isinstance(fluxnodes, list) and fluxnodes[0]["tier"] == "CUMULUS"
    benchmarks = wait_until(
        lambda: (
            (succeeds(node, "/benchmark/getbenchmarks") or {}).get("status") == "CUMULUS"
            and succeeds(node, "/benchmark/getbenchmarks")
        ),
        timeout=60,
        interval=0.5,
    )
    assert benchmarks["cores"] >= 1 and benchmarks["ram"] > 0
    data_dir = node.data_dir.resolve()
    assert (data_dir / "devnet" / "flux.conf").is_file()
    assert (data_dir / "devnet" / "debug.log").is_file()
    assert (data_dir / "bench").is_dir()


def test_control_routes_act_on_the_children(embedded: tuple[NodeProcess, Admin]) -> None:
    node, admin = embedded
    headers = admin.login(node.url)
    devnet = child(node, "fluxos.devnet")
    assert devnet is not None
    restarted = node.get("/daemon/restart", headers=headers).json()
    assert restarted == {"status": "success", "data": {"message": "Daemon successfully restarted"}}
    again = child(node, "fluxos.devnet")
    assert again is not None and again.pid != devnet.pid
    assert succeeds(node, "/daemon/getfluxnodestatus?after=restart")
    bench = child(node, "fluxos.bench")
    reply = node.get("/flux/restartbenchmark", headers=headers).json()
    assert reply["data"]["message"] == "Benchmark successfully restarted"
    new_bench = child(node, "fluxos.bench")
    assert bench is not None and new_bench is not None and new_bench.pid != bench.pid
    # an RPC stop ends the devnet for good, until a start
    assert node.get("/daemon/stop", headers=headers).json()["status"] == "success"
    wait_until(lambda: child(node, "fluxos.devnet") is None)
    down = node.get("/daemon/getfluxnodestatus?after=stop").json()
    assert down["data"]["code"] == "ECONNREFUSED"
    assert child(node, "fluxos.devnet") is None  # not restarted behind the admin's back
    started = node.get("/flux/startdaemon", headers=headers).json()
    assert started["data"]["message"] == "Daemon successfully started"
    assert succeeds(node, "/daemon/getfluxnodestatus?after=start")
    reindexing = node.get("/daemon/reindex", headers=headers).json()
    assert reindexing["data"]["message"] == "Daemon successfully reindexing"


def test_daemon_and_bench_debug_logs(embedded: tuple[NodeProcess, Admin]) -> None:
    node, admin = embedded
    headers = admin.login(node.url)
    assert node.get("/flux/daemondebug").json()["data"]["code"] == 401
    download = node.get("/flux/daemondebug", headers=headers)
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="debug.log"'
    assert "devnet running" in download.text
    tail = node.get("/flux/tailbenchmarkdebug", headers=headers).json()
    assert tail["status"] == "success" and tail["data"]["message"].strip()
    assert len(tail["data"]["message"].splitlines()) <= 100
    assert node.get("/flux/taildaemondebug", headers=headers).json()["status"] == "success"


def test_a_crashed_child_is_restarted(embedded: tuple[NodeProcess, Admin]) -> None:
    node, _admin = embedded
    devnet = child(node, "fluxos.devnet")
    assert devnet is not None
    os.kill(devnet.pid, signal.SIGKILL)
    wait_until(
        lambda: (
            (replacement := child(node, "fluxos.devnet")) is not None
            and replacement.pid != devnet.pid
        ),
        timeout=30,
    )
    wait_until(lambda: succeeds(node, "/daemon/getfluxnodestatus?after=crash"), timeout=60)
    assert "devnet exited unexpectedly with code -9; restarting it" in node.output()


def test_stopping_the_node_stops_its_children(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "node", env={"HOME": str(tmp_path / "home")}).start(wait=False)
    wait_until(lambda: answers(node), timeout=120, interval=0.2)
    wait_until(lambda: child(node, "fluxos.bench") is not None, timeout=60)
    children = [child(node, "fluxos.devnet"), child(node, "fluxos.bench")]
    # a graceful stop (uvicorn re-raises the SIGTERM it handled), not a kill after timeout
    assert node.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert "node stopped" in node.output()
    for process in children:
        assert process is not None
        wait_until(lambda p=process: not p.is_running() or p.status() == psutil.STATUS_ZOMBIE)


def test_a_killed_node_takes_its_children_down(tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "node", env={"HOME": str(tmp_path / "home")}).start(wait=False)
    wait_until(lambda: answers(node), timeout=120, interval=0.2)
    wait_until(lambda: child(node, "fluxos.bench") is not None, timeout=60)
    children = [child(node, "fluxos.devnet"), child(node, "fluxos.bench")]
    node.stop(signal.SIGKILL)
    for process in children:
        assert process is not None
        wait_until(lambda p=process: not p.is_running() or p.status() == psutil.STATUS_ZOMBIE)
