"""A 1 GB FluxShare upload and download through a running node: streamed both ways, the
node process's resident memory stays under 200 MB, the bytes come back identical."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.files.conftest import ShareNode
from tests.support.rss import PeakRss

GB = 1024**3
CHUNK = 4 * 1024 * 1024
RSS_LIMIT = 200 * 1024**2


def pattern_file(path: Path, size: int) -> str:
    """A file of `size` bytes (random blocks, repeated); its sha256."""
    block = os.urandom(CHUNK)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        written = 0
        while written < size:
            piece = block[: min(CHUNK, size - written)]
            out.write(piece)
            digest.update(piece)
            written += len(piece)
    return digest.hexdigest()


def multipart(path: Path, field: str, boundary: str) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{field}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


@pytest.mark.slow
def test_a_gigabyte_up_and_down_in_little_memory(share_node: ShareNode) -> None:
    share = share_node
    source = share.tmp / "big.bin"
    digest = pattern_file(source, GB)
    assert share.node.process is not None
    boundary = "fluxosfilesboundary"
    headers = {
        **share.headers,
        "content-type": f"multipart/form-data; boundary={boundary}",
    }
    with PeakRss(share.node.process.pid) as peak, httpx.Client(timeout=600) as http:
        reply = http.post(
            f"{share.node.url}/apps/fluxshare/uploadfile/",
            content=multipart(source, "big.bin", boundary),
            headers=headers,
        )
        assert reply.status_code == 200 and '"status":"error"' not in reply.text, reply.text[-500:]
        assert (share.share / "big.bin").stat().st_size == GB
        received = hashlib.sha256()
        size = 0
        with http.stream(
            "GET", f"{share.node.url}/apps/fluxshare/getfile/big.bin", headers=share.headers
        ) as download:
            assert download.status_code == 200
            for chunk in download.iter_bytes(CHUNK):
                received.update(chunk)
                size += len(chunk)
    assert size == GB and received.hexdigest() == digest
    assert peak.bytes < RSS_LIMIT, f"peak RSS {peak.bytes / 1024**2:.0f} MB"
    source.unlink()
    (share.share / "big.bin").unlink()
