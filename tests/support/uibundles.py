"""UI bundles made by the tests: a small single-page app packed like the frontend's
`dist.tar.gz`, and a local release source serving it in GitHub's "latest release" shape."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.servers import serving

# A single-page app: the script renders the route it was opened on, so a test can tell
# the app's shell from a 404 and see which asset files it loaded.
SPA_FILES = {
    "index.html": (
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>test UI {tag}</title>"
        "<link rel='icon' href='/favicon.svg'><link rel='stylesheet' href='/assets/style-3f2a.css'>"
        "<script type='module' src='/assets/app-9c1d.js'></script></head>"
        "<body><h1 id='tag'>test UI {tag}</h1><p id='route'></p></body></html>\n"
    ),
    "assets/app-9c1d.js": (
        "document.getElementById('route').textContent = 'route ' + location.pathname;\n"
    ),
    "assets/style-3f2a.css": "h1 { color: rgb(1, 2, 3); }\n",
    "favicon.svg": "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'></svg>\n",
    "robots.txt": "User-agent: *\n",
}


def spa_tarball(path: Path, tag: str = "v1", top: str = "dist") -> str:
    """Write the test app's `dist.tar.gz` (under a `top` folder, or flat when "") and
    return its sha256."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in SPA_FILES.items():
            data = text.replace("{tag}", tag).encode()
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def tarball_of(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> str:
    """A tarball of hand-made members (for the unpacking rules); returns its sha256."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    path.write_bytes(buffer.getvalue())
    return hashlib.sha256(buffer.getvalue()).hexdigest()


@dataclass
class ReleaseServer:
    """A local stand-in for GitHub's releases API: `latest_url` is the document."""

    base: str
    bundle: Path
    digest: str
    tag: str = "v1"

    @property
    def latest_url(self) -> str:
        return f"{self.base}/repos/RunOnFlux/fluxos-frontend/releases/latest"


@contextmanager
def release_server(bundle: Path, digest: str, tag: str = "v1") -> Iterator[ReleaseServer]:
    """Serve `bundle` as the latest release's `dist.tar.gz` (with `digest` announced)."""
    state = ReleaseServer("", bundle, digest, tag)

    async def latest(_request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "tag_name": state.tag,
                "target_commitish": "master",
                "assets": [
                    {
                        "name": "dist.tar.gz",
                        "browser_download_url": f"{state.base}/download/dist.tar.gz",
                        "digest": f"sha256:{state.digest}",
                        "size": state.bundle.stat().st_size,
                    }
                ],
            }
        )

    async def download(_request: Request) -> Response:
        return Response(state.bundle.read_bytes(), media_type="application/gzip")

    app = Starlette(
        routes=[
            Route("/repos/RunOnFlux/fluxos-frontend/releases/latest", latest),
            Route("/download/dist.tar.gz", download),
        ]
    )
    with serving(app) as base:
        state.base = base
        yield state
