"""A node started for real (`fluxos start`, no fluxd) whose edge limits the tests probe."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fluxos.api.server import raise_file_limit
from tests.support.daemons import Admin
from tests.support.processes import NodeProcess

# short enough that a test sees the node close what it holds, long enough for a busy machine
EDGE = {
    "first_byte_timeout": 4,
    "header_timeout": 6,
    "body_timeout": 6,
    "per_ip": 1000,
}


class EdgeNode(NodeProcess):
    def client(self, source: str = "127.0.0.9", **kwargs: object) -> httpx.Client:
        """An HTTP client whose connections come from `source` (a loopback address)."""
        transport = httpx.HTTPTransport(local_address=source)
        return httpx.Client(base_url=self.url, transport=transport, timeout=30, **kwargs)  # type: ignore[arg-type]

    def connect(self, source: str) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((source, 0))
        sock.connect((self.host, self.port))
        return sock


@pytest.fixture(scope="package")
def edge_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EdgeNode, Admin]]:
    raise_file_limit(log_it=False)  # this test process holds thousands of sockets too
    data_dir: Path = tmp_path_factory.mktemp("edge-node")
    admin = Admin()
    edge = "\n".join(f"{key} = {value}" for key, value in EDGE.items())
    (data_dir / "fluxos.toml").write_text(
        f'zelid = "{admin.zelid}"\n[daemon]\nembedded = false\n[edge]\n{edge}\n'
    )
    node = EdgeNode(data_dir, env={"HOME": str(data_dir / "home")})
    node.start()
    try:
        yield node, admin
    finally:
        node.stop()
