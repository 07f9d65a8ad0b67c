"""RpcTransport against real loopback sockets: a hand-written HTTP/1.1 peer per test, so
each one can misbehave the way a daemon (or its death) does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from fluxos.errors import DaemonUnavailable
from fluxos.jsonrpc import JsonRpcClient
from fluxos.rpctransport import ConnectFailed, RpcTransport

Peer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head, await reader.readexactly(length)


def answer(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)


@asynccontextmanager
async def peer(handle: Peer) -> AsyncIterator[tuple[str, list[int]]]:
    """Serve `handle` on a free port; yields the URL and a list counting connections."""
    connections: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/", connections
    finally:
        server.close()


async def echo_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        head, body = await read_request(reader)
        assert head.startswith(b"POST / HTTP/1.1\r\n")
        assert b"\r\nauthorization: Basic dTpw\r\n" in head
        request = json.loads(body)
        reply = {"result": request["params"], "error": None, "id": request["id"]}
        writer.write(answer(json.dumps(reply).encode()))
        await writer.drain()


async def test_calls_reuse_one_connection_and_match_their_answers() -> None:
    async with peer(echo_forever) as (url, connections), JsonRpcClient(url, "u", "p") as rpc:
        for n in range(20):
            assert await rpc.call("echo", n, "x") == [n, "x"]
        assert len(connections) == 1
        results = await asyncio.gather(*(rpc.call("echo", n) for n in range(5)))
    assert results == [[n] for n in range(5)]
    assert len(connections) <= 5


async def test_a_connection_the_peer_closed_while_idle_is_replaced() -> None:
    async def one_answer_then_hang_up(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        _head, body = await read_request(reader)
        request = json.loads(body)
        writer.write(answer(json.dumps({"result": 1, "error": None, "id": request["id"]}).encode()))
        await writer.drain()

    async with (
        peer(one_answer_then_hang_up) as (url, connections),
        JsonRpcClient(url, "u", "p") as rpc,
    ):
        assert await rpc.call("a") == 1
        assert await rpc.call("b") == 1
    assert len(connections) == 2


async def test_chunked_answer_and_connection_close() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        body = b'{"result":"long","error":null,"id":0}'
        writer.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
            b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:])
        )
        await writer.drain()

    async with peer(chunked) as (url, connections):
        transport = RpcTransport(url, {}, timeout=5)
        for _ in range(2):
            reply = await transport.post(b"{}")
            assert reply.status == 200
            assert json.loads(reply.body)["result"] == "long"
        await transport.aclose()
    assert len(connections) == 2  # `connection: close` is honoured


async def test_silence_is_a_timeout_and_a_hang_up_mid_answer_a_reset() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.Event().wait()  # silent until the client gives up

    async with peer(silent) as (url, _), JsonRpcClient(url, "u", "p", timeout=0.3) as rpc:
        with pytest.raises(DaemonUnavailable) as err:
            await rpc.call("getinfo")
    assert err.value.code == "ECONNABORTED"

    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"res')
        await writer.drain()

    async with peer(half) as (url, _), JsonRpcClient(url, "u", "p") as rpc:
        with pytest.raises(DaemonUnavailable) as err:
            await rpc.call("getinfo")
    assert err.value.code == "ECONNRESET"


async def test_refused_connection_and_non_json_answer() -> None:
    async with peer(echo_forever) as (url, _):
        pass  # closed: nothing listens on the port any more
    transport = RpcTransport(url, {}, timeout=5)
    with pytest.raises(ConnectFailed):
        await transport.post(b"{}")

    async def html(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 4\r\n\r\nnope")
        await writer.drain()

    async with peer(html) as (url, _), JsonRpcClient(url, "u", "p") as rpc:
        with pytest.raises(Exception, match="nope") as err:
            await rpc.call("getinfo")
    assert getattr(err.value, "code", None) == 500


def test_only_http_urls() -> None:
    with pytest.raises(ValueError, match="not an http"):
        RpcTransport("ftp://127.0.0.1/", {}, timeout=1)


async def test_at_most_max_connections_in_flight_and_the_rest_queue() -> None:
    """20 calls at once through a limit of 2: the peer never holds more than 2 requests,
    sees 2 connections, and every caller gets its own answer."""
    held: list[int] = []
    most = 0

    async def slow_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal most
        while True:
            _head, body = await read_request(reader)
            held.append(1)
            most = max(most, len(held))
            await asyncio.sleep(0.01)
            held.pop()
            request = json.loads(body)
            reply = {"result": request["params"], "error": None, "id": request["id"]}
            writer.write(answer(json.dumps(reply).encode()))
            await writer.drain()

    async with peer(slow_echo) as (url, connections):
        rpc = JsonRpcClient(url, "u", "p", max_in_flight=2)
        results = await asyncio.gather(*(rpc.call("echo", n) for n in range(20)))
        await rpc.aclose()
    assert results == [[n] for n in range(20)]
    assert most == 2
    assert len(connections) == 2


async def test_a_caller_that_gives_up_frees_its_slot() -> None:
    """A timed-out call (on the wire or still queued) neither blocks the limit nor lets
    its late answer reach the next caller."""

    async def first_silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            _head, body = await read_request(reader)
            request = json.loads(body)
            if request["params"] == ["silent"]:
                await asyncio.Event().wait()  # never answers this one
            reply = {"result": request["params"], "error": None, "id": request["id"]}
            writer.write(answer(json.dumps(reply).encode()))
            await writer.drain()

    async with peer(first_silent) as (url, _):
        transport = RpcTransport(url, {}, timeout=0.5, max_connections=1)
        silent = asyncio.ensure_future(transport.post(b'{"id":1,"params":["silent"]}'))
        queued = asyncio.ensure_future(transport.post(b'{"id":2,"params":["queued"]}'))
        with pytest.raises(TimeoutError):
            await silent
        with pytest.raises(TimeoutError):
            await queued  # its wait in the queue counts: the same deadline
        reply = await transport.post(b'{"id":3,"params":["next"]}')
        assert json.loads(reply.body)["result"] == ["next"]
        assert transport.in_flight == 1
        await transport.aclose()
