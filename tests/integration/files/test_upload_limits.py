"""IOUtils uploads at their limits over real HTTP (files-and-sync.md §5): a file larger
than the node's limit and an upload that fills the app's volume both answer an error
fragment, leave no half-written file and give the space back; the request's body limit
refuses a declared length past it before reading it."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from tests.integration.files.conftest import VolumeNode

LIMIT = 4 * 1024 * 1024


@pytest.fixture
def files_settings() -> dict[str, Any]:
    return {"upload_max": LIMIT}


def leftovers(volume: Path) -> list[Path]:
    return [p for p in volume.rglob("*") if ".upload-" in p.name]


def free_bytes(path: Path) -> int:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize


async def test_a_file_over_the_limit_leaves_nothing(volume_node: VolumeNode) -> None:
    v = volume_node
    reply = await v.http.post(
        "/ioutils/fileupload/volume/alpha/web/appdata",
        files={"big.bin": ("big.bin", os.urandom(LIMIT + 1))},
        headers=v.alice,
    )
    assert '"status":"error"' in reply.text and "must be at most" in reply.text, reply.text
    assert not (v.mine / "appdata" / "big.bin").exists() and not leftovers(v.mine)
    # at the limit it is stored
    reply = await v.http.post(
        "/ioutils/fileupload/volume/alpha/web/appdata",
        files={"ok.bin": ("ok.bin", os.urandom(LIMIT - 1024))},
        headers=v.alice,
    )
    assert '"status":"error"' not in reply.text and "]ok.bin[" in reply.text
    assert (v.mine / "appdata" / "ok.bin").stat().st_size == LIMIT - 1024


async def test_a_full_volume_answers_an_error_and_gives_the_space_back(
    volume_node: VolumeNode,
) -> None:
    v = volume_node
    before = free_bytes(v.mine)
    stored = []
    # file by file under the per-file limit until the volume is full
    for index in range(before // (LIMIT - 1024) + 2):
        reply = await v.http.post(
            "/ioutils/fileupload/volume/alpha/web/appdata",
            files={f"f{index}.bin": (f"f{index}.bin", os.urandom(LIMIT - 1024))},
            headers=v.alice,
        )
        if '"status":"error"' in reply.text:
            assert "Not enough space on the disk for the upload" in reply.text, reply.text
            break
        stored.append(index)
    else:
        raise AssertionError("the volume never filled")
    assert not (v.mine / "appdata" / f"f{index}.bin").exists() and not leftovers(v.mine)
    for number in stored:
        assert (v.mine / "appdata" / f"f{number}.bin").stat().st_size == LIMIT - 1024
        (v.mine / "appdata" / f"f{number}.bin").unlink()
    assert free_bytes(v.mine) >= before - 64 * 1024  # the half-written file's blocks came back
    assert (v.theirs / "appdata").exists() and free_bytes(v.theirs) > 0


async def test_a_declared_length_past_the_body_limit_is_refused_unread(
    volume_node: VolumeNode,
) -> None:
    """Permission first, then the declared length: 11 GiB is refused with a few bytes sent
    (a raw socket, since no client sends less than it declares)."""
    v = volume_node
    url = v.http.base_url
    reader, writer = await asyncio.open_connection(url.host, url.port)
    head = (
        "POST /ioutils/fileupload/volume/alpha/web/appdata HTTP/1.1\r\n"
        f"host: {url.host}\r\nzelidauth: {v.alice['zelidauth']}\r\n"
        "content-type: multipart/form-data; boundary=B\r\n"
        f"content-length: {11 * 1024**3}\r\n\r\n--B\r\n"
    )
    writer.write(head.encode())
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(65536), 30)
    writer.close()
    assert b"must be at most" in answer or b" 413 " in answer.split(b"\r\n")[0], answer
    assert not leftovers(v.mine)
