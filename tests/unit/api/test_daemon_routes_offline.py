"""/daemon and /benchmark routes through the real application when fluxd is absent or
down: an error envelope that says so, never a 500, a 501 or a traceback."""

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fluxos.api.app import create_app
from fluxos.config import load_settings
from fluxos.node import Node


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def client_for(node: Node) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(node, manage_node=False)
    async with node.running():
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as http:
            yield http


@pytest.fixture
async def unconfigured(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    # not the default bench port: another node on this machine may run a bench there
    overrides = {"benchmark": {"rpc_port": closed_port()}}
    node = Node(load_settings(tmp_path / "node", overrides, environ={}), home=tmp_path)
    async for http in client_for(node):
        yield http


@pytest.fixture
async def fluxd_down(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    conf = tmp_path / "flux.conf"
    conf.write_text(f"rpcuser=u\nrpcpassword=p\nrpcport={closed_port()}\n")
    settings = load_settings(tmp_path / "node", {"fluxd_conf": str(conf)}, environ={})
    async for http in client_for(Node(settings, home=tmp_path)):
        yield http


def error_of(reply: httpx.Response, status: int = 200) -> dict[str, object]:
    assert reply.status_code == status
    if status == 503:  # an unreachable daemon: retry later, as upstream 8.18 answers
        assert reply.headers["retry-after"] == "30"
    body = reply.json()
    assert body["status"] == "error", body
    assert "Traceback" not in reply.text
    return dict(body["data"])


async def test_no_fluxd_configured(unconfigured: httpx.AsyncClient) -> None:
    data = error_of(await unconfigured.get("/daemon/getinfo"), 503)
    assert data["code"] == "ECONNREFUSED"
    assert "fluxd is not configured: no flux.conf found" in str(data["message"])
    data = error_of(await unconfigured.get("/benchmark/getstatus"), 503)
    assert data["code"] == "ECONNREFUSED"


async def test_fluxd_down_is_named_with_its_address(fluxd_down: httpx.AsyncClient) -> None:
    for path in ("/daemon/getblockcount", "/daemon/getblock/5", "/daemon/help?command=getinfo"):
        data = error_of(await fluxd_down.get(path), 503)
        assert data["code"] == "ECONNREFUSED"
        assert str(data["message"]).startswith("fluxd is not reachable at http://127.0.0.1:")
    # a JSON body is read whatever its content type, then the call is attempted
    reply = await fluxd_down.post(
        "/daemon/decodescript", json={"hex": "76a914"}, headers={"content-type": "text/plain"}
    )
    assert error_of(reply, 503)["code"] == "ECONNREFUSED"


async def test_bad_values_are_refused_before_calling_fluxd(fluxd_down: httpx.AsyncClient) -> None:
    data = error_of(await fluxd_down.get("/daemon/getblock/5/x"))
    assert data["message"] == "verbosity must be a number, got 'x'"
    data = error_of(await fluxd_down.get("/daemon/listfluxnodes?limit=0"))
    assert data["message"] == "limit must be a whole number from 1 to 9999999, got '0'"


async def test_protected_routes_need_their_privilege(unconfigured: httpx.AsyncClient) -> None:
    for path in (
        "/daemon/stop",
        "/daemon/getbalance",
        "/daemon/start",
        "/flux/restartdaemon",
        "/benchmark/restart",
        "/daemon/submitblock/00",
        "/benchmark/signfluxnodetransaction/00",
    ):
        data = error_of(await unconfigured.get(path))
        assert data == {
            "code": 401,
            "name": "Unauthorized",
            "message": "Unauthorized. Access denied.",
        }


async def test_stored_benchmark_absent(unconfigured: httpx.AsyncClient) -> None:
    data = error_of(await unconfigured.get("/benchmark/getstoredbenchmark"))
    assert data["message"] == "No stored benchmark data available"


async def test_no_daemon_route_is_left_unimplemented(unconfigured: httpx.AsyncClient) -> None:
    openapi = (await unconfigured.get("/openapi.json")).json()
    tags = {
        tag
        for path, item in openapi["paths"].items()
        if path.startswith(("/daemon/", "/benchmark/"))
        for operation in item.values()
        for tag in operation.get("tags", [])
    }
    assert tags == {"Daemon", "Benchmark"}
