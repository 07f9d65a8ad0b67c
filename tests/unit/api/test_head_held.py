"""The API server's answers with the head held back for the first body write: every kind
of answer (sized, empty, 304, HEAD, streamed, after `100 Continue`) still arrives whole and
in order, over real sockets, on kept-alive and pipelined connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httptools
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from tests.support.processes import free_port
from tests.support.servers import serving_config_on_this_loop

from fluxos.api.server import server_config


async def sized(request: Request) -> Response:
    return JSONResponse({"n": request.query_params.get("n")})


async def not_modified(_request: Request) -> Response:
    return Response(status_code=304, headers={"etag": 'W/"1"'})


async def empty(_request: Request) -> Response:
    return Response(b"", status_code=200)


async def streamed(_request: Request) -> Response:
    async def parts() -> AsyncIterator[bytes]:
        for n in range(3):
            await asyncio.sleep(0)
            yield b"part%d;" % n

    return StreamingResponse(parts(), media_type="text/plain")


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


APP = Starlette(
    routes=[
        Route("/sized", sized, methods=["GET", "HEAD"]),
        Route("/304", not_modified),
        Route("/empty", empty),
        Route("/stream", streamed),
        Route("/echo", echo, methods=["POST"]),
    ]
)


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    config, _guard = server_config(APP, "127.0.0.1", free_port(), lifespan="off", loop="asyncio")
    async with serving_config_on_this_loop(config) as url:
        yield url


async def test_every_kind_of_answer_on_one_kept_alive_connection(base_url: str) -> None:
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=base_url, limits=limits) as http:
        for n in range(3):
            reply = await http.get(f"/sized?n={n}")
            assert reply.json() == {"n": str(n)}
        head = await http.head("/sized?n=1")
        assert head.status_code == 200 and head.content == b""
        assert int(head.headers["content-length"]) == len(b'{"n":"1"}')
        assert (await http.get("/304")).status_code == 304
        assert (await http.get("/empty")).content == b""
        assert (await http.get("/stream")).content == b"part0;part1;part2;"
        body = b"x" * 100_000
        reply = await http.post("/echo", content=body, headers={"expect": "100-continue"})
        assert reply.content == body
        assert (await http.get("/sized?n=last")).json() == {"n": "last"}


class Answers:
    """httptools callbacks collecting each answer's status and body."""

    def __init__(self) -> None:
        self.done: list[tuple[int, bytes]] = []
        self._body = b""
        self.parser = httptools.HttpResponseParser(self)

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        self.done.append((self.parser.get_status_code(), self._body))
        self._body = b""


async def test_pipelined_requests_are_answered_in_order(base_url: str) -> None:
    port = int(base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    requests = [b"/sized?n=1", b"/304", b"/stream", b"/sized?n=2", b"/empty"]
    writer.write(b"".join(b"GET %s HTTP/1.1\r\nhost: x\r\n\r\n" % path for path in requests))
    answers = Answers()
    async with asyncio.timeout(30):
        while len(answers.done) < len(requests):
            data = await reader.read(65536)
            assert data, "the server closed the connection early"
            answers.parser.feed_data(data)
    writer.close()
    assert answers.done == [
        (200, b'{"n":"1"}'),
        (304, b""),
        (200, b"part0;part1;part2;"),
        (200, b'{"n":"2"}'),
        (200, b""),
    ]
