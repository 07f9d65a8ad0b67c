"""Streaming bodies and answers, over a real socket: counted limits, permission first."""

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from tests.support.servers import serving

from fluxos.api.app import create_app
from fluxos.api.routing import Call, FluxRouter
from fluxos.api.streams import Streamed
from fluxos.config import load_settings
from fluxos.node import Node
from fluxos.wire.permissions import Permission

router: FluxRouter[Any] = FluxRouter("Test", lambda node: node)
seen: dict[str, int] = {}


@router.post("/test/upload", permission=Permission.PUBLIC, params=(), body="stream", max_body=1000)
async def upload(call: Call[Any]) -> dict[str, int]:
    chunks = 0
    async for _chunk in call.stream():
        chunks += 1
    return {"bytes": call.stream().received, "chunks": chunks}


@router.post("/test/restore", permission=Permission.ADMIN, params=(), body="stream")
async def restore(call: Call[Any]) -> int:
    seen["restore"] = seen.get("restore", 0) + 1
    return len(await call.stream().read())


@router.post("/test/small", permission=Permission.PUBLIC, params=(), max_body=64)
async def small(call: Call[Any]) -> Any:
    return call.body


@router.get(
    "/test/download", permission=Permission.PUBLIC, params=(), response="stream", max_response=10
)
async def download(call: Call[Any]) -> Streamed:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"abcd"

    return Streamed(chunks(), media_type="text/plain", filename="log.txt")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    node = Node(load_settings(tmp_path_factory.mktemp("streams"), environ={}))
    with serving(create_app(node, routers=(router,)), lifespan=True) as base:
        yield base


def test_a_stream_body_is_read_in_chunks_and_counted(url: str) -> None:
    def parts() -> Iterator[bytes]:
        for _ in range(3):
            yield b"x" * 300

    reply = httpx.post(f"{url}/test/upload", content=parts())
    assert reply.json()["status"] == "success"
    assert reply.json()["data"]["bytes"] == 900


def test_a_stream_body_over_its_limit_is_refused(url: str) -> None:
    announced = httpx.post(f"{url}/test/upload", content=b"x" * 1001)
    assert announced.json()["status"] == "error"
    assert announced.json()["data"]["message"] == "request body must be at most 1000 bytes"

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(4):
            yield b"y" * 400

    counted = httpx.post(f"{url}/test/upload", content=chunked())
    assert counted.json()["data"] == {
        "code": 413,
        "name": "Error",
        "message": "request body must be at most 1000 bytes",
    }


def test_an_object_body_has_its_own_limit(url: str) -> None:
    assert httpx.post(f"{url}/test/small", content=b'{"a":"b"}').json()["data"] == {"a": "b"}
    over = httpx.post(f"{url}/test/small", content=b'{"a":"' + b"b" * 100 + b'"}').json()
    assert over["data"]["message"] == "request body must be at most 64 bytes"


def test_the_permission_comes_before_the_stream(url: str) -> None:
    reply = httpx.post(f"{url}/test/restore", content=b"z" * 4096)
    assert reply.json()["data"]["code"] == 401
    assert "restore" not in seen


def test_a_streamed_answer_stops_at_its_limit(url: str) -> None:
    reply = httpx.get(f"{url}/test/download")
    assert reply.status_code == 200
    assert reply.content == b"abcdabcdab"
    assert reply.headers["content-disposition"] == 'attachment; filename="log.txt"'
    assert reply.headers["content-type"].startswith("text/plain")
