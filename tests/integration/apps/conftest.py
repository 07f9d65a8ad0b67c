"""Registries shared by the apps integration tests: started once per session, images pushed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.registry import (
    BearerLogin,
    ImagePusher,
    LocalRegistry,
    TokenService,
    htpasswd_auth,
    require_tools,
    running_registry,
    token_auth,
)
from tests.support.servers import serving


@pytest.fixture(scope="session")
def open_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """No auth: single-arch (Docker and OCI), multi-arch and foreign-architecture images."""
    require_tools()
    with running_registry(tmp_path_factory.mktemp("registry-open")) as process:
        registry = LocalRegistry(process)
        pusher = ImagePusher(process.url)
        try:
            pusher.image("flux/busybox", "1.36")
            registry.images["amd64"] = f"{process.host}/flux/busybox:1.36"
            pusher.image("flux/busybox-oci", "1.0", oci=True)
            registry.images["oci"] = f"{process.host}/flux/busybox-oci:1.0"
            pusher.multi_arch("flux/multi", "latest", ["amd64", "arm64", "s390x"])
            registry.images["multi"] = f"{process.host}/flux/multi:latest"
            pusher.multi_arch("flux/multi-oci", "latest", ["arm64", "amd64"], oci=True)
            registry.images["multi-oci"] = f"{process.host}/flux/multi-oci:latest"
            pusher.multi_arch("flux/armonly", "latest", ["arm64"])
            registry.images["arm64-only"] = f"{process.host}/flux/armonly:latest"
            pusher.image("flux/mainframe", "latest", "s390x")
            registry.images["s390x"] = f"{process.host}/flux/mainframe:latest"
            pusher.multi_arch("flux/exotic", "latest", ["s390x", "ppc64le"])
            registry.images["exotic-list"] = f"{process.host}/flux/exotic:latest"
            pusher.image("blockedorg/busybox", "latest")
            registry.images["blocked"] = f"{process.host}/blockedorg/busybox:latest"
        finally:
            pusher.close()
        yield registry


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """htpasswd basic auth on every repository, as a self-hosted private registry has."""
    require_tools()
    workdir = tmp_path_factory.mktemp("registry-basic")
    users = {"flux": "s3cret:with-colon"}
    with running_registry(workdir, htpasswd_auth(workdir, users)) as process:
        registry = LocalRegistry(process, users=users)
        pusher = ImagePusher(process.url, auth=("flux", users["flux"]))
        try:
            pusher.image("team/private", "v1")
        finally:
            pusher.close()
        registry.images["private"] = f"{process.host}/team/private:v1"
        yield registry


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """Bearer tokens from a token service, Docker Hub's scheme: public and private repos."""
    require_tools()
    workdir = tmp_path_factory.mktemp("registry-token")
    users = {"alice": "wonderland"}
    tokens = TokenService(workdir, users, private={"alice/private"})
    with (
        serving(tokens.app) as token_url,
        running_registry(workdir, token_auth(tokens, token_url)) as process,
    ):
        registry = LocalRegistry(process, users=users, tokens=tokens)
        pusher = ImagePusher(process.url, auth=BearerLogin(*tokens.pusher))
        try:
            pusher.multi_arch("alice/public", "latest", ["amd64", "arm64"])
            pusher.image("alice/private", "latest")
        finally:
            pusher.close()
        registry.images["public"] = f"{process.host}/alice/public:latest"
        registry.images["private"] = f"{process.host}/alice/private:latest"
        yield registry
