"""Connection limits over real sockets against a started node: idle, half-sent and
oversized requests are closed, a per-IP cap refuses early, and a normal client from
another address keeps getting answers throughout."""

from __future__ import annotations

import re
import selectors
import socket
import time
from pathlib import Path

from tests.integration.edge.conftest import EdgeNode
from tests.support.daemons import Admin
from tests.support.processes import wait_until

CLOSE_WAIT = 60.0  # generous: the node's timeouts are 4-6 s, the machine may be busy


def closed_by_node(socks: list[socket.socket], within: float = CLOSE_WAIT) -> list[bytes]:
    """Wait until the node has closed every socket; what each received before EOF."""
    selector = selectors.DefaultSelector()
    received: dict[socket.socket, bytes] = {}
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        received[sock] = b""
    open_count = len(socks)
    deadline = time.monotonic() + within
    while open_count and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1.0):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if data:
                received[sock] += data
                continue
            selector.unregister(sock)
            open_count -= 1
    selector.close()
    assert open_count == 0, f"{open_count} of {len(socks)} connections still open"
    return [received[sock] for sock in socks]


def answers_from(node: EdgeNode, source: str, times: int = 20) -> None:
    with node.client(source) as client:
        for _ in range(times):
            reply = client.get("/flux/version")
            assert reply.status_code == 200
            assert reply.json()["status"] == "success"


def test_idle_and_half_sent_connections_are_closed_while_others_are_served(
    edge_node: tuple[EdgeNode, Admin],
) -> None:
    node, _ = edge_node
    idle = [node.connect("127.0.0.21") for _ in range(1000)]
    half_head = [node.connect("127.0.0.22") for _ in range(1000)]
    for sock in half_head:
        sock.sendall(b"GET /flux/version HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    half_body = [node.connect("127.0.0.23") for _ in range(500)]
    for sock in half_body:
        sock.sendall(b"POST /id/verifylogin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")
    try:
        answers_from(node, "127.0.0.9")
        outcomes = closed_by_node(idle + half_head + half_body)
        # the node still serves once they are gone
        answers_from(node, "127.0.0.9", times=3)
    finally:
        for sock in idle + half_head + half_body:
            sock.close()
    assert all(out == b"" for out in outcomes[:1000]), "an idle socket got bytes"
    heads = outcomes[1000:2000]
    assert all(out.startswith(b"HTTP/1.1 408 ") for out in heads), heads[0]
    # counted, and told at most once a minute
    for reason in ("no request (127.0.0.21)", "headers not sent in time (127.0.0.22)"):
        wait_until(lambda reason=reason: reason in node.output(), timeout=90)
    wait_until(lambda: "body not sent in time (127.0.0.23)" in node.output(), timeout=90)
    reports = [line for line in node.output().splitlines() if "refused or closed" in line]
    assert len(reports) <= 3, reports


def test_the_per_ip_cap_refuses_before_reading(edge_node: tuple[EdgeNode, Admin]) -> None:
    node, _ = edge_node
    held = [node.connect("127.0.0.31") for _ in range(1000)]
    try:
        # allow the node to accept the first thousand before the extra ones arrive
        answers_from(node, "127.0.0.9", times=2)
        extra = [node.connect("127.0.0.31") for _ in range(50)]
        try:
            outcomes = closed_by_node(extra, within=20.0)
            assert all(out == b"" for out in outcomes)
            answers_from(node, "127.0.0.9")
        finally:
            for sock in extra:
                sock.close()
    finally:
        for sock in held:
            sock.close()
    wait_until(lambda: "per-IP connection cap (127.0.0.31)" in node.output(), timeout=90)
    line = next(line for line in node.output().splitlines() if "per-IP connection cap" in line)
    assert re.search(r"\d+ × per-IP connection cap \(127\.0\.0\.31\)", line), line


def test_a_head_over_16_kib_is_refused_with_431(edge_node: tuple[EdgeNode, Admin]) -> None:
    node, _ = edge_node
    sock = node.connect("127.0.0.41")
    try:
        sock.sendall(
            b"GET /flux/version HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n"
        )
        (reply,) = closed_by_node([sock])
    finally:
        sock.close()
    assert reply.startswith(b"HTTP/1.1 431 ")
    with node.client("127.0.0.41") as client:  # a head just under the cap is fine
        reply_ok = client.get("/flux/version", headers={"x-big": "a" * 15000})
        assert reply_ok.json()["status"] == "success"


def test_the_open_file_limit_is_raised(edge_node: tuple[EdgeNode, Admin]) -> None:
    node, _ = edge_node
    assert node.process is not None
    limits = Path(f"/proc/{node.process.pid}/limits").read_text()
    soft, hard = re.search(r"Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)", limits).groups()  # type: ignore[union-attr]
    assert soft == hard, f"soft limit {soft} left below the hard limit {hard}"
