"""A `fluxos start` node with its real Syncthing 1.29: started detached with its own home,
options as files-and-sync.md §1.2 says, every `/syncthing/*` route through the proxy,
permissions from the route table, errors when Syncthing is down, and a node restart that
leaves Syncthing running."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxos.sync.peers import HttpPeers
from fluxos.sync.process import running_pid
from tests.support.daemons import Admin
from tests.support.processes import NodeProcess, free_port, wait_until
from tests.support.syncthing import node_toml, node_with_syncthing, stop_syncthing

UNAUTHORIZED = {
    "status": "error",
    "data": {"code": 401, "name": "Unauthorized", "message": "Unauthorized. Access denied."},
}


class Stack:
    def __init__(self, node: NodeProcess, admin: Admin, headers: dict[str, str]) -> None:
        self.node = node
        self.admin = admin
        self.headers = headers

    def get(self, path: str, admin: bool = False, **kwargs: Any) -> Any:
        headers = self.headers if admin else {}
        return self.node.get(path, headers=headers, **kwargs).json()

    def post(self, path: str, body: Any, admin: bool = True, **kwargs: Any) -> Any:
        content = body if isinstance(body, str) else json.dumps(body)
        headers = self.headers if admin else {}
        return self.node.post(path, content=content, headers=headers, **kwargs).json()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    admin = Admin()
    data_dir = tmp_path_factory.mktemp("syncthing-node")
    # the sentinel checks rarely here, so a test can stop Syncthing and see the node's answers
    toml = node_toml(admin.zelid, team=True)
    with node_with_syncthing(data_dir, toml, {"sentinel_seconds": 3600}) as node:
        wait_until(lambda: node.get("/syncthing/deviceid").json()["status"] == "success", 60)
        yield Stack(node, admin, admin.login(node.url))


def test_device_id_is_the_syncthing_one(stack: Stack) -> None:
    device = stack.get("/syncthing/deviceid")["data"]
    meta = stack.get("/syncthing/meta")["data"]
    # upstream's parse: drop `var metadata = ` and `;\n` (1.29 adds more keys than v2's)
    assert meta.startswith("var metadata = ") and meta.endswith(";\n")
    assert json.loads(meta[15:-2])["deviceID"] == device
    assert stack.get("/syncthing/system/status")["data"]["myID"] == device
    assert stack.get("/syncthing/health") == {"status": "success", "data": {"status": "OK"}}
    assert stack.get("/syncthing/system/ping")["data"] == {"ping": "pong"}
    assert stack.get("/syncthing/system/version")["data"]["version"].startswith("v1.")


async def test_peers_learn_the_device_id_over_the_node_api(stack: Stack) -> None:
    """What the app-folder controller of another node asks this one (HttpPeers)."""
    peers = HttpPeers()
    address = f"{stack.node.host}:{stack.node.port}"
    try:
        assert await peers.device_id(address) == stack.get("/syncthing/deviceid")["data"]
        # this node runs no apps runtime: its answer is an error, so "unknown", not "no"
        assert await peers.runs(address, "fluxdb_wiki") is None
        assert await peers.device_id(f"{stack.node.host}:{free_port()}") is None
    finally:
        await peers.aclose()


def test_syncthing_runs_detached_with_its_own_home(stack: Stack) -> None:
    home = stack.node.data_dir / "syncthing"
    pid = running_pid(home)
    assert pid is not None
    # its own session: not the node's child, and not in the node's process group
    assert pid != stack.node.process.pid if stack.node.process else True
    status = Path(f"/proc/{pid}/status").read_text()
    parent = int(next(line for line in status.splitlines() if line.startswith("PPid:")).split()[1])
    assert parent != (stack.node.process.pid if stack.node.process else -1)
    assert (home / "config.xml").exists() and (home / "cert.pem").exists()


def test_options_follow_the_node(stack: Stack) -> None:
    host = stack.node.host
    options = stack.get("/syncthing/config/options")["data"]
    assert options["listenAddresses"] == [f"tcp://{host}:16129", f"quic://{host}:16129"]
    assert options["globalAnnounceEnabled"] is False
    assert options["localAnnounceEnabled"] is False
    assert options["natEnabled"] is False
    assert options["relaysEnabled"] is False
    defaults = stack.get("/syncthing/config/defaults/folder")["data"]
    assert (defaults["syncOwnership"], defaults["sendXattrs"], defaults["maxConflicts"]) == (
        True,
        True,
        0,
    )
    gui = stack.get("/syncthing/config/gui", admin=True)["data"]
    assert gui["address"] == f"{host}:8384"
    # the port peers probe is Syncthing's own listener
    with socket.create_connection((host, 16129), timeout=5):
        pass


def test_permissions_come_from_the_route_table(stack: Stack) -> None:
    assert stack.get("/syncthing/config") == UNAUTHORIZED
    assert stack.get("/syncthing/config/gui") == UNAUTHORIZED
    assert stack.get("/syncthing/system/log") == UNAUTHORIZED
    assert stack.post("/syncthing/config/options", {"config": {}}, admin=False) == UNAUTHORIZED
    assert stack.get("/syncthing/metrics") == UNAUTHORIZED
    config = stack.get("/syncthing/config", admin=True)["data"]
    assert {"folders", "devices", "options", "gui"} <= set(config)
    assert stack.get("/syncthing/svc/random/string/24") == UNAUTHORIZED
    random_string = stack.get("/syncthing/svc/random/string/24", admin=True)["data"]["random"]
    assert len(random_string) == 24


def test_parameter_rules(stack: Stack) -> None:
    mandatory = stack.get("/syncthing/db/status")
    assert mandatory == {
        "status": "error",
        "data": {"name": "Error", "message": "folder parameter is mandatory"},
    }
    assert stack.get("/syncthing/db/remoteneed/x")["data"]["message"] == (
        "device parameter is mandatory"
    )
    assert stack.get("/syncthing/config/folders/bad%20id") == {
        "status": "error",
        "data": {"message": "Invalid ID supplied"},
    }
    assert stack.get("/syncthing/svc")["data"]["message"] == "id parameter is mandatory"
    device = stack.get("/syncthing/deviceid")["data"]
    # the path form and upstream's ?id= both reach /rest/svc/deviceid
    assert stack.get(f"/syncthing/svc/{device.lower()}")["data"] == {"id": device}
    assert stack.get(f"/syncthing/svc?id={device}")["data"] == {"id": device}
    bad_method = stack.post("/syncthing/config/options", {"config": {}, "method": "TRACE"})
    assert bad_method["data"]["message"].startswith("method must be one of get, post")


def test_folder_config_round_trip_with_encoded_values(stack: Stack, tmp_path: Path) -> None:
    folder = tmp_path / "shared folder"
    folder.mkdir()
    (folder / "a b&c=d.txt").write_text("hello")
    created = stack.post(
        "/syncthing/config/folders",
        {"config": {"id": "enc-test", "label": "enc", "path": str(folder)}},
    )
    assert created["status"] == "success", created
    try:
        assert stack.get("/syncthing/config/folders/enc-test")["data"]["path"] == str(folder)

        def indexed() -> Any:
            answer = stack.get("/syncthing/db/file?folder=enc-test&file=a%20b%26c%3Dd.txt")
            return answer["status"] == "success" and answer["data"]

        # `&` and `=` inside a value stay inside it (upstream concatenated them raw)
        found = wait_until(indexed, 60)
        assert found["global"]["name"] == "a b&c=d.txt"
        scanned = stack.post("/syncthing/db/scan", {"folder": "enc-test", "sub": "a b&c=d.txt"})
        assert scanned["status"] == "success", scanned
        status = stack.get("/syncthing/db/status/enc-test")["data"]
        assert status["globalFiles"] == 1
    finally:
        removed = stack.post("/syncthing/config/folders", {"id": "enc-test", "method": "delete"})
        assert removed["status"] == "success", removed
    assert "enc-test" not in {f["id"] for f in stack.get("/syncthing/config/folders")["data"]}


def test_plain_text_system_error_is_sent_as_text(stack: Stack) -> None:
    posted = stack.node.post(
        "/syncthing/system/error", content="disk almost full", headers=stack.headers
    ).json()
    assert posted["status"] == "success", posted
    errors = stack.get("/syncthing/system/error", admin=True)["data"]["errors"]
    assert any(e["message"] == "disk almost full" for e in errors)
    assert stack.get("/syncthing/system/error/clear", admin=True)["status"] == "success"
    assert not stack.get("/syncthing/system/error", admin=True)["data"]["errors"]


def test_events_long_poll_waits_longer_than_the_default_timeout(stack: Stack) -> None:
    first = stack.get("/syncthing/events?since=0&limit=1", admin=True)["data"]
    assert len(first) == 1 and first[0]["id"] >= 1
    latest = stack.get("/syncthing/events?limit=1", admin=True)["data"][-1]["id"]
    # nothing happens for 7 s: Syncthing holds the call past the client's 5 s default
    held = stack.get(f"/syncthing/events/StateChanged/{latest + 10**6}/1/7", admin=True)
    assert held == {"status": "success", "data": []}


def test_metrics_and_diagnostics(stack: Stack) -> None:
    metrics = stack.get("/syncthing/metrics", admin=True)["data"]
    assert metrics["health"] == {"status": "OK", "error": None}
    assert metrics["system"]["myID"] == stack.get("/syncthing/deviceid")["data"]
    assert set(metrics) >= {"connections", "folders", "stats", "errors", "overall"}
    summary = stack.get("/syncthing/metrics/health", admin=True)["data"]
    assert summary["health"]["status"] == "OK"
    assert summary["folders"]["total"] == metrics["folders"]["total"]
    history = stack.get("/syncthing/metrics/history/5", admin=True)["data"]
    assert history["maxSnapshots"] == 100 and history["count"] >= 1
    assert history["snapshots"][-1]["health"]["status"] == "OK"
    diagnostics = stack.get("/syncthing/peer/diagnostics", admin=True)["data"]
    assert diagnostics["localDeviceId"] == metrics["system"]["myID"]
    assert diagnostics["devices"][diagnostics["localDeviceId"]]["isLocal"] is True


def test_node_restart_keeps_syncthing_running(stack: Stack) -> None:
    home = stack.node.data_dir / "syncthing"
    pid = running_pid(home)
    device = stack.get("/syncthing/deviceid")["data"]
    stack.node.stop()
    # the node is gone; Syncthing still serves its REST API and listen port
    assert running_pid(home) == pid
    with socket.create_connection((stack.node.host, 16129), timeout=5):
        pass
    stack.node.start()
    wait_until(lambda: "adopted" in stack.node.output(), 30)
    assert running_pid(home) == pid
    assert stack.get("/syncthing/deviceid")["data"] == device
    stack.headers = stack.admin.login(stack.node.url)


def test_syncthing_down_gives_a_clear_error_fast(stack: Stack) -> None:
    # the login gate has seen Syncthing working
    assert stack.get("/id/loginphrase")["status"] == "success"
    assert "Syncthing stopped" in stop_syncthing(stack.node.data_dir, stack.node.host)
    answer = stack.get("/syncthing/system/status")
    assert answer["status"] == "error"
    assert answer["data"]["name"] == "SyncthingUnavailable"
    assert "not reachable" in answer["data"]["message"]
    # not the cached success of the running Syncthing: deviceid is checked live
    fresh = httpx.get(f"{stack.node.url}/syncthing/deviceid?fresh=1", timeout=10).json()
    assert fresh == {"status": "error", "data": {"message": "Syncthing is not running properly"}}
    # the login gate forgives one failure after success, then refuses
    assert stack.get("/id/loginphrase")["status"] == "success"
    refused = stack.get("/id/loginphrase")
    assert refused["status"] == "error"
    assert refused["data"]["message"] == "Syncthing is not running properly"
