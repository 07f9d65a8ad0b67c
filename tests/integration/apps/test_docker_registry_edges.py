"""Registry answers `docker-registry` never gives but other registries (or broken ones) do:
a small HTTP server plays them, one repository per behaviour."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from fluxos.apps.dockerregistry import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    RATE_LIMIT_TTL,
    DockerRegistryClient,
)
from fluxos.apps.errors import AppSpecError, ServiceUnavailable
from fluxos.apps.imagerefs import Credentials
from fluxos.clock import ManualClock
from tests.support.servers import serving

CONFIG = json.dumps({"architecture": "arm64", "os": "linux"}).encode()
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()


def manifest(**changes: Any) -> dict[str, Any]:
    document = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/json", "size": len(CONFIG), "digest": CONFIG_DIGEST},
        "layers": [{"mediaType": "x", "size": 1000, "digest": "sha256:" + "0" * 64}],
    }
    document.update(changes)
    return document


class OddRegistry:
    def __init__(self) -> None:
        self.storage_url = ""
        self.calls: list[tuple[str, str | None]] = []
        self.app = Starlette(
            routes=[
                Route("/v2/{name:path}/manifests/{reference}", self.manifests),
                Route("/v2/{name:path}/blobs/{digest}", self.blobs),
                Route("/token", self.token),
            ]
        )

    async def manifests(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.calls.append((request.url.path, request.headers.get("authorization")))
        if name == "odd/schema1":
            return JSONResponse({"schemaVersion": 1, "name": name})
        if name == "odd/mediatype":
            return JSONResponse(manifest(mediaType="application/vnd.example+json"))
        if name == "odd/noheader":
            return JSONResponse({"errors": []}, status_code=401)
        if name == "odd/notoken":
            return JSONResponse(
                {"errors": []},
                status_code=401,
                headers={"WWW-Authenticate": f'Bearer realm="{request.base_url}token"'},
            )
        if name == "odd/down":
            return JSONResponse({"errors": [{"message": "storage offline"}]}, status_code=503)
        if name == "odd/busy":
            return JSONResponse({"errors": [{"message": "toomanyrequests"}]}, status_code=429)
        if name == "odd/huge":
            return Response(b"{" + b" " * (5 * 1024 * 1024) + b"}", media_type=DOCKER_MANIFEST)
        if name == "odd/tampered":
            if request.path_params["reference"].startswith("sha256:"):
                return JSONResponse(manifest(), media_type=DOCKER_MANIFEST)  # not the digest
            child = {"digest": "sha256:" + "1" * 64, "platform": {"architecture": "amd64"}}
            return JSONResponse(
                {"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [child]}
            )
        if name == "odd/private":
            if request.headers.get("authorization") != Credentials("u", "p").basic_header():
                return Response(status_code=401, headers={"WWW-Authenticate": 'Basic realm="x"'})
            return Response(json.dumps(manifest()), media_type=DOCKER_MANIFEST)
        return JSONResponse({"errors": [{"message": "name unknown"}]}, status_code=404)

    async def blobs(self, request: Request) -> Response:
        self.calls.append((request.url.path, request.headers.get("authorization")))
        # the blob lives in object storage elsewhere, as on Docker Hub and ghcr.io
        return RedirectResponse(f"{self.storage_url}/{request.path_params['digest']}", 307)

    async def token(self, request: Request) -> Response:
        return JSONResponse({"expires_in": 60})


@pytest.fixture(scope="module")
def odd() -> Iterator[tuple[OddRegistry, str, list[str | None]]]:
    registry = OddRegistry()
    storage_auth: list[str | None] = []

    async def storage(request: Request) -> Response:
        storage_auth.append(request.headers.get("authorization"))
        return Response(CONFIG, media_type="application/octet-stream")

    storage_app = Starlette(routes=[Route("/{digest}", storage)])
    with serving(registry.app) as url, serving(storage_app, host="127.0.0.2") as storage_url:
        registry.storage_url = storage_url
        yield registry, url.removeprefix("http://"), storage_auth


@pytest.fixture
async def client() -> Any:
    registry = DockerRegistryClient(clock=ManualClock())
    yield registry
    await registry.aclose()


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("schema1", AppSpecError, "Unsupported schemaVersion: 1 for: {tag}"),
        ("mediatype", AppSpecError, "Unsupported Media type: application/vnd.example+json for:"),
        ("noheader", AppSpecError, "Malformed Auth Header: {tag} not available"),
        ("notoken", ServiceUnavailable, "Authentication token from http://"),
        ("down", ServiceUnavailable, "Bad HTTP Status 503: {tag} not available (storage offline)"),
        ("huge", AppSpecError, "Docker image: {tag}: registry answer over 4194304 bytes"),
        ("tampered", AppSpecError, "Docker image: {tag}: registry content does not match digest"),
    ],
)
async def test_odd_answers_become_clear_errors(
    odd: tuple[OddRegistry, str, list[str | None]],
    client: DockerRegistryClient,
    name: str,
    error: type[Exception],
    message: str,
) -> None:
    tag = f"{odd[1]}/odd/{name}:1"
    with pytest.raises(error) as raised:
        await client.inspect(tag)
    assert str(raised.value).startswith(message.format(tag=tag)), str(raised.value)


async def test_credentials_do_not_follow_a_redirect_to_another_host(
    odd: tuple[OddRegistry, str, list[str | None]], client: DockerRegistryClient
) -> None:
    registry, host, storage_auth = odd
    image = await client.inspect(f"{host}/odd/private:1", Credentials("u", "p"))
    assert image.architectures == ["arm64"]
    assert image.sizes == {"arm64": 1000}
    blob_calls = [auth for path, auth in registry.calls if "/blobs/" in path]
    assert blob_calls == [Credentials("u", "p").basic_header()]
    assert storage_auth == [None]


async def test_rate_limits_are_remembered_for_hours(
    odd: tuple[OddRegistry, str, list[str | None]],
) -> None:
    registry, host, _ = odd
    clock = ManualClock()
    client = DockerRegistryClient(clock=clock)
    tag = f"{host}/odd/busy:1"
    try:
        for _ in range(2):
            with pytest.raises(ServiceUnavailable, match="Bad HTTP Status 429"):
                await client.inspect(tag)
        clock.advance(RATE_LIMIT_TTL - 10)
        with pytest.raises(ServiceUnavailable, match="429"):
            await client.inspect(tag)
        asked = [path for path, _ in registry.calls if "/odd/busy/" in path]
        assert len(asked) == 1
        clock.advance(20)
        with pytest.raises(ServiceUnavailable, match="429"):
            await client.inspect(tag)
        assert len([path for path, _ in registry.calls if "/odd/busy/" in path]) == 2
    finally:
        await client.aclose()
