"""Where UI bundles come from: a file, a URL, or the configured release source.

Upstream's release source is GitHub's "latest release" document of the frontend's
repository: its `assets` list names `dist.tar.gz` with a `browser_download_url` and a
`digest` (`sha256:…`). `GithubReleases` reads that document from `[ui] release_url`;
anything serving the same shape (a devnet's or a test's local file server) works too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from fluxos.clock import Clock
from fluxos.errors import FluxError
from fluxos.web.bundle import BundleError, Installed, UiBundles, parse_digest

log = logging.getLogger(__name__)

DEFAULT_ASSET = "dist.tar.gz"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
REBUILT = "Flux UI successfully rebuilt"
REBUILD_FAILED = "Error rebuilding Flux UI"


@dataclass(frozen=True)
class Release:
    tag: str
    url: str  # the bundle's download address
    sha256: str


class ReleaseSource(Protocol):
    """The latest UI release: where its bundle is and the digest it must have."""

    async def latest(self) -> Release: ...


class GithubReleases:
    """A GitHub-shaped "latest release" document at `url`."""

    def __init__(self, http: httpx.AsyncClient, url: str, asset: str = DEFAULT_ASSET) -> None:
        self.http = http
        self.url = url
        self.asset = asset

    async def latest(self) -> Release:
        try:
            reply = await self.http.get(
                self.url, headers={"user-agent": "fluxos", "accept": "application/json"}
            )
        except httpx.HTTPError as error:
            raise FluxError(
                f"{REBUILD_FAILED}: cannot reach the UI release source {self.url} "
                f"([ui] release_url): {_why(error)}"
            ) from None
        if reply.status_code != 200:
            raise FluxError(
                f"{REBUILD_FAILED}: the UI release source {self.url} answered "
                f"HTTP {reply.status_code}"
            )
        try:
            document: Any = reply.json()
        except ValueError:
            raise FluxError(
                f"{REBUILD_FAILED}: the UI release source {self.url} did not answer JSON"
            ) from None
        return self._release(document)

    def _release(self, document: Any) -> Release:
        assets = document.get("assets") if isinstance(document, dict) else None
        found = next(
            (a for a in assets or [] if isinstance(a, dict) and a.get("name") == self.asset),
            None,
        )
        if found is None:
            raise FluxError(f"{REBUILD_FAILED}: the latest release has no {self.asset} asset")
        url, digest = found.get("browser_download_url"), found.get("digest")
        if not isinstance(url, str) or not url:
            raise FluxError(f"{REBUILD_FAILED}: {self.asset} has no browser_download_url")
        if not isinstance(digest, str) or not digest:
            # upstream refuses an asset it cannot check; so do we
            raise FluxError(f"{REBUILD_FAILED}: {self.asset} has no sha256 digest to check")
        return Release(str(document.get("tag_name", "")), url, parse_digest(digest))


def _why(error: BaseException) -> str:
    return str(error) or type(error).__name__


async def download(http: httpx.AsyncClient, url: str, into: Path, max_bytes: int) -> None:
    """Stream `url` into the file `into`, at most `max_bytes`; FluxError when it fails."""
    received = 0
    try:
        async with http.stream("GET", url, headers={"user-agent": "fluxos"}) as reply:
            if reply.status_code != 200:
                raise FluxError(f"downloading {url} answered HTTP {reply.status_code}")
            with into.open("wb") as sink:
                async for chunk in reply.aiter_bytes(1 << 16):
                    received += len(chunk)
                    if received > max_bytes:
                        raise FluxError(f"{url} is larger than the {max_bytes}-byte limit")
                    sink.write(chunk)
    except httpx.HTTPError as error:
        raise FluxError(f"cannot download {url}: {_why(error)}") from None


async def install_from(
    bundles: UiBundles,
    http: httpx.AsyncClient,
    source: str,
    sha256: str | None,
    max_bytes: int,
) -> Installed:
    """Install the bundle at `source`: an http(s) URL (downloaded first) or a local file."""
    if sha256 is not None:
        parse_digest(sha256)  # a malformed digest is refused before anything is fetched
    if not source.startswith(("http://", "https://")):
        return await asyncio.to_thread(_install_file, bundles, source, sha256)
    bundles.root.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".download-", suffix=".tar.gz", dir=bundles.root)
    temporary = Path(name)
    try:
        os.close(handle)
        await download(http, source, temporary, max_bytes)
        return await asyncio.to_thread(bundles.install, temporary, sha256)
    finally:
        await asyncio.to_thread(temporary.unlink, missing_ok=True)


def _install_file(bundles: UiBundles, source: str, sha256: str | None) -> Installed:
    path = Path(source).expanduser()
    if not path.is_file():
        raise BundleError(f"{source}: no such file (give a .tar.gz file or an http(s) URL)")
    return bundles.install(path, sha256)


class UiInstaller:
    """`/flux/rebuildui`: install the latest release of the configured source."""

    def __init__(
        self,
        bundles: UiBundles,
        source: ReleaseSource | None,
        http: httpx.AsyncClient,
        max_bytes: int,
    ) -> None:
        self.bundles = bundles
        self.source = source
        self.http = http
        self.max_bytes = max_bytes
        self._lock = asyncio.Lock()

    async def keep_updated(self, clock: Clock, interval: float) -> None:
        """The "ui updates" loop: install the latest release at start and every `interval`
        seconds (upstream checks at each start); a failure is logged and tried next time."""
        while True:
            try:
                await self.rebuild()
            except FluxError as error:
                log.warning("UI update: %s; trying again in %.0f s", error.message, interval)
            await clock.sleep(interval)

    async def rebuild(self) -> str:
        if self.source is None:
            raise FluxError(
                f"{REBUILD_FAILED}: no UI release source is configured ([ui] release_url is "
                "empty); install a bundle with `fluxos ui install FILE_OR_URL --sha256 DIGEST`"
            )
        async with self._lock:
            release = await self.source.latest()
            installed = self.bundles.installed()
            if installed is not None and installed.digest == release.sha256:
                log.info("UI release %s (%s) is already served", release.tag, release.sha256[:12])
                return REBUILT
            try:
                done = await install_from(
                    self.bundles, self.http, release.url, release.sha256, self.max_bytes
                )
            except FluxError as error:
                raise FluxError(f"{REBUILD_FAILED}: {error.message}") from None
            log.info("UI release %s installed (%s)", release.tag or "?", done.digest[:12])
            return REBUILT
