"""No amplification without credentials, over real sockets against a started node: the
permission comes before the body, `qs` stops at its limits before splitting, and JSON
nested too deeply is a parameter error in the header and in the body."""

from __future__ import annotations

import json
import re
import socket
import threading
from pathlib import Path

import httpx

from tests.integration.edge.conftest import EdgeNode
from tests.support.daemons import Admin

SIXTEEN_MB = 16 * 1024 * 1024
UNAUTHORIZED = {"code": 401, "name": "Unauthorized", "message": "Unauthorized. Access denied."}


def peak_rss(node: EdgeNode) -> int:
    """The node's peak resident memory so far (VmHWM), in bytes."""
    assert node.process is not None
    status = Path(f"/proc/{node.process.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]


def read_answer(sock: socket.socket) -> bytes:
    sock.settimeout(60)  # a node that waits for the body never answers: fail, don't hang
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))  # type: ignore[union-attr]
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk
        rest += chunk
    return head + b"\r\n\r\n" + rest[:length]


def test_the_permission_is_answered_before_the_body_is_sent(
    edge_node: tuple[EdgeNode, Admin],
) -> None:
    node, _ = edge_node
    sock = node.connect("127.0.0.51")
    try:
        sock.sendall(
            b"POST /daemon/sendmany HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % SIXTEEN_MB + b"[" * 1024
        )
        # the answer comes while 16 MB are still unsent: nothing waited for the body
        answer = read_answer(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {
        "status": "error",
        "data": UNAUTHORIZED,
    }


def bytes_read(node: EdgeNode) -> int:
    """What the node has received through read system calls so far (rchar), in bytes."""
    assert node.process is not None
    io = Path(f"/proc/{node.process.pid}/io").read_text()
    return int(re.search(r"rchar: (\d+)", io).group(1))  # type: ignore[union-attr]


def test_a_refused_body_is_not_read_and_the_connection_is_closed(
    edge_node: tuple[EdgeNode, Admin],
) -> None:
    node, _ = edge_node
    before = bytes_read(node)
    sock = node.connect("127.0.0.55")
    sent: list[BaseException | None] = []

    def send_it_all() -> None:
        try:
            sock.sendall(
                b"POST /daemon/sendmany HTTP/1.1\r\nHost: x\r\n"
                b"Content-Length: %d\r\n\r\n" % SIXTEEN_MB + b"[" * SIXTEEN_MB
            )
            sent.append(None)
        except OSError as error:
            sent.append(error)

    sender = threading.Thread(target=send_it_all)
    sender.start()
    try:
        answer = read_answer(sock)
        assert b"\r\nconnection: close\r\n" in answer.lower()
        try:
            rest = sock.recv(65536)  # the node closed: end of stream, or a reset
        except ConnectionResetError:
            rest = b""
        assert rest == b""
        sender.join(timeout=60)
    finally:
        sock.close()
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["data"] == UNAUTHORIZED
    # the sender was cut off: the node neither drained the 16 MB nor kept the connection
    assert len(sent) == 1 and isinstance(sent[0], (BrokenPipeError, ConnectionResetError))
    assert bytes_read(node) - before < 4 * 1024 * 1024


def test_sixteen_mb_without_credentials_while_another_client_is_served(
    edge_node: tuple[EdgeNode, Admin],
) -> None:
    node, _ = edge_node
    before = peak_rss(node)
    results: list[dict[str, object]] = []

    def flood() -> None:
        with node.client("127.0.0.52") as client:
            for body in (b"a&" * (SIXTEEN_MB // 2), b"[" * SIXTEEN_MB):
                results.append(client.post("/daemon/sendmany", content=body).json())

    sender = threading.Thread(target=flood)
    sender.start()
    answered = 0
    with node.client("127.0.0.9") as client:
        while sender.is_alive() or answered < 10:
            assert client.get("/flux/version").json()["status"] == "success"
            answered += 1
    sender.join()
    assert results == [{"status": "error", "data": UNAUTHORIZED}] * 2
    assert peak_rss(node) - before < 64 * 1024 * 1024


def test_a_public_route_parses_a_huge_qs_body_within_its_limits(
    edge_node: tuple[EdgeNode, Admin],
) -> None:
    node, _ = edge_node
    before = peak_rss(node)
    with node.client("127.0.0.53") as client:
        reply = client.post("/id/checkprivilege", content=b"a&" * (SIXTEEN_MB // 2 - 8))
    # the first 1,000 pieces are the body: `a` with no zelid
    assert reply.json() == {
        "status": "error",
        "data": {"name": "Error", "message": "No user Flux ID specificed"},
    }
    # the body itself and its text are held once each; millions of pieces never exist
    assert peak_rss(node) - before < 96 * 1024 * 1024


def test_json_nested_too_deeply_is_a_parameter_error(edge_node: tuple[EdgeNode, Admin]) -> None:
    node, _ = edge_node
    rule = "is JSON nested too deeply (the limit is about 1,000 levels)"
    deep_body = b"[" * 100_000 + b"]" * 100_000
    reply = httpx.post(node.url + "/id/checkprivilege", content=deep_body, timeout=30)
    assert reply.json() == {
        "status": "error",
        "data": {"name": "Error", "message": f"request body {rule}"},
    }
    # the header is capped at 16 KiB in all, so it nests 7,000 deep at most
    deep_header = "[" * 7000 + "]" * 7000
    reply = httpx.get(node.url + "/id/loggedusers", headers={"zelidauth": deep_header})
    assert reply.json() == {
        "status": "error",
        "data": {"name": "Error", "message": f"zelidauth header {rule}"},
    }
    assert "RecursionError" not in node.output()
    assert "Traceback" not in node.output()


def test_qs_brackets_stop_at_depth_five(edge_node: tuple[EdgeNode, Admin]) -> None:
    node, _ = edge_node
    before = peak_rss(node)
    # 1,000 pieces of 4,000 brackets each: nested without a limit, 4 million objects
    deep = "[a]" * 4000
    body = "&".join(f"zelid[{i}]{deep}=x" for i in range(1000)).encode()
    with node.client("127.0.0.54") as client:
        reply = client.post("/id/checkprivilege", content=body)
        # the sixth bracket on stays part of the key, as Node's qs keeps it: the Flux ID is
        # then an object five levels deep, not a text, and is refused as missing
        shallow = client.post("/id/checkprivilege", content=b"zelid[0][a][a][a][a]=x")
    assert reply.json() == shallow.json()
    assert reply.json()["status"] == "error"
    assert peak_rss(node) - before < 64 * 1024 * 1024
    assert "RecursionError" not in node.output()
