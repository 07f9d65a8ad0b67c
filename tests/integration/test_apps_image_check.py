"""`POST /apps/checkdockerexistance` over HTTP against local registries.

The route needs a logged-in user. Until the identity service is on main, the node runs
in this process, served by uvicorn on a loopback address, with an `Authorizer` that
grants `user` to one session header; everything else (node, API, registry client,
registries) is real. The process-level node answers 401 (test_apps_routes.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxos.api.app import create_app
from fluxos.api.permissions import Permission
from fluxos.config import load_settings
from fluxos.node import Node
from tests.integration.conftest import LocalRegistry
from tests.support.processes import free_loopback_host
from tests.support.servers import serving

SESSION = "zelid=1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC&signature=test&loginPhrase=test"


class OneUserSession:
    """Grants `user` (any logged-in ZelID) to the holder of one session header."""

    async def authorize(
        self, level: Permission, zelidauth: str | None, app_name: str | None = None
    ) -> bool:
        return level is Permission.PUBLIC or (level is Permission.USER and zelidauth == SESSION)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, open_registry: LocalRegistry) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("image-check-node")
    settings = load_settings(
        data_dir,
        {"blocked_repositories": [f"{open_registry.host}/blockedorg"], "flux_helpers_url": ""},
        environ={},
    )
    node = Node(settings, authorizer=OneUserSession())
    with serving(create_app(node), host=free_loopback_host(), lifespan=True) as url:
        yield url


def check(api: str, body: Any, session: str | None = SESSION) -> dict[str, Any]:
    headers = {"zelidauth": session} if session else {}
    response = httpx.post(
        f"{api}/apps/checkdockerexistance", json=body, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


ACCESSIBLE = {"status": "success", "data": {"message": "Repotag is accessible"}}


def error(message: str) -> dict[str, Any]:
    return {"status": "error", "data": {"name": "Error", "message": message}}


@pytest.mark.parametrize("image", ["amd64", "oci", "multi", "multi-oci", "arm64-only"])
def test_public_images_are_accessible(api: str, open_registry: LocalRegistry, image: str) -> None:
    assert check(api, {"repotag": open_registry.repotag(image)}) == ACCESSIBLE


def test_private_image_with_repoauth(api: str, basic_registry: LocalRegistry) -> None:
    repotag = basic_registry.repotag("private")
    repoauth = f"flux:{basic_registry.users['flux']}"
    assert check(api, {"repotag": repotag, "repoauth": repoauth}) == ACCESSIBLE
    assert check(api, {"repotag": repotag}) == error(
        f"Basic authentication required but no credentials provided for {repotag} (repoauth)"
    )
    assert check(api, {"repotag": repotag, "repoauth": "flux:nope"}) == error(
        f"Authentication rejected for: {repotag}"
    )


def test_token_registry_public_and_private(api: str, token_registry: LocalRegistry) -> None:
    assert check(api, {"repotag": token_registry.repotag("public")}) == ACCESSIBLE
    private = token_registry.repotag("private")
    assert check(api, {"repotag": private, "repoauth": "alice:wonderland"}) == ACCESSIBLE
    assert check(api, {"repotag": private}) == error(
        f"Authentication failed: {private} not available or doesn't exist"
    )


def test_missing_tag(api: str, open_registry: LocalRegistry) -> None:
    repotag = f"{open_registry.host}/flux/busybox:does-not-exist"
    assert check(api, {"repotag": repotag}) == error(
        f"Bad HTTP Status 404: {repotag} not available (manifest unknown)"
    )


def test_wrong_architecture(api: str, open_registry: LocalRegistry) -> None:
    single = open_registry.repotag("s390x")
    assert check(api, {"repotag": single}) == error(
        f"Docker image: {single} does not have a valid architecture (s390x; supported:"
        " amd64, arm64)"
    )
    listed = open_registry.repotag("exotic-list")
    assert check(api, {"repotag": listed}) == error(
        f"Docker image: {listed} does not have a valid architecture"
    )


def test_repository_blocked_by_the_node_operator(api: str, open_registry: LocalRegistry) -> None:
    assert check(api, {"repotag": open_registry.repotag("blocked")}) == error(
        f"Organisation {open_registry.host}/blockedorg is user blocked on this node."
    )


def test_bad_requests(api: str) -> None:
    assert check(api, {}) == error("repotag is required")
    assert check(api, {"repotag": "Bad Tag"}) == error(
        'Image tag: "Bad Tag" should not contain space characters.'
    )
    assert check(api, {"repotag": "a/b:1", "repoauth": "aws-ecr://region=eu"}) == error(
        'repoauth provider aws-ecr:// is not supported by this node; use "username:password"'
    )


def test_seed_sample_needs_docker_hub(api: str) -> None:
    answer = check(api, {"repotag": "bharathshetty4/supermario:latest"})
    assert answer["status"] == "error"
    assert answer["data"]["message"].startswith(
        "Connection Error: bharathshetty4/supermario:latest not available (registry-1.docker.io:"
    )


def test_anonymous_callers_are_refused(api: str, open_registry: LocalRegistry) -> None:
    assert check(api, {"repotag": open_registry.repotag("amd64")}, session=None) == {
        "status": "error",
        "data": {"code": 401, "name": "Unauthorized", "message": "Unauthorized. Access denied."},
    }
