"""Image checks against in-memory stand-ins for GitHub's lists and the docker registries."""

from collections.abc import Mapping

import pytest
from tests.unit.apps.spec_samples import component, seed_spec, v3_spec, v8_spec

from fluxos.apps.errors import AppSpecError, ServiceUnavailable
from fluxos.apps.formatter import format_spec
from fluxos.apps.images import (
    DevnetImageRegistry,
    DevnetRepositoryLists,
    OfflineImageRegistry,
    OfflineRepositoryLists,
    check_image_architectures,
    check_image_compliance,
)


class Lists:
    def __init__(self, blocked: list[str], vetted: list[str] | None = None) -> None:
        self.blocked, self.vetted = blocked, vetted

    async def blocked_repositories(self) -> list[str] | None:
        return self.blocked

    async def vetted_repositories(self) -> list[str] | None:
        return self.vetted


class Registry:
    def __init__(self, architectures: Mapping[str, list[str]]) -> None:
        self.known = architectures
        self.asked: list[str] = []

    async def architectures(
        self, repotag: str, *, repoauth: str, spec_version: int, app_name: str
    ) -> list[str]:
        self.asked.append(repotag)
        if repotag not in self.known:
            raise AppSpecError(f"Repository {repotag} is not found on Docker Hub")
        return self.known[repotag]


async def test_blocklist_unreachable_is_an_error() -> None:
    with pytest.raises(ServiceUnavailable, match="Unable to communicate with Flux Services"):
        await check_image_compliance(format_spec(v8_spec()), OfflineRepositoryLists())


@pytest.mark.parametrize(
    ("blocked", "message"),
    [
        (["1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC"], "is not allowed to run applications"),
        (["nginx:1.25"], "Image nginx is blocked. Application myapp cannot be spawned."),
        (["evilcorp"], "Organisation evilcorp is blocked."),
    ],
)
async def test_blocked_owner_image_and_organisation(blocked: list[str], message: str) -> None:
    spec = format_spec(
        v8_spec(compose=[component(), component(name="b", repotag="evilcorp/miner:1")])
    )
    if "evilcorp" not in blocked[0]:
        spec["compose"].pop()
    with pytest.raises(AppSpecError, match=message):
        await check_image_compliance(spec, Lists(blocked))


async def test_operator_blocks_unless_vetted() -> None:
    spec = format_spec(v3_spec(repotag="Some/Image:1"))
    await check_image_compliance(spec, Lists([]))
    with pytest.raises(AppSpecError, match="Organisation Some is user blocked"):
        await check_image_compliance(spec, Lists([]), ["some"])
    await check_image_compliance(spec, Lists([], vetted=["some/image:latest"]), ["some"])


async def test_components_must_share_an_architecture() -> None:
    spec = format_spec(v8_spec(compose=[component(), component(name="b", repotag="arm/only:1")]))
    registry = Registry({"nginx:latest": ["amd64", "arm64"], "arm/only:1": ["arm64"]})
    await check_image_architectures(spec, registry)
    registry = Registry({"nginx:latest": ["amd64"], "arm/only:1": ["arm64"]})
    with pytest.raises(AppSpecError, match="do not share a common architecture"):
        await check_image_architectures(spec, registry)


async def test_enterprise_apps_need_amd64_everywhere() -> None:
    spec = format_spec(v8_spec(enterprise="blob", compose=[component(repotag="arm/only:1")]))
    with pytest.raises(AppSpecError, match="must support amd64 architecture on ALL components"):
        await check_image_architectures(spec, Registry({"arm/only:1": ["arm64"]}))


async def test_v7_private_repository_stops_the_checks() -> None:
    spec = format_spec(seed_spec())
    spec["compose"][0]["repoauth"] = "-----BEGIN PGP MESSAGE-----"
    registry = Registry({})
    await check_image_architectures(spec, registry)
    assert registry.asked == []


async def test_missing_image_and_unreachable_registry() -> None:
    with pytest.raises(AppSpecError, match="not found"):
        await check_image_architectures(format_spec(v8_spec()), Registry({}))
    with pytest.raises(ServiceUnavailable):
        await check_image_architectures(format_spec(v8_spec()), OfflineImageRegistry())


async def test_a_devnet_checks_without_the_internet() -> None:
    spec = format_spec(v8_spec())
    # mainnet fails closed (above); a devnet takes unreachable lists as empty...
    await check_image_compliance(spec, DevnetRepositoryLists(OfflineRepositoryLists()))
    # ...and an image whose registry cannot be reached as built for every architecture
    enterprise = format_spec(v8_spec(enterprise="blob"))
    await check_image_architectures(enterprise, DevnetImageRegistry(OfflineImageRegistry()))
    assert await DevnetImageRegistry(OfflineImageRegistry()).architectures(
        "nginx:latest", repoauth="", spec_version=8, app_name="myapp"
    ) == ["amd64", "arm64"]


async def test_a_devnet_still_obeys_what_it_can_fetch() -> None:
    spec = format_spec(v8_spec())
    with pytest.raises(AppSpecError, match="Image nginx is blocked"):
        await check_image_compliance(spec, DevnetRepositoryLists(Lists(["nginx"])))
    with pytest.raises(AppSpecError, match="not found"):
        await check_image_architectures(spec, DevnetImageRegistry(Registry({})))
    arm = format_spec(v8_spec(compose=[component(), component(name="b", repotag="arm/only:1")]))
    registry = DevnetImageRegistry(Registry({"nginx:latest": ["amd64"], "arm/only:1": ["arm64"]}))
    with pytest.raises(AppSpecError, match="do not share a common architecture"):
        await check_image_architectures(arm, registry)
