"""The release source and the rebuild: GitHub's document shape, served for real on
loopback; an unreachable source and a bad release say what went wrong."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from fluxos.errors import FluxError
from fluxos.web.bundle import UiBundles
from fluxos.web.release import REBUILT, GithubReleases, UiInstaller
from tests.support.processes import free_port
from tests.support.uibundles import release_server, spa_tarball


async def test_rebuild_installs_the_latest_release_once(tmp_path: Path) -> None:
    digest = spa_tarball(tmp_path / "dist.tar.gz", tag="r1")
    bundles = UiBundles(tmp_path / "ui")
    with release_server(tmp_path / "dist.tar.gz", digest, tag="r1") as server:
        async with httpx.AsyncClient() as http:
            source = GithubReleases(http, server.latest_url)
            release = await source.latest()
            assert (release.tag, release.sha256) == ("r1", digest)
            assert release.url == f"{server.base}/download/dist.tar.gz"
            installer = UiInstaller(bundles, source, http, max_bytes=10**6)
            assert await installer.rebuild() == REBUILT
            first = bundles.installed()
            assert first is not None and first.digest == digest
            assert await installer.rebuild() == REBUILT  # already served: nothing to do
            assert bundles.installed() == first
            # over the download limit: refused, the served bundle stays
            server.digest = "ef" * 32
            small = UiInstaller(bundles, source, http, max_bytes=100)
            with pytest.raises(FluxError, match="larger than the 100-byte limit"):
                await small.rebuild()
            assert bundles.installed() == first
    assert not list((tmp_path / "ui").glob(".download-*"))


async def test_an_unreachable_source_is_named(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/repos/x/y/releases/latest"  # nobody listens
    async with httpx.AsyncClient() as http:
        installer = UiInstaller(UiBundles(tmp_path / "ui"), GithubReleases(http, url), http, 1)
        with pytest.raises(FluxError) as raised:
            await installer.rebuild()
    message = raised.value.message
    assert message.startswith("Error rebuilding Flux UI: cannot reach the UI release source")
    assert url in message and "[ui] release_url" in message


async def test_no_source_says_how_to_install_by_hand(tmp_path: Path) -> None:
    async with httpx.AsyncClient() as http:
        installer = UiInstaller(UiBundles(tmp_path / "ui"), None, http, 1)
        with pytest.raises(FluxError, match="fluxos ui install FILE_OR_URL"):
            await installer.rebuild()


@pytest.mark.parametrize(
    ("document", "rule"),
    [
        ({"assets": []}, "has no dist.tar.gz asset"),
        ({"assets": [{"name": "dist.tar.gz", "digest": "sha256:" + "0" * 64}]}, "download_url"),
        ({"assets": [{"name": "dist.tar.gz", "browser_download_url": "http://x/d"}]}, "digest"),
        ([], "has no dist.tar.gz asset"),
    ],
)
def test_releases_without_what_is_needed_are_refused(document: object, rule: str) -> None:
    source = GithubReleases(httpx.AsyncClient(), "http://unused")
    with pytest.raises(FluxError, match=rule):
        source._release(document)
