"""Quiet logs over real sockets (issue 12.3): a client gone in the middle of its body is one
INFO line without a traceback, a flood of them is one line and a count, and a node stopped
while requests are open says nothing of their cancellation."""

from __future__ import annotations

import contextlib
import signal
import socket
from pathlib import Path

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.integration.edge.conftest import EdgeNode
from tests.support.daemons import Admin
from tests.support.processes import wait_until

HALF_BODY = b"POST /id/verifylogin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab"


def test_a_client_gone_mid_body_is_one_info_line(edge_node: tuple[EdgeNode, Admin]) -> None:
    node, _ = edge_node
    before = len(node.output().splitlines())
    for _ in range(50):
        sock = node.connect("127.0.0.61")
        sock.sendall(HALF_BODY)
        sock.close()
    line = "POST /id/verifylogin: client disconnected"
    wait_until(lambda: line in node.output(), timeout=60)
    # the node still answers, so every disconnection above has been seen
    with node.client("127.0.0.9") as client:
        assert client.get("/flux/version").json()["status"] == "success"
    new = node.output().splitlines()[before:]
    told = [entry for entry in new if line in entry]
    assert told and all(" INFO " in entry for entry in told), told
    assert len(told) < 5, told  # 50 of them: one line, then a count, not 50 lines
    assert not [entry for entry in new if "Traceback" in entry or "ClientDisconnect" in entry]


def test_stopping_with_requests_open_is_silent(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    data_dir.mkdir()
    (data_dir / "fluxos.toml").write_text("[daemon]\nembedded = false\n")
    node = EdgeNode(data_dir, env={"HOME": str(data_dir / "home")}).start()
    held: list[socket.socket] = []
    try:
        for _ in range(5):
            sock = node.connect("127.0.0.62")
            sock.sendall(HALF_BODY)  # a handler waiting for the rest of its body
            held.append(sock)
        phrase = node.get("/id/loginphrase").json()["data"]
        url = f"ws://{node.host}:{node.port}/ws/id/{phrase}"
        with connect(url, open_timeout=30) as waiting:  # a login page waiting for its login
            code = node.stop(signal.SIGTERM)
            with contextlib.suppress(ConnectionClosed):
                waiting.recv(timeout=30)
    finally:
        for sock in held:
            sock.close()
        node.stop()
    assert code in (0, -signal.SIGTERM)
    output = node.output()
    assert "node stopped" in output
    for noise in ("Traceback", "CancelledError", "Exception in ASGI", " ERROR "):
        assert noise not in output, output[-3000:]
