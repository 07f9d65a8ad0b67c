"""The node's Docker engine, typed: docker-py's low-level client run in worker threads.

Every call goes through one `BlockingRunner` of its own, so a slow dockerd never blocks
the event loop nor starves other areas of threads. Failures come back as our errors:
an engine that does not answer is `DockerUnavailable` (503, the node keeps serving),
a refusal is `DockerError` or `NotFound` with dockerd's own explanation.

The client is made on first use and again after a connection failure, so a node started
before its dockerd picks the engine up when it appears.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import resource
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

import docker
import docker.errors
import psutil
import requests.exceptions
from docker.types import EndpointConfig, IPAMConfig, IPAMPool, LogConfig, Mount, Ulimit

from fluxos.blocking import BlockingRunner
from fluxos.errors import NotFound
from fluxos.runtime.errors import DockerError, DockerUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
UPSTREAM_NOFILE = 100000
API_VERSION = "1.41"
API_TIMEOUT = 120.0
"""Seconds one engine call may take (a stop waits for the container's own timeout)."""


@dataclass(frozen=True)
class BindMount:
    """A host directory or file mounted into a container (`rprivate`, as upstream)."""

    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    """Everything `create_container` needs: what upstream's `appDockerCreate` sends."""

    name: str
    image: str
    hostname: str
    command: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    # container port -> host port, for both tcp and udp
    ports: list[tuple[int, int]] = field(default_factory=list)
    nano_cpus: int = 0
    memory: int = 0
    memory_swap: int = 0
    mounts: list[BindMount] = field(default_factory=list)
    network: str | None = None
    ipv4: str | None = None
    extra_hosts: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    log_max_size: str = "20m"
    log_max_file: str = "1"
    nofile: int = UPSTREAM_NOFILE


@dataclass(frozen=True)
class Network:
    name: str
    id: str
    subnets: list[str]
    containers: list[str]


MARGIN = 0.1  # s around a call's span: dockerd stamps its events inside the call, on this clock
STOPPING = ("kill", "die", "stop")


class OwnActions:
    """When this engine's own calls acted on each container, as (begin, end) host times
    and the Docker event actions each call causes: those events in those spans are the
    runtime's, not a host's (runtime.tampering)."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self.wall = wall
        self._spans: dict[str, deque[tuple[frozenset[str], list[float]]]] = {}

    @contextlib.contextmanager
    def acting(self, name: str, *actions: str) -> Iterator[None]:
        span = [self.wall(), math.inf]
        spans = self._spans.setdefault(name.lstrip("/"), deque(maxlen=32))
        spans.append((frozenset(actions), span))
        try:
            yield
        finally:
            span[1] = self.wall()

    def covers(self, name: str, action: str, at: float, *, after: float = MARGIN) -> bool:
        """Whether the engine's own call caused `action` on `name` at host time `at`."""
        return any(
            action in actions and begin - MARGIN <= at <= end + after
            for actions, (begin, end) in self._spans.get(name.lstrip("/"), ())
        )


class DockerEngine:
    """One Docker engine (`base_url` as DOCKER_HOST spells it; "" = the environment's)."""

    def __init__(
        self,
        base_url: str = "",
        *,
        runner: BlockingRunner | None = None,
        off_reason: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.off_reason = off_reason  # set: this node runs no apps, every call says why
        self._runner = runner or BlockingRunner("docker", max_workers=8)
        self._client: docker.APIClient | None = None
        self._lock = threading.Lock()
        self.own = OwnActions()

    @property
    def address(self) -> str:
        return self.base_url or "the default Docker socket"

    # -- plumbing ----------------------------------------------------------------------
    def _socket_path(self) -> str | None:
        url = self.base_url or os.environ.get("DOCKER_HOST", "") or "unix:///var/run/docker.sock"
        return url.removeprefix("unix://") if url.startswith("unix://") else None

    def _probe(self) -> None:
        """Connect to the engine's unix socket ourselves first: docker-py leaks the socket
        of a connection that fails (one ResourceWarning per try while dockerd is away)."""
        path = self._socket_path()
        if path is None:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(5)
            probe.connect(path)

    def _api(self) -> docker.APIClient:
        with self._lock:
            if self._client is None:
                self._probe()
                # a fixed API version: "auto" asks the engine at construction (and leaks
                # that connection when the engine is away); 1.41 is Docker 20.10's
                kwargs: dict[str, Any] = {"timeout": API_TIMEOUT, "version": API_VERSION}
                if self.base_url:
                    kwargs["base_url"] = self.base_url
                    self._client = docker.APIClient(**kwargs)
                else:
                    self._client = docker.from_env(**kwargs).api
            return self._client

    def _forget_client(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _translate(self, error: Exception) -> Exception:
        if isinstance(error, docker.errors.NotFound):
            return NotFound(_explanation(error), code=404)
        if isinstance(error, docker.errors.APIError):
            return DockerError(_explanation(error), code=error.status_code)
        if isinstance(
            error, (docker.errors.DockerException, requests.exceptions.ConnectionError, OSError)
        ):
            self._forget_client()
            return DockerUnavailable(
                f"Docker is not available on this node ({self.address}): {_reason(error)}"
            )
        if isinstance(error, requests.exceptions.RequestException):
            return DockerError(f"Docker did not answer in time: {error}")
        return error

    async def _call(self, fn: Callable[[docker.APIClient], T]) -> T:
        if self.off_reason is not None:
            raise DockerUnavailable(f"Docker is not available on this node: {self.off_reason}")

        def run() -> T:
            return fn(self._api())

        try:
            return await self._runner.run(run)
        except Exception as error:
            translated = self._translate(error)
            if translated is error:
                raise
            raise translated from error

    def close(self) -> None:
        self._forget_client()
        self._runner.close()

    # -- the engine ----------------------------------------------------------------------
    async def ping(self) -> None:
        """Return if the engine answers; raise `DockerUnavailable` if not."""
        await self._call(lambda api: api.ping())

    async def info(self) -> dict[str, Any]:
        return await self._call(lambda api: api.info())

    async def available(self) -> bool:
        try:
            await self.ping()
        except DockerUnavailable:
            return False
        return True

    # -- images ----------------------------------------------------------------------------
    async def list_images(self) -> list[dict[str, Any]]:
        return await self._call(lambda api: api.images())

    async def pull(
        self,
        repotag: str,
        *,
        auth: tuple[str, str] | None = None,
        progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """Pull an image; `progress` sees each status object dockerd sends (in a thread)."""
        repository, tag = split_repotag(repotag)
        auth_config = {"username": auth[0], "password": auth[1]} if auth else None

        def pull(api: docker.APIClient) -> None:
            for event in api.pull(
                repository, tag=tag, stream=True, decode=True, auth_config=auth_config
            ):
                if "error" in event:
                    raise DockerError(str(event["error"]))
                if progress is not None:
                    progress(event)

        await self._call(pull)

    async def remove_image(self, repotag: str) -> None:
        await self._call(lambda api: api.remove_image(repotag))

    # -- networks --------------------------------------------------------------------------
    async def list_networks(self) -> list[Network]:
        def networks(api: docker.APIClient) -> list[Network]:
            found = []
            for summary in api.networks():
                detail = api.inspect_network(summary["Id"])
                configs = (detail.get("IPAM") or {}).get("Config") or []
                found.append(
                    Network(
                        name=detail["Name"],
                        id=detail["Id"],
                        subnets=[c["Subnet"] for c in configs if c.get("Subnet")],
                        containers=[
                            c.get("Name", "") for c in (detail.get("Containers") or {}).values()
                        ],
                    )
                )
            return found

        return await self._call(networks)

    async def create_network(self, name: str, subnet: str, gateway: str) -> str:
        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=subnet, gateway=gateway)])

        def create(api: docker.APIClient) -> str:
            return str(api.create_network(name, driver="bridge", ipam=ipam)["Id"])

        return await self._call(create)

    async def remove_network(self, name: str, *, force: bool = False) -> None:
        def remove(api: docker.APIClient) -> None:
            if force:
                detail = api.inspect_network(name)
                for container in (detail.get("Containers") or {}).values():
                    api.disconnect_container_from_network(
                        container.get("Name", ""), name, force=True
                    )
            api.remove_network(name)

        await self._call(remove)

    async def connect(self, network: str, container: str) -> None:
        await self._call(lambda api: api.connect_container_to_network(container, network))

    # -- containers ------------------------------------------------------------------------
    async def list_containers(self, *, all: bool = False) -> list[dict[str, Any]]:
        return await self._call(lambda api: api.containers(all=all))

    async def inspect(self, name: str) -> dict[str, Any]:
        return await self._call(lambda api: api.inspect_container(name))

    async def inspect_size(self, name: str) -> dict[str, Any]:
        """Inspect with `SizeRw` and `SizeRootFs` (the engine sums the container's layers,
        which takes longer: monitoring asks it once a minute)."""

        def inspect(api: docker.APIClient) -> dict[str, Any]:
            # docker-py's inspect_container has no `size`; the same call with it
            url = api._url("/containers/{0}/json", name)
            return cast(dict[str, Any], api._result(api._get(url, params={"size": 1}), True))

        return await self._call(inspect)

    async def exists(self, name: str) -> bool:
        try:
            await self.inspect(name)
        except NotFound:
            return False
        return True

    async def create(self, spec: ContainerSpec) -> str:
        def create(api: docker.APIClient) -> str:
            bindings: dict[str, int] = {}
            exposed: list[Any] = []
            for container_port, host_port in spec.ports:
                for protocol in ("tcp", "udp"):
                    bindings[f"{container_port}/{protocol}"] = host_port
                    exposed.append((container_port, protocol))
            host_config = api.create_host_config(
                port_bindings=bindings or None,
                nano_cpus=spec.nano_cpus or None,
                mem_limit=spec.memory or None,
                memswap_limit=spec.memory_swap or None,
                mounts=[
                    Mount(
                        m.target,
                        m.source,
                        type="bind",
                        read_only=m.read_only,
                        propagation="rprivate",
                    )
                    for m in spec.mounts
                ],
                ulimits=[Ulimit(name="nofile", soft=spec.nofile, hard=spec.nofile)],
                restart_policy={"Name": "no"},
                network_mode=spec.network,
                extra_hosts=spec.extra_hosts or None,
                log_config=LogConfig(
                    type="json-file",
                    config={"max-size": spec.log_max_size, "max-file": spec.log_max_file},
                ),
            )
            networking = None
            if spec.network:
                endpoint = EndpointConfig(api._version, ipv4_address=spec.ipv4)
                networking = {"EndpointsConfig": {spec.network: endpoint}}
            created = api.create_container(
                spec.image,
                command=spec.command or None,
                name=spec.name,
                hostname=spec.hostname,
                environment=spec.env,
                ports=exposed or None,
                host_config=host_config,
                networking_config=networking,
                labels=spec.labels,
            )
            return str(created["Id"])

        return await self._call(create)

    async def start(self, name: str) -> None:
        with self.own.acting(name, "start"):
            await self._call(lambda api: api.start(name))

    async def stop(self, name: str, grace: int = 10) -> None:
        with self.own.acting(name, *STOPPING):
            await self._call(lambda api: api.stop(name, timeout=grace))

    async def kill(self, name: str) -> None:
        with self.own.acting(name, "kill", "die"):
            await self._call(lambda api: api.kill(name))

    async def restart(self, name: str, grace: int = 10) -> None:
        with self.own.acting(name, *STOPPING, "start", "restart"):
            await self._call(lambda api: api.restart(name, timeout=grace))

    async def pause(self, name: str) -> None:
        with self.own.acting(name, "pause"):
            await self._call(lambda api: api.pause(name))

    async def unpause(self, name: str) -> None:
        with self.own.acting(name, "unpause"):
            await self._call(lambda api: api.unpause(name))

    async def remove(self, name: str, *, force: bool = False) -> None:
        with self.own.acting(name, *STOPPING, "destroy"):
            await self._call(lambda api: api.remove_container(name, force=force, v=True))

    async def logs(
        self, name: str, *, tail: int | str = "all", timestamps: bool = False, since: int = 0
    ) -> bytes:
        """stdout and stderr, demultiplexed into one text in the order written."""

        def logs(api: docker.APIClient) -> bytes:
            kwargs: dict[str, Any] = {"tail": tail, "timestamps": timestamps}
            if since:
                kwargs["since"] = since
            return bytes(api.logs(name, stdout=True, stderr=True, **kwargs))

        return await self._call(logs)

    async def top(self, name: str) -> dict[str, Any]:
        return await self._call(lambda api: api.top(name))

    async def stats(self, name: str) -> dict[str, Any]:
        return await self._call(lambda api: api.stats(name, stream=False))

    async def changes(self, name: str) -> list[dict[str, Any]] | None:
        return await self._call(lambda api: api.diff(name))

    async def exec_stream(
        self, name: str, command: list[str], env: list[str] | None = None
    ) -> AsyncIterator[bytes]:
        """Run `command` in the container; its output as produced (stdout and stderr)."""
        with self.own.acting(name, "exec_create", "exec_start", "exec_die"):
            exec_id = await self._call(
                lambda api: api.exec_create(name, command, environment=env or None)["Id"]
            )
            stream = await self._call(lambda api: _Stream(api.exec_start(exec_id, stream=True)))
            async for chunk in self.iterate(stream):
                yield chunk

    async def exec_attach(
        self, name: str, command: list[str], env: list[str], user: str = ""
    ) -> AttachedExec:
        """Run `command` in the container on a terminal of its own (`docker exec -it`):
        the caller writes its input, reads its output and ends it (`AttachedExec`)."""
        acting = contextlib.ExitStack()
        acting.enter_context(self.own.acting(name, "exec_create", "exec_start", "exec_die"))
        try:
            exec_id = await self._call(
                lambda api: api.exec_create(
                    name, command, stdin=True, tty=True, environment=env or None, user=user
                )["Id"]
            )
            raw = await self._call(lambda api: api.exec_start(exec_id, tty=True, socket=True))
            sock = getattr(raw, "_sock", raw)
            if not isinstance(sock, socket.socket) or hasattr(sock, "getpeercert"):
                with contextlib.suppress(Exception):
                    raw.close()
                raise DockerError("a terminal needs a unix or plain tcp Docker socket")
            sock.setblocking(False)
            return AttachedExec(self, exec_id, sock, raw, acting)
        except BaseException:
            acting.close()
            raise

    async def stats_stream(self, name: str) -> AsyncIterator[dict[str, Any]]:
        """Docker's stats of a container, one object a second, until the caller stops."""
        stream = await self._call(lambda api: _Stream(api.stats(name, stream=True, decode=True)))
        async for sample in self.iterate(stream):
            yield sample

    async def iterate(self, blocking: _Stream[T]) -> AsyncIterator[T]:
        """Drain a docker stream one item per worker-thread step; closed when left."""
        try:
            while True:
                item = await self._runner.run(blocking.next)
                if item is _DONE:
                    return
                yield cast(T, item)
        finally:
            await asyncio.shield(self._runner.run(blocking.close))

    async def events(
        self, since: float, until: float, *, types: tuple[str, ...] = ("container",)
    ) -> list[dict[str, Any]]:
        """Events of these object types between two moments (seconds), oldest first."""

        def events(api: docker.APIClient) -> list[dict[str, Any]]:
            return list(
                api.events(
                    # Docker reads "seconds.fraction" (an int would drop this second's)
                    since=f"{since:.6f}",
                    until=f"{until:.6f}",
                    decode=True,
                    filters={"type": list(types)},
                )
            )

        return await self._call(events)


_DONE: Any = object()


class AttachedExec:
    """An exec on a terminal: its hijacked engine connection, read and written without a
    worker thread; `end()` kills what it runs (the process and its children, when this
    host sees them) and closes the connection."""

    def __init__(
        self,
        engine: DockerEngine,
        exec_id: str,
        sock: socket.socket,
        raw: Any,
        acting: contextlib.ExitStack,
    ) -> None:
        self.engine = engine
        self.exec_id = exec_id
        self._sock = sock
        self._raw = raw
        self._acting = acting
        self._ended = False

    async def read(self, size: int = 65536) -> bytes:
        """The terminal's next output; b"" once the process ended or `end()` was called."""
        if self._ended:
            return b""
        try:
            return await asyncio.get_running_loop().sock_recv(self._sock, size)
        except OSError:
            return b""

    async def write(self, data: bytes) -> None:
        if not self._ended:
            with contextlib.suppress(OSError):
                await asyncio.get_running_loop().sock_sendall(self._sock, data)

    async def resize(self, rows: int, cols: int) -> None:
        await self.engine._call(lambda api: api.exec_resize(self.exec_id, height=rows, width=cols))

    async def inspect(self) -> dict[str, Any]:
        return await self.engine._call(lambda api: api.exec_inspect(self.exec_id))

    async def end(self) -> None:
        """Kill the exec's process tree if it still runs, then close the connection."""
        if self._ended:
            return
        self._ended = True
        try:
            state = await self.inspect()
            if state.get("Running") and state.get("Pid"):
                _kill_tree(int(state["Pid"]))
        except (DockerError, DockerUnavailable, NotFound) as error:
            log.info("exec %s: %s", self.exec_id[:12], error)
        finally:
            for closer in (self._sock.close, getattr(self._raw, "close", None)):
                if closer is not None:
                    with contextlib.suppress(Exception):
                        closer()
            self._acting.close()


def _kill_tree(pid: int) -> None:
    """SIGKILL a process and its descendants (an exec's host pid, as dockerd reports it);
    nothing when this host does not see that process (a remote engine)."""
    try:
        root = psutil.Process(pid)
        processes = [*root.children(recursive=True), root]
    except psutil.Error:
        return
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.kill()


class _Stream(Generic[T]):
    """A docker-py stream and the socket under it, which its own `close()` leaves open
    once the stream has ended (a ResourceWarning per exec otherwise)."""

    def __init__(self, stream: Iterator[T]) -> None:
        self._stream = stream
        self._socket: Any = None
        response = getattr(stream, "_response", None)
        with contextlib.suppress(AttributeError):
            self._socket = response.raw._fp.fp.raw._sock  # type: ignore[union-attr]
        self._response = response

    def next(self) -> Any:
        return next(self._stream, _DONE)

    def close(self) -> None:
        for closer in (
            getattr(self._stream, "close", None),
            getattr(self._socket, "close", None),
            getattr(self._response, "close", None),
        ):
            if closer is not None:
                with contextlib.suppress(Exception):
                    closer()


def default_nofile() -> int:
    """Upstream's open-file limit for containers (100000), or this host's hard limit when
    that is lower (runc cannot raise a container's limit above it in some sandboxes)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        return UPSTREAM_NOFILE
    return min(UPSTREAM_NOFILE, hard)


def split_repotag(repotag: str) -> tuple[str, str]:
    """`host:port/repo:tag` -> (`host:port/repo`, `tag`); no tag is `latest`."""
    if "@" in repotag:
        repository, digest = repotag.split("@", 1)
        return repository, digest
    last = repotag.rsplit("/", 1)[-1]
    if ":" in last:
        repository, tag = repotag.rsplit(":", 1)
        return repository, tag
    return repotag, "latest"


def _explanation(error: docker.errors.APIError) -> str:
    explanation = error.explanation
    if isinstance(explanation, bytes):
        explanation = explanation.decode(errors="replace")
    return str(explanation or error)


def _reason(error: Exception) -> str:
    text = str(error)
    for marker in ("No such file or directory", "Connection refused", "Permission denied"):
        if marker in text:
            return marker
    return text.split("(Caused by", 1)[0].strip() or type(error).__name__
