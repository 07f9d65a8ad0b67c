"""The Docker registry client against real `docker-registry` processes (no auth, htpasswd
basic auth, Bearer tokens) holding images pushed over the registry HTTP API."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fluxos.apps.dockerregistry import DockerRegistryClient
from fluxos.apps.errors import AppSpecError, ServiceUnavailable
from fluxos.apps.imagerefs import Credentials
from fluxos.apps.params import MAINNET
from fluxos.clock import ManualClock
from tests.support.processes import free_port
from tests.support.registry import LocalRegistry, busybox_layer


@pytest.fixture
async def client():
    registry = DockerRegistryClient(clock=ManualClock())
    yield registry
    await registry.aclose()


async def test_single_docker_manifest_reads_architecture_from_config_blob(
    client: DockerRegistryClient, open_registry: LocalRegistry
) -> None:
    image = await client.inspect(open_registry.repotag("amd64"))
    layer, _ = busybox_layer()
    assert image.architectures == ["amd64"]
    assert image.sizes == {"amd64": len(layer)}


async def test_oci_manifest_without_media_type_field_uses_content_type(
    client: DockerRegistryClient, open_registry: LocalRegistry
) -> None:
    image = await client.inspect(open_registry.repotag("oci"))
    assert image.architectures == ["amd64"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("multi", ["amd64", "arm64"]), ("multi-oci", ["arm64", "amd64"]), ("arm64-only", ["arm64"])],
)
async def test_manifest_lists_and_oci_indexes_give_supported_platforms(
    client: DockerRegistryClient, open_registry: LocalRegistry, name: str, expected: list[str]
) -> None:
    image = await client.inspect(open_registry.repotag(name))
    assert image.architectures == expected
    layer, _ = busybox_layer()
    assert set(image.sizes.values()) == {len(layer)}


@pytest.mark.parametrize("name", ["s390x", "exotic-list"])
async def test_images_without_amd64_or_arm64_are_refused(
    client: DockerRegistryClient, open_registry: LocalRegistry, name: str
) -> None:
    repotag = open_registry.repotag(name)
    with pytest.raises(AppSpecError, match=f"Docker image: {repotag} does not have a valid arch"):
        await client.inspect(repotag)


async def test_missing_tag_and_missing_repository_name_the_registry_answer(
    client: DockerRegistryClient, open_registry: LocalRegistry
) -> None:
    missing_tag = f"{open_registry.host}/flux/busybox:9.9"
    with pytest.raises(AppSpecError) as missing:
        await client.inspect(missing_tag)
    assert missing.value.message == (
        f"Bad HTTP Status 404: {missing_tag} not available (manifest unknown)"
    )
    with pytest.raises(AppSpecError, match=r"Bad HTTP Status 404: .*not available"):
        await client.inspect(f"{open_registry.host}/nobody/nothing:latest")


async def test_image_size_over_the_limit_is_refused(open_registry: LocalRegistry) -> None:
    layer, _ = busybox_layer()
    small = DockerRegistryClient(replace(MAINNET, max_image_size=len(layer) - 1))
    try:
        repotag = open_registry.repotag("multi")
        with pytest.raises(AppSpecError, match=f"Docker image: {repotag} size is over Flux limit"):
            await small.inspect(repotag)
    finally:
        await small.aclose()


async def test_architectures_protocol_method(
    client: DockerRegistryClient, open_registry: LocalRegistry
) -> None:
    architectures = await client.architectures(
        open_registry.repotag("multi"), repoauth="", spec_version=8, app_name="demo"
    )
    assert architectures == ["amd64", "arm64"]


# -- basic auth (htpasswd) --------------------------------------------------------------
async def test_basic_auth_with_repoauth_credentials(
    client: DockerRegistryClient, basic_registry: LocalRegistry
) -> None:
    password = basic_registry.users["flux"]  # contains a colon: split at the first one only
    architectures = await client.architectures(
        basic_registry.repotag("private"),
        repoauth=f"flux:{password}",
        spec_version=8,
        app_name="demo",
    )
    assert architectures == ["amd64"]


async def test_basic_auth_without_or_with_wrong_credentials(
    client: DockerRegistryClient, basic_registry: LocalRegistry
) -> None:
    repotag = basic_registry.repotag("private")
    with pytest.raises(AppSpecError, match="Basic authentication required but no credentials"):
        await client.inspect(repotag)
    with pytest.raises(AppSpecError, match=f"^Authentication rejected for: {repotag}$"):
        await client.inspect(repotag, Credentials("flux", "wrong"))


# -- Bearer tokens (Docker Hub / ghcr scheme) -------------------------------------------
async def test_bearer_token_flow_for_public_image(
    client: DockerRegistryClient, token_registry: LocalRegistry
) -> None:
    assert token_registry.tokens is not None
    before = len(token_registry.tokens.requests)
    image = await client.inspect(token_registry.repotag("public"))
    assert image.architectures == ["amd64", "arm64"]
    asked = token_registry.tokens.requests[before:]
    # one token for the repository, reused for both platform manifests
    assert asked == [{"user": None, "scope": "repository:alice/public:pull", "ok": True}]


async def test_bearer_private_image_needs_the_right_login(
    client: DockerRegistryClient, token_registry: LocalRegistry
) -> None:
    repotag = token_registry.repotag("private")
    with pytest.raises(AppSpecError, match=f"Authentication failed: {repotag} not available or"):
        await client.inspect(repotag)
    with pytest.raises(AppSpecError, match=f"^Authentication rejected for: {repotag}$"):
        await client.inspect(repotag, Credentials("alice", "looking-glass"))
    image = await client.inspect(repotag, Credentials("alice", "wonderland"))
    assert image.architectures == ["amd64"]


# -- caching, outages, references -------------------------------------------------------
async def test_results_are_cached_until_their_lifetime_ends(open_registry: LocalRegistry) -> None:
    clock = ManualClock()
    client = DockerRegistryClient(clock=clock)
    repotag = f"{open_registry.host}/flux/late:1"
    try:
        with pytest.raises(AppSpecError, match="404"):
            await client.inspect(repotag)
        from tests.support.registry import ImagePusher

        pusher = ImagePusher(open_registry.process.url)
        try:
            pusher.image("flux/late", "1")
        finally:
            pusher.close()
        with pytest.raises(AppSpecError, match="404"):
            await client.inspect(repotag)  # the refusal is still cached
        clock.advance(3601)
        assert (await client.inspect(repotag)).architectures == ["amd64"]
    finally:
        await client.aclose()


async def test_unreachable_registry_is_a_service_error_not_a_spec_error(
    client: DockerRegistryClient,
) -> None:
    repotag = f"127.0.0.1:{free_port()}/flux/busybox:1"
    with pytest.raises(ServiceUnavailable, match=f"Connection Error: {repotag} not available"):
        await client.inspect(repotag)


async def test_bad_repotags_fail_before_any_request(client: DockerRegistryClient) -> None:
    with pytest.raises(AppSpecError, match="should not contain space characters"):
        await client.inspect("flux/busy box:1")
    with pytest.raises(AppSpecError, match="has no tag"):
        await client.inspect("127.0.0.1:1/flux/busybox")
    with pytest.raises(AppSpecError, match="repoauth provider aws-ecr:// is not supported"):
        await client.architectures(
            "127.0.0.1:1/a/b:1", repoauth="aws-ecr://region=x", spec_version=8, app_name="x"
        )
