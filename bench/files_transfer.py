"""FluxShare upload and download through a running node against a plain file copy on the
same disk, and the node's peak RSS during the transfers:

    .venv/bin/python bench/files_transfer.py [--megabytes 1024] [--runs 3]

The node is `fluxos start` with an embedded devnet (the tests' harness). Upload: one
multipart POST of the file to /apps/fluxshare/uploadfile (streamed from disk); download:
GET /apps/fluxshare/getfile written to disk; both by curl. The same curl upload to a bare
socket that discards it shows what the client and loopback allow on this machine. Copy:
`shutil.copyfile` of the same file on the same filesystem (the page cache is left as it
is for all: the machine is shared, and its caches are not ours to drop). Prints the
medians in MB/s, their ratio to the copy (target >= 0.5), the load average and the
node's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.files.test_large_transfer import pattern_file
from tests.integration.system.conftest import start_system_node
from tests.support.rss import PeakRss


def curl(*args: str, headers: dict[str, str]) -> str:
    """curl as the client (a Python client would be the slower end of the pipe)."""
    header_args = [part for key, value in headers.items() for part in ("-H", f"{key}: {value}")]
    done = subprocess.run(
        ["curl", "-sS", "--fail", *header_args, *args], capture_output=True, check=True
    )
    return done.stdout.decode(errors="replace")


class _Sink(socketserver.BaseRequestHandler):
    """Reads a request to its end (as announced) and answers 200: the loopback ceiling."""

    def handle(self) -> None:
        connection: socket.socket = self.request
        data = b""
        while b"\r\n\r\n" not in data:
            data += connection.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        left = length - len(body)
        while left > 0:
            left -= len(connection.recv(min(left, 1 << 20)))
        connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")


def sink_upload(source: Path) -> float:
    """Seconds curl takes to POST `source` as multipart to a bare socket that discards it."""
    with socketserver.TCPServer(("127.0.0.1", 0), _Sink) as server:
        threading.Thread(target=server.handle_request, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        return timed(lambda: curl("-F", f"up.bin=@{source}", url, headers={}))


def timed(action: object) -> float:
    assert callable(action)
    os.sync()
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.megabytes * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="fluxos-files-bench-", dir="/var/tmp") as work:
        tmp = Path(work)
        source = tmp / "source.bin"
        pattern_file(source, size)
        node, admin = start_system_node(tmp)
        try:
            assert node.process is not None
            headers = admin.login(node.url)
            share = node.data_dir / "apps" / "ZelShare"
            copies, uploads, downloads, sinks = [], [], [], []
            with PeakRss(node.process.pid) as peak:
                for run in range(args.runs):
                    target = tmp / f"copy{run}.bin"
                    copies.append(timed(lambda t=target: shutil.copyfile(source, t)))
                    target.unlink()
                    sinks.append(sink_upload(source))

                    def upload() -> None:
                        reply = curl(
                            "-F",
                            f"up.bin=@{source}",
                            f"{node.url}/apps/fluxshare/uploadfile/",
                            headers=headers,
                        )
                        assert '"status":"error"' not in reply, reply[-300:]

                    uploads.append(timed(upload))
                    assert (share / "up.bin").stat().st_size == size

                    def download(run: int = run) -> None:
                        out = tmp / f"down{run}.bin"
                        curl(
                            "-o",
                            str(out),
                            f"{node.url}/apps/fluxshare/getfile/up.bin",
                            headers=headers,
                        )
                        assert out.stat().st_size == size
                        out.unlink()

                    downloads.append(timed(download))
                    (share / "up.bin").unlink()
        finally:
            node.stop()
    mb = size / 1024**2
    copy = mb / statistics.median(copies)
    up = mb / statistics.median(uploads)
    down = mb / statistics.median(downloads)
    sink = mb / statistics.median(sinks)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"file: {args.megabytes} MB, {args.runs} runs, medians; load average {load}")
    print(f"plain copy on the same disk: {copy:8.1f} MB/s")
    print(f"curl upload to a bare socket: {sink:7.1f} MB/s  (the loopback client's ceiling)")
    print(f"upload through the node:     {up:8.1f} MB/s  ({up / copy:.2f}x the copy)")
    print(f"download through the node:   {down:8.1f} MB/s  ({down / copy:.2f}x the copy)")
    print(f"node peak RSS during the transfers: {peak.bytes / 1024**2:.0f} MB")


if __name__ == "__main__":
    main()
