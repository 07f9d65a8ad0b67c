"""`POST /apps/checkdockerexistance` over HTTP against local registries.

The route needs a logged-in user: a fresh ZelID logs in to the running node
(`/id/loginphrase`, `/id/verifylogin`) and sends its session as `zelidauth`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.appnodes import node_without_fluxd
from tests.support.identity import Person
from tests.support.processes import NodeProcess
from tests.support.registry import LocalRegistry


@pytest.fixture(scope="module")
def node(
    tmp_path_factory: pytest.TempPathFactory, open_registry: LocalRegistry
) -> Iterator[NodeProcess]:
    env = {
        "FLUXOS_BLOCKED_REPOSITORIES": f"{open_registry.host}/blockedorg",
        "FLUXOS_FLUX_HELPERS_URL": "",
    }
    with node_without_fluxd(tmp_path_factory.mktemp("image-check-node"), env=env) as process:
        yield process


@pytest.fixture(scope="module")
def session(node: NodeProcess) -> str:
    """A logged-in user's `zelidauth` header."""
    person = Person()
    phrase = node.get("/id/loginphrase").json()["data"]
    reply = node.post("/id/verifylogin", content=json.dumps(person.login_body(phrase))).json()
    assert reply["status"] == "success", reply
    return person.credentials(phrase).header_qs()


@pytest.fixture(scope="module")
def api(node: NodeProcess, session: str) -> tuple[str, str]:
    return node.url, session


def check(api: tuple[str, str], body: Any, *, logged_in: bool = True) -> dict[str, Any]:
    url, session = api
    headers = {"zelidauth": session} if logged_in else {}
    response = httpx.post(
        f"{url}/apps/checkdockerexistance", json=body, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


ACCESSIBLE = {"status": "success", "data": {"message": "Repotag is accessible"}}


def error(message: str) -> dict[str, Any]:
    return {"status": "error", "data": {"name": "Error", "message": message}}


@pytest.mark.parametrize("image", ["amd64", "oci", "multi", "multi-oci", "arm64-only"])
def test_public_images_are_accessible(
    api: tuple[str, str], open_registry: LocalRegistry, image: str
) -> None:
    assert check(api, {"repotag": open_registry.repotag(image)}) == ACCESSIBLE


def test_private_image_with_repoauth(api: tuple[str, str], basic_registry: LocalRegistry) -> None:
    repotag = basic_registry.repotag("private")
    repoauth = f"flux:{basic_registry.users['flux']}"
    assert check(api, {"repotag": repotag, "repoauth": repoauth}) == ACCESSIBLE
    assert check(api, {"repotag": repotag}) == error(
        f"Basic authentication required but no credentials provided for {repotag} (repoauth)"
    )
    assert check(api, {"repotag": repotag, "repoauth": "flux:nope"}) == error(
        f"Authentication rejected for: {repotag}"
    )


def test_token_registry_public_and_private(
    api: tuple[str, str], token_registry: LocalRegistry
) -> None:
    assert check(api, {"repotag": token_registry.repotag("public")}) == ACCESSIBLE
    private = token_registry.repotag("private")
    assert check(api, {"repotag": private, "repoauth": "alice:wonderland"}) == ACCESSIBLE
    assert check(api, {"repotag": private}) == error(
        f"Authentication failed: {private} not available or doesn't exist"
    )


def test_missing_tag(api: tuple[str, str], open_registry: LocalRegistry) -> None:
    repotag = f"{open_registry.host}/flux/busybox:does-not-exist"
    assert check(api, {"repotag": repotag}) == error(
        f"Bad HTTP Status 404: {repotag} not available (manifest unknown)"
    )


def test_wrong_architecture(api: tuple[str, str], open_registry: LocalRegistry) -> None:
    single = open_registry.repotag("s390x")
    assert check(api, {"repotag": single}) == error(
        f"Docker image: {single} does not have a valid architecture (s390x; supported:"
        " amd64, arm64)"
    )
    listed = open_registry.repotag("exotic-list")
    assert check(api, {"repotag": listed}) == error(
        f"Docker image: {listed} does not have a valid architecture"
    )


def test_repository_blocked_by_the_node_operator(
    api: tuple[str, str], open_registry: LocalRegistry
) -> None:
    assert check(api, {"repotag": open_registry.repotag("blocked")}) == error(
        f"Organisation {open_registry.host}/blockedorg is user blocked on this node."
    )


def test_bad_requests(api: tuple[str, str]) -> None:
    assert check(api, {}) == error("repotag is required")
    assert check(api, {"repotag": "Bad Tag"}) == error(
        'Image tag: "Bad Tag" should not contain space characters.'
    )
    assert check(api, {"repotag": "a/b:1", "repoauth": "aws-ecr://region=eu"}) == error(
        'repoauth provider aws-ecr:// is not supported by this node; use "username:password"'
    )


def test_seed_sample_needs_docker_hub(api: tuple[str, str]) -> None:
    answer = check(api, {"repotag": "bharathshetty4/supermario:latest"})
    assert answer["status"] == "error"
    assert answer["data"]["message"].startswith(
        "Connection Error: bharathshetty4/supermario:latest not available (registry-1.docker.io:"
    )


def test_anonymous_callers_are_refused(api: tuple[str, str], open_registry: LocalRegistry) -> None:
    assert check(api, {"repotag": open_registry.repotag("amd64")}, logged_in=False) == {
        "status": "error",
        "data": {"code": 401, "name": "Unauthorized", "message": "Unauthorized. Access denied."},
    }
