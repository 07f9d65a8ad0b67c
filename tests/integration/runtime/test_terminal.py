"""The operator UI's app terminal over socket.io (`/terminal` on the API port): a node
served in-process with a real devnet and dockerd runs an app; a real python-socketio
client runs a shell in its container, types into it, resizes it, and its disconnect kills
what the shell ran. Strangers and unauthenticated callers are refused first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from fluxos.api.terminal import MAX_PER_CLIENT, NAMESPACE, command_words
from tests.integration.runtime import test_runtime_api
from tests.integration.runtime.conftest import Images
from tests.integration.runtime.test_runtime_api import World, log_in, objects
from tests.support.asyncwait import eventually
from tests.support.identity import Person
from tests.support.processes import free_port_run
from tests.support.runtimeapps import web_app

# the in-process node of the runtime API tests (a devnet per module, a node per test)
devnet = test_runtime_api.devnet
world = test_runtime_api.world


class TerminalClient:
    """A socket.io client on `/terminal`, collecting what the server emits."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.shown = ""
        self.errors: list[Any] = []
        self.ended = asyncio.Event()
        self.sio.on("show", self._show, namespace=NAMESPACE)
        self.sio.on("error", self.errors.append, namespace=NAMESPACE)
        self.sio.on("end", self.ended.set, namespace=NAMESPACE)

    def _show(self, data: Any) -> None:
        assert isinstance(data, str)
        self.shown += data

    async def connect(self, base_url: str, transports: tuple[str, ...] = ("websocket",)) -> None:
        await self.sio.connect(base_url, namespaces=[NAMESPACE], transports=list(transports))

    async def emit(self, event: str, *args: Any) -> None:
        await self.sio.emit(event, args, namespace=NAMESPACE)


@pytest.fixture
async def client() -> AsyncIterator[TerminalClient]:
    terminal = TerminalClient()
    try:
        yield terminal
    finally:
        await terminal.sio.disconnect()


async def install(world: World, images: Images, owner: Person) -> None:
    world.specs.specs["term"] = web_app("term", images.httpd, free_port_run(1), owner=owner.zelid)
    streamed = objects((await world.get("/apps/installapplocally/term")).text)
    assert streamed[-1]["status"] == "success", streamed


async def processes(world: World) -> list[str]:
    top = await world.node.docker.top("fluxweb_term")
    column = top["Titles"].index("CMD")
    return [row[column] for row in top["Processes"]]


def test_command_words_as_upstream_splits_them() -> None:
    assert command_words("sh -c 'echo a  b' \"x y\"z") == ["sh", "-c", "echo a  b", "x yz"]
    assert command_words("  ") == []
    assert command_words(None) == []


async def test_owner_runs_a_shell_and_its_disconnect_kills_it(
    world: World, images: Images, client: TerminalClient
) -> None:
    owner = Person()
    await install(world, images, owner)
    base = str(world.http.base_url)
    await client.connect(base)

    # refused before anything runs: no zelidauth, a stranger's, then the owner's typo
    await client.emit("exec", None, "web_term", "sh", "", "")
    await eventually(lambda: client.errors == ["Not authorized."], within=10)
    stranger = await log_in(world.http, world.clock, Person())
    await client.emit("exec", stranger.header_qs(), "web_term", "sh", "", "")
    await eventually(lambda: len(client.errors) == 2, within=10)
    assert client.errors[1] == "Not authorized."
    auth = (await log_in(world.http, world.clock, owner)).header_qs()
    await client.emit("exec", auth, "nothing_term", "sh", "", "")
    await eventually(lambda: len(client.errors) == 3, within=10)
    assert client.errors[2] == "Container not found."
    assert not any(p.startswith("/bin/sh") for p in await processes(world))

    await client.emit("exec", auth, "web_term", "/bin/sh", "MARK=fluxos", "")
    await client.emit("cmd", "echo $MARK $((6*7))\n")
    await eventually(lambda: "fluxos 42" in client.shown, within=20)
    await client.emit("resize", {"rows": 33, "cols": 101})
    await client.emit("cmd", "stty size\n")
    await eventually(lambda: "33 101" in client.shown, within=20)
    await client.emit("cmd", "sleep 4242\n")

    async def sleeping() -> bool:
        return any("sleep 4242" in p for p in await processes(world))

    await eventually(sleeping, within=20)
    assert len(client.errors) == 3
    await client.sio.disconnect()

    async def gone() -> bool:
        return not await sleeping() and not any(
            p.startswith("/bin/sh") for p in await processes(world)
        )

    await eventually(gone, within=20)


# the UI's socket.io-client starts on long-polling, then upgrades to a websocket
@pytest.mark.parametrize("transports", [("websocket",), ("polling",), ("polling", "websocket")])
async def test_a_command_that_exits_ends_the_terminal(
    world: World, images: Images, client: TerminalClient, transports: tuple[str, ...]
) -> None:
    owner = Person()
    await install(world, images, owner)
    await client.connect(str(world.http.base_url), transports)
    auth = (await log_in(world.http, world.clock, owner)).header_qs()
    await client.emit("exec", auth, "fluxweb_term", "echo 'done here'", "", "")
    await asyncio.wait_for(client.ended.wait(), 20)
    assert "done here" in client.shown
    assert client.errors == []
    # the API itself is still served on the same port beside socket.io
    assert (await world.http.get("/openapi.json")).status_code == 200
    assert (await world.get("/apps/listrunningapps")).json()["status"] == "success"


async def test_terminals_per_client_address_are_bounded(world: World, images: Images) -> None:
    owner = Person()
    await install(world, images, owner)
    auth = (await log_in(world.http, world.clock, owner)).header_qs()
    clients = [TerminalClient() for _ in range(MAX_PER_CLIENT + 1)]
    try:
        for terminal in clients[:MAX_PER_CLIENT]:
            await terminal.connect(str(world.http.base_url))
            await terminal.emit("exec", auth, "web_term", "sh", "", "")
            await eventually(lambda t=terminal: "/ #" in t.shown, within=20)
        extra = clients[-1]
        await extra.connect(str(world.http.base_url))
        await extra.emit("exec", auth, "web_term", "sh", "", "")
        await eventually(lambda: extra.errors, within=10)
        assert extra.errors == [f"Too many terminals: {MAX_PER_CLIENT} are open from this address."]
        # a second exec on a socket that already runs one is refused too
        await clients[0].emit("exec", auth, "web_term", "sh", "", "")
        await eventually(lambda: clients[0].errors, within=10)
        assert clients[0].errors == ["A terminal is already open on this connection."]
        # one leaves: its place is free again
        await clients[1].sio.disconnect()
        extra.errors.clear()

        async def admitted() -> bool:
            extra.errors.clear()
            await extra.emit("exec", auth, "web_term", "sh", "", "")
            await eventually(lambda: extra.errors or "/ #" in extra.shown, within=10)
            return "/ #" in extra.shown

        await eventually(admitted, within=20)
    finally:
        for terminal in clients:
            await terminal.sio.disconnect()


async def test_an_installed_app_whose_container_is_gone(
    world: World, images: Images, client: TerminalClient
) -> None:
    owner = Person()
    await install(world, images, owner)
    await world.node.docker.remove("fluxweb_term", force=True)  # a host removed it
    await client.connect(str(world.http.base_url))
    auth = (await log_in(world.http, world.clock, owner)).header_qs()
    await client.emit("exec", auth, "web_term", "sh", "", "")
    await eventually(lambda: client.errors, within=10)
    assert client.errors == ["Container not found."]
