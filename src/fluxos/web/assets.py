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
from pathlib import Path, PurePosixPath

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

from fluxos.web.bundle import INDEX

IMMUTABLE = "public, max-age=31536000, immutable"
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


def bundle_response(request: Request, root: Path) -> Response:
    """The answer for `request` from the bundle unpacked in `root`."""
    url_path = request.url.path
    relative = url_path.lstrip("/")
    if relative:
        found = _file_in(root, relative)
        if found is not None:
            return _file(request, found, relative)
        if PurePosixPath(url_path).suffix:
            return not_found()
    return _file(request, root / INDEX, INDEX)


def _file_in(root: Path, relative: str) -> Path | None:
    if "\x00" in relative:
        return None
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _file(request: Request, path: Path, relative: str) -> Response:
    try:
        stat = os.stat(path)
    except OSError:
        return not_found()
    immutable = PurePosixPath(relative).parts[:1] == (HASHED_DIRECTORY,)
    headers = {
        "cache-control": IMMUTABLE if immutable else REVALIDATE,
        "x-content-type-options": "nosniff",
    }
    response = FileResponse(path, media_type=content_type(path), headers=headers, stat_result=stat)
    if _not_modified(request, response.headers.get("etag", "")):
        kept = {k: v for k, v in response.headers.items() if k in ("etag", "cache-control")}
        return Response(status_code=304, headers=kept)
    return response


def _not_modified(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    if not wanted or not etag:
        return False
    return etag in [tag.strip().removeprefix("W/") for tag in wanted.split(",")]
