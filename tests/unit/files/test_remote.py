"""Remote backup URLs (files-and-sync.md §3): only public addresses, the resolved address
pinned (a name resolved once per hop, the request sent to that address with the name in
Host), redirects checked hop by hop, downloads cut at the size limit. Real HTTP servers on
loopback (allowed by the test's `allowed` networks); the DNS answers are the test's."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fluxos.errors import BadParameter, FluxError
from fluxos.files.remote import RemoteFiles, blocked


class Answers:
    """DNS as the test says: one list of addresses per call, in order."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def addresses(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


class Server:
    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        seen: list[dict[str, str]] = []
        self.seen = seen

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, body: bool) -> None:
                seen.append({"path": self.path, "host": self.headers.get("host", "")})
                status, headers, payload = routes.get(self.path, (404, {}, b""))
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if "content-length" not in headers and "transfer-encoding" not in headers:
                    self.send_header("content-length", str(len(payload)))
                self.end_headers()
                if body:
                    if headers.get("transfer-encoding") == "chunked":
                        self.wfile.write(
                            f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n"
                        )
                    else:
                        self.wfile.write(payload)

            def do_GET(self) -> None:
                self._answer(True)

            def do_HEAD(self) -> None:
                self._answer(False)

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    payload = b"archive bytes" * 1000
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {
        "/file": (200, {}, payload),
        "/chunked": (200, {"transfer-encoding": "chunked"}, payload),
        "/to-file": (302, {"location": "/file"}, b""),
        "/to-private": (302, {"location": "http://127.0.0.2/file"}, b""),
        "/loop": (302, {"location": "/loop"}, b""),
    }
    running = Server(routes)
    try:
        yield running
    finally:
        running.close()


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("192.0.2.1", True),
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("::", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("ff02::1", True),
        ("::ffff:10.0.0.1", True),
        ("::ffff:127.0.0.1", True),
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
        ("::ffff:8.8.8.8", False),
    ],
)
def test_only_public_addresses_pass(address: str, refused: bool) -> None:
    assert blocked(ipaddress.ip_address(address)) is refused


@pytest.mark.parametrize(
    ("url", "answers"),
    [
        ("ftp://example.com/x", ["8.8.8.8"]),
        ("file:///etc/passwd", ["8.8.8.8"]),
        ("http:///nohost", ["8.8.8.8"]),
        ("http://localhost/x", ["8.8.8.8"]),
        ("http://LOCALHOST./x", ["8.8.8.8"]),
        ("http://app.localhost/x", ["8.8.8.8"]),
        ("http://metadata.google.internal/x", ["8.8.8.8"]),
        ("http://kubernetes.default.svc/x", ["8.8.8.8"]),
        ("http://127.0.0.1/x", ["8.8.8.8"]),
        ("http://[::ffff:192.168.0.1]/x", ["8.8.8.8"]),
        ("http://2130706433/x", ["127.0.0.1"]),  # a number the resolver turns into loopback
        ("http://inside.example/x", ["10.0.0.5"]),
        ("http://mixed.example/x", ["8.8.8.8", "192.168.0.9"]),
        ("http://nothing.example/x", []),
    ],
)
async def test_urls_to_private_places_are_refused(url: str, answers: list[str]) -> None:
    remote = RemoteFiles(Answers(answers))
    try:
        with pytest.raises(BadParameter):
            await remote.pin(url)
    finally:
        await remote.close()


async def test_the_checked_address_is_the_one_asked(server: Server) -> None:
    # the second answer would rebind the name to a private address: it is never asked for
    dns = Answers(["127.0.0.1"], ["10.0.0.1"])
    remote = RemoteFiles(dns, allowed=["127.0.0.1/32"])
    try:
        size = await remote.size(f"http://backups.example:{server.port}/file")
        assert size == len(b"archive bytes") * 1000
        assert dns.asked == ["backups.example"]
        assert server.seen[-1] == {"path": "/file", "host": f"backups.example:{server.port}"}
    finally:
        await remote.close()


async def test_redirects_are_checked_at_every_hop(server: Server) -> None:
    remote = RemoteFiles(Answers(["127.0.0.1"]), allowed=["127.0.0.1/32"])
    base = f"http://127.0.0.1:{server.port}"
    try:
        chunks = [c async for c in remote.download(f"{base}/to-file", 1_000_000)]
        assert b"".join(chunks) == b"archive bytes" * 1000
        with pytest.raises(BadParameter, match="private or local"):
            await remote.size(f"{base}/to-private")
        assert "/file" not in [s["path"] for s in server.seen[-1:]]
        with pytest.raises(FluxError, match="Too many redirects"):
            await remote.size(f"{base}/loop")
        assert [s["path"] for s in server.seen].count("/loop") == 6
    finally:
        await remote.close()


async def test_downloads_stop_at_the_limit(server: Server) -> None:
    remote = RemoteFiles(Answers(["127.0.0.1"]), allowed=["127.0.0.1/32"])
    base = f"http://127.0.0.1:{server.port}"
    try:
        for path in ("/file", "/chunked"):  # announced, and not announced
            with pytest.raises(BadParameter, match="larger than the limit"):
                async for _chunk in remote.download(f"{base}{path}", 5000):
                    pass
        whole = [c async for c in remote.download(f"{base}/chunked", 13000)]
        assert sum(len(c) for c in whole) == 13000
    finally:
        await remote.close()
