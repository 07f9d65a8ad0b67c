"""One Docker engine per node of a multi-node apps test.

Every node of the real network runs its own dockerd on its own machine; here each
`NodeDocker` is a private `dockerd` (own data root, exec root, pidfile and unix socket,
see `tests.support.dockerd.DockerDaemon`) started inside a network namespace of its own,
`fxrt-<tag>`, joined to this machine by a veth pair: this machine's side is
`10.215.N.1/24`, the namespace's `10.215.N.2/24` (`.address`, where the node's apps
answer on their host ports). So two nodes may give the same app the same Docker subnet
(`172.23.1.0/24`, as upstream picks) and publish the same host ports, as two machines
would, without clashing.

Images come from one test registry on this machine (`tests/support/registry.py`,
`127.0.0.1:<port>`): inside each namespace a forwarder listens on the same
`127.0.0.1:<port>` and carries the connection to the registry, so a spec's repotag means
the same image on every node (and dockerd treats a loopback registry as insecure, i.e.
plain HTTP, by itself). The forwarder is a thread of the test process whose listening
socket is made inside the namespace (`setns(2)` for that one call).

Needs root (namespaces, dockerd). The shared system dockerd is never touched.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.support.dockerd import DockerDaemon, require_dockerd

CLONE_NEWNET = 0x40000000
SUBNET_PREFIX = "10.215"


def _run(*argv: str) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr or result.stdout}")
    return result.stdout


def _free_subnet() -> int:
    used = _run("ip", "-4", "-o", "addr", "show")
    for _ in range(100):
        candidate = random.randint(1, 254)
        if f" {SUBNET_PREFIX}.{candidate}." not in used:
            return candidate
    raise RuntimeError(f"no free {SUBNET_PREFIX}.N.0/24 test subnet")


class Namespace:
    """A network namespace with loopback up and a veth pair to this machine."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.name = f"fxrt-{tag}"
        self.host_link = f"fxrth{tag}"
        subnet = _free_subnet()
        self.host_address = f"{SUBNET_PREFIX}.{subnet}.1"
        self.address = f"{SUBNET_PREFIX}.{subnet}.2"
        self.made = False

    def create(self) -> Namespace:
        _run("ip", "netns", "add", self.name)
        self.made = True
        _run("ip", "link", "add", self.host_link, "type", "veth", "peer", "name", "eth0",
             "netns", self.name)  # fmt: skip
        _run("ip", "addr", "add", f"{self.host_address}/24", "dev", self.host_link)
        _run("ip", "link", "set", self.host_link, "up")
        inside = self.exec_prefix()
        _run(*inside, "ip", "link", "set", "lo", "up")
        _run(*inside, "ip", "addr", "add", f"{self.address}/24", "dev", "eth0")
        _run(*inside, "ip", "link", "set", "eth0", "up")
        _run(*inside, "ip", "route", "add", "default", "via", self.host_address)
        return self

    def exec_prefix(self) -> list[str]:
        """Run a program in the namespace's network only: `ip netns exec` would also give
        it a /sys of its own, without the cgroup mounts dockerd needs."""
        return ["nsenter", f"--net=/run/netns/{self.name}"]

    def listen(self, host: str, port: int) -> socket.socket:
        """A listening TCP socket inside the namespace (this thread enters it, makes the
        socket and comes back; the socket stays in the namespace)."""
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {self.name}")
            try:
                server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                server.bind((host, port))
                server.listen(64)
            finally:
                if libc.setns(own, CLONE_NEWNET) != 0:  # pragma: no cover - cannot go back
                    os._exit(70)
        finally:
            os.close(own)
            os.close(target)
        return server

    def delete(self) -> None:
        if not self.made:
            return
        subprocess.run(["ip", "link", "del", self.host_link], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)
        self.made = False


class Forwarder:
    """`listen` (a socket inside a namespace) → `target` on this machine, byte for byte."""

    def __init__(self, listening: socket.socket, target: tuple[str, int]) -> None:
        self.listening = listening
        self.target = target
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True, name="netns-forward")

    def start(self) -> Forwarder:
        self.thread.start()
        return self

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listening.accept()
            except OSError:
                return
            threading.Thread(target=self._carry, args=(client,), daemon=True).start()

    def _carry(self, client: socket.socket) -> None:
        with client:
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                return
            with upstream:
                upstream.settimeout(None)
                back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                back.start()
                _pipe(client, upstream)
                back.join()

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.listening.shutdown(socket.SHUT_RDWR)
        self.listening.close()
        self.thread.join(timeout=5)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            source.shutdown(socket.SHUT_RD)


class NodeDocker:
    """A node's own dockerd in its own network namespace (see the module docstring).

    `.url` is the engine's `unix://` socket (reachable from this machine: sockets are
    files), `.address` the node's address inside its namespace (apps' ports answer
    there)."""

    def __init__(self, workdir: Path, registry_ports: tuple[int, ...] = ()) -> None:
        self.workdir = workdir
        self.registry_ports = registry_ports
        self.namespace = Namespace()
        self.daemon = DockerDaemon(workdir, prefix=self.namespace.exec_prefix())
        self.forwarders: list[Forwarder] = []

    @property
    def url(self) -> str:
        return self.daemon.url

    @property
    def address(self) -> str:
        return self.namespace.address

    def start(self) -> NodeDocker:
        require_dockerd()
        try:
            self.namespace.create()
            for port in self.registry_ports:
                listening = self.namespace.listen("127.0.0.1", port)
                self.forwarders.append(Forwarder(listening, ("127.0.0.1", port)).start())
            self.daemon.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            self.daemon.stop()
        finally:
            for forwarder in self.forwarders:
                forwarder.close()
            self.forwarders.clear()
            self.namespace.delete()


@contextmanager
def node_dockers(
    workdir: Path, count: int, registry_ports: tuple[int, ...] = ()
) -> Iterator[list[NodeDocker]]:
    """`count` engines, one per node, stopped (with their containers) at the end."""
    with ExitStack() as stack:
        engines = []
        for index in range(count):
            engine = NodeDocker(workdir / f"dockerd{index}", registry_ports).start()
            stack.callback(engine.stop)
            engines.append(engine)
        yield engines
