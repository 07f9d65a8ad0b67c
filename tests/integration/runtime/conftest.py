"""A real dockerd and a real registry holding an HTTP-serving busybox image, per session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from fluxos.runtime.engine import DockerEngine
from tests.support.dockerd import docker_host, httpd_image
from tests.support.registry import ImagePusher, require_tools, running_registry


@dataclass(frozen=True)
class Images:
    httpd: str  # serves "hello from fluxos" on port 80 by default
    other: str  # the same content under another repository (a spec update's new image)


@pytest.fixture(scope="session")
def docker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with docker_host(tmp_path_factory.mktemp("dockerd")) as url:
        yield url


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Images]:
    require_tools()
    with running_registry(tmp_path_factory.mktemp("registry-runtime")) as process:
        pusher = ImagePusher(process.url)
        try:
            httpd_image(pusher, "flux/httpd", "1.0")
            httpd_image(pusher, "flux/httpd", "2.0")
        finally:
            pusher.close()
        yield Images(httpd=f"{process.host}/flux/httpd:1.0", other=f"{process.host}/flux/httpd:2.0")


@pytest.fixture
async def engine(docker_url: str) -> AsyncIterator[DockerEngine]:
    engine = DockerEngine(docker_url)
    try:
        yield engine
    finally:
        engine.close()
