"""Downloads as streams: a file read chunk by chunk, a folder as a zip written while it is
sent. Nothing is held whole in memory, and nothing is read through a symlink: files are
opened by `Root.open_file` (no link followed) and links met while zipping are skipped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import threading
import time
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from fluxos.blocking import BlockingRunner
from fluxos.files.paths import Root

log = logging.getLogger(__name__)

CHUNK = 4 * 1024 * 1024  # a file download's read per worker hop
ZIP_CHUNK = 1024 * 1024  # a zip stream's hand-over to the event loop
_QUEUE_CHUNKS = 4
ZIP_STALL_SECONDS = 120.0  # a client that reads nothing for this long loses its zip
_ZIP_LEVEL = 1  # zlib's fastest: a zip of a large folder is bounded by the disk, not the CPU


@dataclass(frozen=True)
class OpenedFile:
    """A regular file opened for a download: its descriptor and size."""

    fd: int
    size: int
    name: str


def open_for_download(root: Root, path: Path) -> OpenedFile:
    """Open `path` (resolved by `root`) for reading; IsADirectoryError if it is a folder."""
    fd = root.open_file(path)
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise IsADirectoryError(str(path))
    return OpenedFile(fd, info.st_size, path.name)


async def file_chunks(opened: OpenedFile, runner: BlockingRunner) -> AsyncIterator[bytes]:
    """The file's bytes in chunks, each read in a worker thread; the descriptor is closed
    when the stream ends or the client leaves."""
    try:
        offset = 0
        while True:
            data = await runner.run(os.pread, opened.fd, CHUNK, offset)
            if not data:
                return
            offset += len(data)
            yield data
    finally:
        os.close(opened.fd)


class _Stopped(Exception):
    """The consumer of a zip stream went away: stop writing."""


class _ChunkWriter:
    """The file object zipfile writes to: hands full chunks to the event loop, waiting
    while the queue is full (the client reads slower than the disk)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[bytes | None],
        stall_seconds: float = ZIP_STALL_SECONDS,
    ) -> None:
        self.stall_seconds = stall_seconds
        self.stalled = False
        self._loop = loop
        self._queue = queue
        self._buffer = bytearray()
        self.stopped = threading.Event()

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= ZIP_CHUNK:
            self._hand_over(bytes(self._buffer))
            self._buffer.clear()
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def finish(self) -> None:
        if self._buffer:
            self._hand_over(bytes(self._buffer))
            self._buffer.clear()

    def _hand_over(self, chunk: bytes | None) -> None:
        if self.stopped.is_set():
            raise _Stopped()
        future = asyncio.run_coroutine_threadsafe(self._queue.put(chunk), self._loop)
        waited = 0.0
        while True:
            try:
                future.result(timeout=0.5)
                return
            except TimeoutError:
                waited += 0.5
                if waited >= self.stall_seconds:  # the thread is not the client's to keep
                    log.info("zip stream: client read nothing for %.0f s, stopped", waited)
                    self.stalled = True
                    self.stopped.set()
                if self.stopped.is_set():
                    future.cancel()
                    raise _Stopped() from None


def _write_zip(root: Root, folder: Path, writer: _ChunkWriter) -> tuple[int, int]:
    """Zip the contents of `folder` (names relative to it); returns (files, links skipped)."""
    files = skipped = 0
    with zipfile.ZipFile(
        writer,
        "w",
        compression=zipfile.ZIP_DEFLATED,
        compresslevel=_ZIP_LEVEL,
    ) as archive:
        for directory, subdirs, names in os.walk(folder, followlinks=False):
            base = Path(directory)
            for name in sorted(subdirs):
                if (base / name).is_symlink():
                    skipped += 1
            subdirs[:] = sorted(d for d in subdirs if not (base / d).is_symlink())
            for name in sorted(names):
                path = base / name
                relative = path.relative_to(folder).as_posix()
                try:
                    fd = root.open_file(path)
                except OSError:  # a symlink (ELOOP), a socket, a file that just went
                    skipped += 1
                    continue
                try:
                    info = os.fstat(fd)
                    if not stat.S_ISREG(info.st_mode):
                        skipped += 1
                        continue
                    entry = zipfile.ZipInfo(relative, _zip_time(info.st_mtime))
                    entry.external_attr = (info.st_mode & 0xFFFF) << 16
                    entry.file_size = info.st_size
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    with archive.open(entry, "w", force_zip64=True) as member:
                        while data := os.read(fd, CHUNK):
                            member.write(data)
                    files += 1
                finally:
                    os.close(fd)
        writer.finish()
    writer.finish()
    return files, skipped


def _zip_time(mtime: float) -> tuple[int, int, int, int, int, int]:
    moment = time.localtime(max(mtime, 315532800))  # zip dates start in 1980
    return (
        moment.tm_year,
        moment.tm_mon,
        moment.tm_mday,
        moment.tm_hour,
        moment.tm_min,
        moment.tm_sec,
    )


class ZipStreams:
    """Where zip downloads are written: their own pool, and how long a client may read
    nothing before its zip is stopped."""

    def __init__(self, runner: BlockingRunner, stall_seconds: float = ZIP_STALL_SECONDS) -> None:
        self.runner = runner
        self.stall_seconds = stall_seconds

    def chunks(self, root: Root, folder: Path) -> AsyncIterator[bytes]:
        return zip_chunks(root, folder, self.runner, self.stall_seconds)


async def zip_chunks(
    root: Root, folder: Path, runner: BlockingRunner, stall_seconds: float = ZIP_STALL_SECONDS
) -> AsyncIterator[bytes]:
    """The zip of `folder`'s contents, produced in a worker thread as it is sent. The thread
    waits while the client reads slowly, so zips get a pool of their own (`ZipStreams`):
    stalled zip downloads never take the threads of the other file routes, and one whose
    client reads nothing for `stall_seconds` is stopped (the stream ends, cut short)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=_QUEUE_CHUNKS)
    writer = _ChunkWriter(loop, queue, stall_seconds)

    def produce() -> tuple[int, int]:
        try:
            return _write_zip(root, folder, writer)
        finally:
            if not writer.stopped.is_set() or writer.stalled:  # the stream ends, cut short
                asyncio.run_coroutine_threadsafe(queue.put(None), loop)

    task = asyncio.ensure_future(runner.run(produce))
    try:
        while True:
            chunk = await queue.get()
            if chunk is None:
                break
            yield chunk
        try:
            files, skipped = await task
        except _Stopped:
            return  # stalled: the client sees a broken zip
        except Exception:  # the archive is cut short: the client sees a broken zip
            log.exception("zip of %s failed", folder)
            return
        if skipped:
            log.info(
                "zip of %s: %d files, %d links or special files left out", folder, files, skipped
            )
    finally:
        if not task.done():
            writer.stopped.set()
            while not queue.empty():
                queue.get_nowait()
            try:
                await task
            except _Stopped:
                pass
            except Exception:
                log.exception("zip of %s failed", folder)
