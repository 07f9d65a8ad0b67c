from collections.abc import Iterator

import httpx
import pytest

from fluxos.errors import DaemonUnavailable
from fluxos.jsonrpc import JsonRpcClient, JsonRpcServer, RpcError
from tests.support.servers import serving


def add(a: int, b: int) -> int:
    return a + b


async def fail(message: str) -> None:
    raise RpcError(-8, message)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The test methods served for real on a loopback port."""
    srv = JsonRpcServer({"add": add, "fail": fail}, user="u", password="p", name="test")
    with serving(srv.app) as base:
        yield base + "/"


def client(url: str, password: str = "p") -> JsonRpcClient:
    return JsonRpcClient(url, "u", password)


async def test_call_returns_result(url: str) -> None:
    async with client(url) as rpc:
        assert await rpc.call("add", 2, 3) == 5


async def test_remote_error_keeps_code(url: str) -> None:
    async with client(url) as rpc:
        with pytest.raises(RpcError) as err:
            await rpc.call("fail", "bad height")
    assert err.value.code == -8
    assert err.value.message == "bad height"


async def test_unknown_method_and_wrong_arity(url: str) -> None:
    async with client(url) as rpc:
        with pytest.raises(RpcError) as err:
            await rpc.call("nope")
        assert err.value.code == -32601
        with pytest.raises(RpcError) as err:
            await rpc.call("add", 1)
        assert err.value.code == -1
        assert err.value.message.startswith("add")


async def test_bad_credentials_and_parse_error(url: str) -> None:
    async with client(url, password="wrong") as rpc:
        with pytest.raises(RpcError) as err:
            await rpc.call("add", 1, 2)
    assert "401" in err.value.message
    async with httpx.AsyncClient(auth=("u", "p")) as http:
        reply = await http.post(url, content=b"{not json")
    assert reply.status_code == 500
    assert reply.json()["error"]["code"] == -32700


async def test_batch_keeps_per_call_errors(url: str) -> None:
    async with client(url) as rpc:
        results = await rpc.batch([("add", [1, 1]), ("fail", ["x"]), ("add", [2, 2])])
    assert results[0] == 2 and results[2] == 4
    assert isinstance(results[1], RpcError) and results[1].code == -8


async def test_unreachable_daemon() -> None:
    async with JsonRpcClient("http://127.0.0.1:9/", "u", "p", timeout=2) as rpc:
        with pytest.raises(DaemonUnavailable) as err:
            await rpc.call("getinfo")
    assert err.value.code == "ECONNREFUSED"
