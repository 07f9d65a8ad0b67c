"""Serving an installed single-page app: its files with their content types and caching,
`index.html` for the app's own routes, 404 for missing files.

The rules follow upstream's home server: a path that names an existing file gets that
file; a missing path with a file extension (`/llms.txt`, `/assets/x.js`) is a 404, so a
missing asset never answers 200 with the app's shell; any other path is one of the app's
routes and gets `index.html`.

Caching: the frontend's build (Vite) puts content-hashed names under `assets/`, which
never change, so those are cached for a year; everything else (`index.html` above all,
which names the current assets) is revalidated on each use with its ETag.
"""

from __future__ import annotations

import mimetypes
import os
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path, PurePosixPath

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from fluxos.web.bundle import INDEX

IMMUTABLE = "public, max-age=31536000, immutable"
CACHE_BYTES = 64 * 1024 * 1024  # files of the served bundle kept in memory
MAX_CACHED_FILE = 4 * 1024 * 1024
REVALIDATE = "no-cache"
HASHED_DIRECTORY = "assets"

# explicit, so answers do not depend on the host's /etc/mime.types
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    ".wasm": "application/wasm",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".mp3": "audio/mpeg",
    ".pdf": "application/pdf",
}


def content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    if not suffix:  # `version` and the like: text files without an extension
        return "text/plain; charset=utf-8"
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def not_found() -> PlainTextResponse:
    return PlainTextResponse("Not Found", status_code=404)


class BundleFiles:
    """Answers from the bundle unpacked in a release directory. A release never changes
    once installed (a new install is a new directory), so small files are kept in memory
    by path: no thread hop or file open per request."""

    def __init__(self, cache_bytes: int = CACHE_BYTES) -> None:
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[Path, _Cached] = OrderedDict()
        self._cached_bytes = 0

    def response(self, request: Request, root: Path) -> Response:
        """The answer for `request` from the bundle unpacked in `root`."""
        url_path = request.url.path
        relative = url_path.lstrip("/")
        if relative:
            found = _file_in(root, relative)
            if found is not None:
                return self._file(request, found, relative)
            if PurePosixPath(url_path).suffix:
                return not_found()
        return self._file(request, root / INDEX, INDEX)

    def _file(self, request: Request, path: Path, relative: str) -> Response:
        cached = self._cache.get(path)
        if cached is None:
            try:
                stat = os.stat(path)
            except OSError:
                return not_found()
            immutable = PurePosixPath(relative).parts[:1] == (HASHED_DIRECTORY,)
            headers = {
                "cache-control": IMMUTABLE if immutable else REVALIDATE,
                "etag": f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"',
                "last-modified": formatdate(stat.st_mtime, usegmt=True),
                "x-content-type-options": "nosniff",
            }
            if stat.st_size > MAX_CACHED_FILE:
                if _not_modified(request, headers["etag"]):
                    return _unchanged(headers)
                return FileResponse(
                    path, media_type=content_type(path), headers=headers, stat_result=stat
                )
            cached = _Cached(path.read_bytes(), content_type(path), headers)
            self._remember(path, cached)
        else:
            self._cache.move_to_end(path)
        if _not_modified(request, cached.headers["etag"]):
            return _unchanged(cached.headers)
        return Response(cached.body, media_type=cached.media_type, headers=cached.headers)

    def _remember(self, path: Path, cached: _Cached) -> None:
        self._cache[path] = cached
        self._cached_bytes += len(cached.body)
        while self._cached_bytes > self.cache_bytes and self._cache:
            _, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= len(dropped.body)


@dataclass(frozen=True)
class _Cached:
    body: bytes
    media_type: str
    headers: dict[str, str]


def _unchanged(headers: dict[str, str]) -> Response:
    kept = {k: v for k, v in headers.items() if k in ("etag", "cache-control", "last-modified")}
    return Response(status_code=304, headers=kept)


def _file_in(root: Path, relative: str) -> Path | None:
    if "\x00" in relative:
        return None
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _not_modified(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    if not wanted:
        return False
    return etag in [tag.strip().removeprefix("W/") for tag in wanted.split(",")]
