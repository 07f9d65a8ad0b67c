"""The home port (API port − 1) of a started node: `/health` on the API's own server
machinery, so its connection limits hold there too."""

from __future__ import annotations

import socket

import httpx

from tests.integration.edge.conftest import EdgeNode
from tests.integration.edge.test_connection_limits import closed_by_node
from tests.support.daemons import Admin

HOME_PORT = 16126


def test_health_answers_ok(edge_node: tuple[EdgeNode, Admin]) -> None:
    node, _ = edge_node
    base = f"http://{node.host}:{HOME_PORT}"
    with httpx.Client(base_url=base, timeout=30) as client:
        health = client.get("/health")
        assert (health.status_code, health.text) == (200, "OK")
        head = client.head("/health")
        assert (head.status_code, head.content) == (200, b"")
        assert client.get("/health", params={"x": "1"}).text == "OK"
        missing = client.get("/flux/version")
        assert (missing.status_code, missing.text) == (404, "Not Found")
        assert client.post("/health").status_code == 405


def test_the_api_limits_hold_on_the_home_port(edge_node: tuple[EdgeNode, Admin]) -> None:
    node, _ = edge_node

    def connect() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.31", 0))
        sock.connect((node.host, HOME_PORT))
        return sock

    idle = [connect() for _ in range(50)]
    oversized = connect()
    oversized.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
    try:
        outcomes = closed_by_node([*idle, oversized])
    finally:
        for sock in [*idle, oversized]:
            sock.close()
    assert all(out == b"" for out in outcomes[:-1]), "an idle socket got bytes"
    assert outcomes[-1].startswith(b"HTTP/1.1 431 "), outcomes[-1][:80]
