"""Cloning fluxd's chain to another machine on the same LAN (spec system.md §8).

`/flux/streamchainpreparation` checks that fluxd is synced and the node is outside its
confirmation window, then stops fluxd (`[hooks] daemon_stop`) and starts it again after
`PREP_SECONDS` unless a stream began. `/flux/streamchain` sends `determ_zelnodes`,
`chainstate` and `blocks` of fluxd's data dir as one tar (gzip on request) with an
`Approx-Content-Length` header; fluxd must be stopped unless `unsafe` is asked (and then
no compression). A stream slower than `MIN_MBPS` after `MONITOR_SECONDS` is cut and
streaming disabled until the node restarts. Only callers on a private (RFC 1918) address
are served; on the embedded devnet both routes answer 422.

Upstream answers with an HTTP status and a status message only; an ASGI server cannot
set the reason phrase, so the message is the plain-text body of the reply instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import queue
import tarfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fluxos.configsections import HookSettings
from fluxos.errors import DaemonUnavailable, FluxError
from fluxos.system.hooks import run_hook

log = logging.getLogger(__name__)

FOLDERS = ("determ_zelnodes", "chainstate", "blocks")
TIP_MAX_AGE = 10 * 60
CONFIRMATION_BLOCKS = 480
MIN_WINDOW_BLOCKS = 30
PREP_SECONDS = 30.0
MONITOR_SECONDS = 35.0
MIN_MBPS = 200.0
CHUNK = 1024 * 1024
_PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


class Rpc(Protocol):
    async def call(self, method: str, *params: Any, use_cache: bool = True) -> Any: ...


class Refused(Exception):
    """An answer of status code + message (upstream's `safeSetResponseStatus`)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ChainStream:
    chunks: AsyncIterator[bytes]
    approx_length: int
    compressed: bool


def is_private(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in _PRIVATE)


def tar_size(base: Path) -> int:
    """Roughly what the tar will weigh: 512 bytes of header per entry, file data padded
    to 512, two 512-byte blocks at the end."""
    count = size = 0
    for folder in FOLDERS:
        for root, dirs, files in os.walk(base / folder):
            count += 1 + len(files)
            for name in files:
                with contextlib.suppress(OSError):
                    size += -(-os.path.getsize(Path(root) / name) // 512) * 512
            dirs.sort()
    return size + count * 512 + (1024 if size else 0)


class ChainStreamer:
    def __init__(
        self,
        *,
        fluxd: Rpc,
        hooks: HookSettings,
        chain_dir: Callable[[], Path],
        embedded: bool,
    ) -> None:
        self.fluxd = fluxd
        self.hooks = hooks
        self.chain_dir = chain_dir
        self.embedded = embedded
        self.disabled = False
        self._stream_lock = False
        self._prep_lock = False
        self._start_required = False

    def _admit(self, ip: str, *, preparing: bool) -> None:
        if self.embedded:
            raise Refused(422, "Chain streaming is not available on the embedded devnet.")
        if self.disabled:
            raise Refused(422, "Failed minimium throughput criteria. Disabled.")
        if self._stream_lock or (preparing and self._prep_lock):
            raise Refused(503, "Streaming of chain already in progress, server busy.")
        if not is_private(ip):
            raise Refused(
                403, "Request must be from an address on the same private network as the host."
            )

    # -- preparation ----------------------------------------------------------------------
    async def prepare(self, ip: str) -> str:
        self._admit(ip, preparing=True)
        self._prep_lock = True
        try:
            log.info("stream chain preparation requested from %s", ip)
            await self._check_synced_and_window()
            if not self.hooks.daemon_stop:
                raise Refused(503, "Error: unable to stop the daemon ([hooks] daemon_stop unset)")
            try:
                await run_hook(
                    "daemon_stop", self.hooks.daemon_stop, limit=self.hooks.timeout, failure="stop"
                )
            except FluxError as error:
                raise Refused(503, f"Error: unable to stop the daemon: {error.message}") from None
            self._start_required = True
        except BaseException:
            self._prep_lock = False
            raise
        asyncio.get_running_loop().create_task(self._restart_unless_streaming())
        return "Daemon stopped, you can start stream chain functionality"

    async def _check_synced_and_window(self) -> None:
        try:
            chain = await self.fluxd.call("getblockchaininfo", use_cache=False)
            best = await self.fluxd.call("getblock", chain["bestblockhash"], 1, use_cache=False)
        except (FluxError, KeyError, TypeError):
            raise Refused(503, "Error getting blockchain info from local Flux Daemon.") from None
        age = int(time.time()) - int(best.get("time", 0))
        if age > TIP_MAX_AGE:
            raise Refused(503, f"Error local Daemon is not synced (tip age: {age}s).")
        try:
            status = await self.fluxd.call("getfluxnodestatus", use_cache=False)
        except FluxError:
            raise Refused(503, "Error getting fluxNodeStatus from local Flux Daemon.") from None
        confirmed = int(status.get("last_confirmed_height") or 0)
        left = CONFIRMATION_BLOCKS - (int(chain.get("blocks", 0)) - confirmed)
        if status.get("status") == "CONFIRMED" and confirmed > 0 and left < MIN_WINDOW_BLOCKS:
            raise Refused(503, "Error Fluxnode is not in maintenance window.")

    async def _restart_unless_streaming(self) -> None:
        await asyncio.sleep(PREP_SECONDS)
        if not self._stream_lock and self._start_required:
            log.info("stream chain preparation timed out: starting the daemon again")
            await self._start_daemon()
        self._prep_lock = False

    async def _start_daemon(self) -> None:
        self._start_required = False
        if not self.hooks.daemon_start:
            log.error("the daemon stays stopped: [hooks] daemon_start is not set")
            return
        try:
            await run_hook(
                "daemon_start", self.hooks.daemon_start, limit=self.hooks.timeout, failure="start"
            )
        except FluxError as error:
            log.error("starting the daemon after the chain stream failed: %s", error.message)

    # -- the stream -----------------------------------------------------------------------
    async def stream(self, ip: str, body: dict[str, Any]) -> ChainStream:
        self._admit(ip, preparing=False)
        base = self.chain_dir()
        if not all((base / folder).is_dir() for folder in FOLDERS):
            raise Refused(500, "Unable to find chain")
        safe = body.get("unsafe") is not True
        compress = bool(body.get("compress") or False)
        if not safe and compress:
            raise Refused(
                422, "Unable to compress blockchain in unsafe mode, it will corrupt new db."
            )
        if safe and await self._fluxd_running():
            raise Refused(503, "Flux daemon still running, unable to clone blockchain.")
        self._stream_lock = True
        log.info("streaming the chain from %s to %s (compress %s)", base, ip, compress)
        return ChainStream(self._chunks(base, compress), tar_size(base), compress)

    async def _fluxd_running(self) -> bool:
        try:
            await self.fluxd.call("getblockcount", use_cache=False)
        except DaemonUnavailable:
            return False
        except FluxError:
            return True
        return True

    async def _chunks(self, base: Path, compress: bool) -> AsyncIterator[bytes]:
        pipe: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
        stop = threading.Event()
        producer = threading.Thread(
            target=_write_tar, args=(base, compress, pipe, stop), name="chain-tar", daemon=True
        )
        producer.start()
        loop = asyncio.get_running_loop()
        sent = 0
        started: float | None = None
        checked = False
        try:
            while True:
                item = await loop.run_in_executor(None, pipe.get)
                if item is None:
                    return
                if isinstance(item, BaseException):
                    log.warning("chain stream failed: %s", item)
                    return
                started = started or time.monotonic()
                sent += len(item)
                yield item
                elapsed = time.monotonic() - started
                if not checked and elapsed >= MONITOR_SECONDS:
                    checked = True
                    mbps = sent * 8 / 1e6 / elapsed
                    if mbps < MIN_MBPS:
                        log.warning(
                            "chain stream too slow (%.1f Mbps): cut, streaming disabled", mbps
                        )
                        self.disabled = True
                        return
        finally:
            stop.set()
            with contextlib.suppress(queue.Empty):
                while True:
                    pipe.get_nowait()  # let a blocked producer see the stop
            log.info("chain stream ended after %d bytes", sent)
            self._stream_lock = False
            if self._start_required:
                await self._start_daemon()


class _PipeWriter:
    def __init__(self, pipe: queue.Queue[bytes | BaseException | None], stop: threading.Event):
        self.pipe = pipe
        self.stop = stop
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        while len(self.buffer) >= CHUNK:
            self._put(bytes(self.buffer[:CHUNK]))
            del self.buffer[:CHUNK]
        return len(data)

    def flush_all(self) -> None:
        if self.buffer:
            self._put(bytes(self.buffer))
            self.buffer.clear()

    def _put(self, item: bytes | BaseException | None) -> None:
        while not self.stop.is_set():
            try:
                self.pipe.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        raise BrokenPipeError("the client left")


def _write_tar(
    base: Path,
    compress: bool,
    pipe: queue.Queue[bytes | BaseException | None],
    stop: threading.Event,
) -> None:
    writer = _PipeWriter(pipe, stop)
    try:
        with tarfile.open(fileobj=writer, mode="w|gz" if compress else "w|") as archive:  # type: ignore[call-overload]
            for folder in FOLDERS:
                archive.add(base / folder, arcname=folder)
        writer.flush_all()
        writer._put(None)
    except BrokenPipeError:
        return
    except Exception as error:
        with contextlib.suppress(BrokenPipeError):
            writer._put(error)
