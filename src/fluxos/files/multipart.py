"""Multipart uploads written to disk as they arrive (files-and-sync.md §2, §5).

The body is fed chunk by chunk to python-multipart's push parser; each file part goes
straight into a hidden temporary file in its destination folder (opened through the
folder's `Root`, no link followed) and is renamed to its name only once complete. A part
that fails — too large, empty, the disk full, the client gone — leaves nothing behind.

The answer is upstream's progress stream: `[bytesReceived,bytesExpected]` per tick, the
stored name after each file, an error envelope if something fails, all concatenated.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_multipart.multipart import MultipartParser, parse_options_header

from fluxos.blocking import BlockingRunner
from fluxos.errors import BadParameter, FluxError
from fluxos.files.paths import Root, validate_filename

log = logging.getLogger(__name__)

PROGRESS_EVERY = 1024 * 1024
WRITE_EVERY = 1024 * 1024  # a file's bytes go to disk in runs of this (one thread hop each)
_FIELD_LIMIT = 64 * 1024
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL


class ClientLeft(Exception):
    """The body stream ended because the client went away."""


def error_fragment(error: FluxError) -> str:
    return json.dumps({"status": "error", "data": error.to_data()}, separators=(",", ":"))


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    filename: str | None = None
    size: int = 0
    fd: int | None = None
    temp_name: str | None = None
    final_name: str | None = None
    pending: list[bytearray] = field(default_factory=list)  # received, not yet handed over
    pending_bytes: int = 0
    writing: asyncio.Future[None] | None = None  # the run being written, in a worker


@dataclass(frozen=True)
class UploadRules:
    """Limits of one upload: per file and for the whole request (bytes)."""

    max_file: int
    max_total: int


class MultipartUpload:
    """One multipart request body stored into `directory` (inside `root`).

    `name_for(field_name)` picks each file's name (upstream: the `filename` parameter if
    given, else the multipart field name); it is checked by `validate_filename`.
    """

    def __init__(
        self,
        root: Root,
        directory: Path,
        rules: UploadRules,
        runner: BlockingRunner,
        name_for: Callable[[str], str] = lambda field_name: field_name,
    ) -> None:
        self.root = root
        self.directory = directory
        self.rules = rules
        self.runner = runner
        self.name_for = name_for
        self.stored: list[str] = []
        self.received = 0

    async def progress(
        self, content_type: str, chunks: AsyncIterable[bytes], expected: int | None
    ) -> AsyncIterator[str]:
        """Consume the body, yielding upstream's progress fragments."""
        try:
            boundary = _boundary(content_type)
        except FluxError as error:
            yield error_fragment(error)
            return
        events: list[tuple[str, Any]] = []
        parser = _parser(boundary, events)
        part: _Part | None = None
        directory_fd = self.root.open_directory(self.directory)
        last_tick = 0
        try:
            async for chunk in chunks:
                self.received += len(chunk)
                parser.write(chunk)
                for kind, value in events:
                    if kind == "begin":
                        part = _Part()
                    elif kind == "header" and part is not None:
                        part.headers[value[0].lower()] = value[1]
                    elif kind == "headers_done" and part is not None:
                        await self._open(part, directory_fd)
                    elif kind == "data" and part is not None:
                        await self._write(part, value)
                    elif kind == "end" and part is not None:
                        name = await self._finish(part, directory_fd)
                        part = None
                        if name is not None:
                            yield name
                events.clear()
                if self.received - last_tick >= PROGRESS_EVERY:
                    last_tick = self.received
                    yield json.dumps([self.received, expected], separators=(",", ":"))
            parser.finalize()
            if part is not None:
                raise BadParameter("multipart body ended inside a part")
            if last_tick != self.received:
                yield json.dumps([self.received, expected], separators=(",", ":"))
        except FluxError as error:
            log.info("upload into %s refused: %s", self.directory, error.message)
            yield error_fragment(error)
        except OSError as error:
            message = (
                "Not enough space on the disk for the upload"
                if error.errno == errno.ENOSPC
                else f"Upload failed: {error.strerror or error}"
            )
            log.warning("upload into %s failed: %s", self.directory, error)
            yield error_fragment(FluxError(message, code=error.errno))
        except Exception as error:  # python-multipart's parse errors
            if type(error).__name__ in ("MultipartParseError", "FormParserError"):
                yield error_fragment(BadParameter(f"multipart body is malformed: {error}"))
            else:
                raise
        finally:
            if part is not None:
                await self._discard(part, directory_fd)
            os.close(directory_fd)

    async def _open(self, part: _Part, directory_fd: int) -> None:
        disposition = part.headers.get("content-disposition", "")
        _kind, options = parse_options_header(disposition)
        name = options.get(b"name")
        filename = options.get(b"filename")
        part.name = name.decode("utf-8", "replace") if name is not None else None
        part.filename = filename.decode("utf-8", "replace") if filename is not None else None
        if part.filename is None:
            return  # a plain form field: read and ignored, as upstream
        field_name = part.name if part.name is not None else ""
        # upstream wrote every file to <dir>/<field name> unchecked (traversal via "../x")
        final = validate_filename(self.name_for(field_name))
        part.final_name = final
        part.temp_name = f".{final[:64]}.upload-{secrets.token_hex(6)}"
        part.fd = await self.runner.run(
            os.open,
            part.temp_name,
            _WRITE_FLAGS | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o644,
            dir_fd=directory_fd,
        )

    async def _write(self, part: _Part, data: bytearray) -> None:
        part.size += len(data)
        if part.fd is None:
            if part.size > _FIELD_LIMIT:
                raise BadParameter(f"form field {part.name!r} must be at most {_FIELD_LIMIT} bytes")
            return
        if part.size > self.rules.max_file:
            raise BadParameter(
                f"file {part.final_name} must be at most {self.rules.max_file} bytes", code=413
            )
        if self.received > self.rules.max_total:
            raise BadParameter(f"upload must be at most {self.rules.max_total} bytes", code=413)
        part.pending.append(data)  # the parser's own copy of the chunk: kept, not copied
        part.pending_bytes += len(data)
        if part.pending_bytes >= WRITE_EVERY:
            await self._flush(part, wait=False)

    async def _flush(self, part: _Part, *, wait: bool = True) -> None:
        """Hand the pending run to a worker: the next run is received while this one is
        written (one run in flight at most, so an upload holds about 2 MiB). `wait`
        returns once everything handed over is on disk."""
        await self._written(part)
        if part.pending and part.fd is not None:
            pending, part.pending, part.pending_bytes = part.pending, [], 0
            part.writing = asyncio.ensure_future(self.runner.run(write_runs, part.fd, pending))
        if wait:
            await self._written(part)

    @staticmethod
    async def _written(part: _Part) -> None:
        writing, part.writing = part.writing, None
        if writing is not None:
            await writing

    async def _finish(self, part: _Part, directory_fd: int) -> str | None:
        if part.fd is None:
            return None
        await self._flush(part)
        fd, part.fd = part.fd, None
        os.close(fd)
        assert part.temp_name is not None and part.final_name is not None
        if part.size == 0:
            os.unlink(part.temp_name, dir_fd=directory_fd)
            raise BadParameter(f"file {part.final_name} is empty: empty files are refused")
        os.rename(part.temp_name, part.final_name, src_dir_fd=directory_fd, dst_dir_fd=directory_fd)
        part.temp_name = None
        self.stored.append(part.final_name)
        log.info("upload: %s stored in %s (%d bytes)", part.final_name, self.directory, part.size)
        return part.name if part.name is not None else part.final_name

    async def _discard(self, part: _Part, directory_fd: int) -> None:
        if part.writing is not None:  # its worker still writes to the descriptor
            with contextlib.suppress(Exception):
                await asyncio.shield(part.writing)
            part.writing = None
        if part.fd is not None:
            os.close(part.fd)
            part.fd = None
        if part.temp_name is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part.temp_name, dir_fd=directory_fd)
            log.info(
                "upload: half-written %s removed from %s (%d bytes received)",
                part.final_name,
                self.directory,
                part.size,
            )
            part.temp_name = None


def write_runs(fd: int, runs: list[bytearray]) -> None:
    """Write every run, in order, with as few system calls as the kernel allows."""
    views = [memoryview(run) for run in runs]
    while views:
        written = os.writev(fd, views[:1024])
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if written:
            views[0] = views[0][written:]


def write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _boundary(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        raise BadParameter("Content-Type must be multipart/form-data")
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadParameter("Content-Type must name the multipart boundary")
    return boundary


def _parser(boundary: bytes, events: list[tuple[str, Any]]) -> MultipartParser:
    header: dict[str, bytearray] = {"field": bytearray(), "value": bytearray()}

    def on_part_begin() -> None:
        events.append(("begin", None))

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        events.append(
            (
                "header",
                (header["field"].decode("latin-1"), header["value"].decode("latin-1")),
            )
        )
        header["field"] = bytearray()
        header["value"] = bytearray()

    def on_headers_finished() -> None:
        events.append(("headers_done", None))

    def on_part_data(data: bytes, start: int, end: int) -> None:
        piece = memoryview(data)[start:end]  # copied once, into the part's run of bytes
        if events and events[-1][0] == "data":
            events[-1][1].extend(piece)  # one write per chunk, not per callback
        else:
            events.append(("data", bytearray(piece)))

    def on_part_end() -> None:
        events.append(("end", None))

    return MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
