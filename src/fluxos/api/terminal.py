"""The operator UI's app terminal: socket.io, namespace `/terminal`, on the API port.

The wire is upstream's (ZelBack's dockerTerminalHandler, the UI's Terminal.vue): the
client connects to `/terminal` and emits `exec(zelidauth, name, cmd, env, user)`, where
`name` is `component_app` (or a one-component app), `cmd` and `env` are strings split
into words as upstream's `commandStringToArray` does. The caller must be the app's owner,
the node's admin or the Flux team (`appownerabove`, real ZelID signatures); otherwise the
server emits `error` with "Not authorized." before touching Docker, and "Container not
found." when the name matches no container here. Then the command runs on a terminal of
its own in the container (`docker exec -it`): its output arrives as `show` strings,
`cmd` strings are its input, `resize({rows, cols})` sizes its terminal. When the command
exits the server emits `end`; when the client disconnects (or emits `end`) the command is
killed.

Bounds: one terminal per socket, `MAX_PER_CLIENT` terminals per client address, and at
most one output chunk waiting for a slow client (the command's terminal blocks meanwhile).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import socketio

from fluxos.errors import FluxError, NotFound
from fluxos.identity.privileges import app_of
from fluxos.runtime.engine import AttachedExec
from fluxos.wire.permissions import Permission

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from fluxos.node import Node

log = logging.getLogger(__name__)

NAMESPACE = "/terminal"
MAX_PER_CLIENT = 4
CHUNK = 64 * 1024
NOT_AUTHORIZED = "Not authorized."
NOT_FOUND = "Container not found."


def command_words(text: Any) -> list[str]:
    """Words of a command line as upstream splits them: quotes group, no escapes; a list
    of strings is taken as it is."""
    if isinstance(text, list):
        return [str(word) for word in text]
    if not isinstance(text, str):
        return []
    words: list[str] = []
    current, single, double = "", False, False
    for ch in text:
        if ch == "'" and not double:
            single = not single
        elif ch == '"' and not single:
            double = not double
        elif not single and not double and ch.isspace():
            if current:
                words.append(current)
                current = ""
        else:
            current += ch
    if current:
        words.append(current)
    return words


@dataclass
class _Terminal:
    session: AttachedExec
    client: str
    pump: asyncio.Task[None] | None = None


class TerminalServer:
    """The `/terminal` namespace of the node's socket.io server."""

    def __init__(self, node: Node, max_per_client: int = MAX_PER_CLIENT) -> None:
        self.node = node
        self.max_per_client = max_per_client
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            # the API's dispatcher answers preflights and adds CORS headers itself
            cors_allowed_origins=[],
            # one client's events in the order sent: `cmd` after the `exec` it types into
            async_handlers=False,
            logger=False,
            engineio_logger=False,
        )
        self.terminals: dict[str, _Terminal] = {}
        self.per_client: Counter[str] = Counter()
        self._opening: set[str] = set()
        for event, handler in (
            ("connect", self._connect),
            ("exec", self._exec),
            ("cmd", self._cmd),
            ("resize", self._resize),
            ("end", self._end),
            ("disconnect", self._disconnect),
        ):
            self.sio.on(event, handler, namespace=NAMESPACE)

    def asgi(self, other: ASGIApp) -> ASGIApp:
        """`other` with socket.io served under `/socket.io/` in front of it."""
        return socketio.ASGIApp(self.sio, other_asgi_app=other, socketio_path="socket.io")

    async def _connect(self, sid: str, environ: dict[str, Any], _auth: Any = None) -> None:
        client = environ.get("asgi.scope", {}).get("client") or ("", 0)
        await self.sio.save_session(sid, {"client": str(client[0])}, namespace=NAMESPACE)

    async def _error(self, sid: str, message: str) -> None:
        await self.sio.emit("error", message, to=sid, namespace=NAMESPACE)

    async def _exec(
        self,
        sid: str,
        zelidauth: Any = None,
        name: Any = None,
        cmd: Any = None,
        env: Any = None,
        user: Any = None,
        *_rest: Any,
    ) -> None:
        if not isinstance(name, str) or not name:
            await self._error(sid, NOT_FOUND)
            return
        auth = zelidauth if isinstance(zelidauth, str) else None
        if not await self.node.authorizer.authorize(Permission.APPOWNERABOVE, auth, app_of(name)):
            await self._error(sid, NOT_AUTHORIZED)
            return
        if sid in self.terminals or sid in self._opening:
            await self._error(sid, "A terminal is already open on this connection.")
            return
        client = (await self.sio.get_session(sid, namespace=NAMESPACE))["client"]
        if self.per_client[client] >= self.max_per_client:
            await self._error(
                sid, f"Too many terminals: {self.max_per_client} are open from this address."
            )
            return
        runtime = getattr(self.node, "runtime", None)
        if runtime is None:
            await self._error(sid, "Apps do not run on this node.")
            return
        self._opening.add(sid)
        self.per_client[client] += 1
        session: AttachedExec | None = None
        try:
            container = await self._container(runtime, name)
            if container is None:
                await self._error(sid, NOT_FOUND)
                return
            words = command_words(cmd) or ["sh"]
            user_name = user if isinstance(user, str) else ""
            try:
                session = await runtime.engine.exec_attach(
                    container, words, command_words(env), user_name
                )
            except NotFound:  # installed here, but its container is gone
                await self._error(sid, NOT_FOUND)
                return
            except FluxError as error:  # Docker unavailable, or its refusal
                await self._error(sid, str(error))
                return
        finally:
            self._opening.discard(sid)
            if session is None:
                self._release(client)
        terminal = _Terminal(session, client)
        if not self.sio.manager.is_connected(sid, NAMESPACE):
            await self._close(terminal)  # the client left while the exec was made
            return
        self.terminals[sid] = terminal
        terminal.pump = asyncio.create_task(self._pump(sid, terminal), name=f"terminal {sid}")

    @staticmethod
    async def _container(runtime: Any, name: str) -> str | None:
        """The container `name` means: `component_app`, an app, or the container's name."""
        for candidate in dict.fromkeys((name, name.removeprefix("flux"))):
            try:
                return str(await runtime.container_of(candidate))
            except FluxError:
                continue
        return None

    async def _pump(self, sid: str, terminal: _Terminal) -> None:
        """The command's output to the client, one chunk in flight, then `end`."""
        decoder = _Utf8()
        try:
            while chunk := await terminal.session.read(CHUNK):
                await self.sio.emit("show", decoder.text(chunk), to=sid, namespace=NAMESPACE)
                await self._drained(sid)
            if self.terminals.get(sid) is terminal:
                await self.sio.emit("end", to=sid, namespace=NAMESPACE)
        except Exception as error:  # a client gone mid-emit is no failure of ours
            log.info("terminal %s: output stopped: %s", sid, error)

    async def _drained(self, sid: str) -> None:
        """Wait until the client's transport took the queued output (backpressure)."""
        with contextlib.suppress(Exception):
            eio_sid = self.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
            socket = self.sio.eio.sockets.get(eio_sid) if eio_sid else None
            if socket is not None:
                await socket.queue.join()

    async def _cmd(self, sid: str, data: Any = None, *_rest: Any) -> None:
        terminal = self.terminals.get(sid)
        if terminal is not None and isinstance(data, str):  # upstream writes strings only
            await terminal.session.write(data.encode())

    async def _resize(self, sid: str, data: Any = None, *_rest: Any) -> None:
        terminal = self.terminals.get(sid)
        if terminal is None or not isinstance(data, dict):
            return
        rows, cols = data.get("rows"), data.get("cols")
        if isinstance(rows, int) and isinstance(cols, int) and 0 < rows < 10000 > cols > 0:
            try:
                await terminal.session.resize(rows, cols)
            except FluxError as error:
                log.info("terminal %s: resize refused: %s", sid, error)

    async def _end(self, sid: str, *_rest: Any) -> None:
        await self._stop(sid)

    async def _disconnect(self, sid: str, *_rest: Any) -> None:
        self._wake_poll(sid)
        await self._stop(sid)

    def _wake_poll(self, sid: str) -> None:
        """Answer a long-poll still pending for a client that closed: engine.io leaves it
        waiting up to ping interval + timeout (45 s), holding a node's shutdown as long."""
        with contextlib.suppress(Exception):
            eio_sid = self.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
            socket = self.sio.eio.sockets.get(eio_sid) if eio_sid else None
            if socket is not None and not socket.upgraded:
                socket.queue.put_nowait(None)

    async def _stop(self, sid: str) -> None:
        terminal = self.terminals.pop(sid, None)
        if terminal is not None:
            await self._close(terminal)

    async def _close(self, terminal: _Terminal) -> None:
        try:
            await terminal.session.end()
        except Exception as error:
            log.info("terminal: ending its exec failed: %s", error)
        finally:
            self._release(terminal.client)
            if terminal.pump is not None and terminal.pump is not asyncio.current_task():
                terminal.pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await terminal.pump

    def _release(self, client: str) -> None:
        self.per_client[client] -= 1
        if self.per_client[client] <= 0:
            del self.per_client[client]

    async def close(self) -> None:
        """End every terminal (the node stops)."""
        for sid in list(self.terminals):
            await self._stop(sid)


class _Utf8:
    """Bytes to text across chunk boundaries (a character split between two reads)."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def text(self, chunk: bytes) -> str:
        return self._decoder.decode(chunk)
