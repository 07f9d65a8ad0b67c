"""The apps service: one call per route, over in-memory registries and fixed heights."""

from typing import Any

import pytest
from tests.unit.apps.spec_samples import seed_spec, v8_spec

from fluxos.apps.conflicts import InMemoryDirectory
from fluxos.apps.errors import AppSpecError, ServiceUnavailable
from fluxos.apps.formatter import canonical_json, format_spec
from fluxos.apps.images import OfflineImageRegistry, OfflineRepositoryLists
from fluxos.apps.params import MAINNET
from fluxos.apps.quotes import PriceQuoter
from fluxos.apps.registration import AppSpecChecker
from fluxos.apps.service import AppsService
from fluxos.apps.specs import AppSpec
from fluxos.clock import ManualClock
from fluxos.errors import BadParameter

HEIGHT = 2_200_000


class FixedHeight:
    def __init__(self, height: int) -> None:
        self.height = height

    async def current_height(self) -> int:
        return self.height


class PaidSpecs:
    """The global registry's previous-spec lookup, over given specs."""

    def __init__(self, *specs: AppSpec) -> None:
        self.specs = {spec["name"]: spec for spec in specs}
        self.asked: list[tuple[str, int]] = []

    async def previous_spec(self, name: str, before_ms: int) -> AppSpec | None:
        self.asked.append((name, before_ms))
        return self.specs.get(name)


def service(
    *,
    height: int = HEIGHT,
    previous_specs: PaidSpecs | None = None,
    directory: InMemoryDirectory | None = None,
    blocked: tuple[str, ...] = (),
) -> AppsService:
    directory = directory or InMemoryDirectory()
    return AppsService(
        MAINNET,
        checker=AppSpecChecker(MAINNET, directory=directory),  # no image checks offline
        quoter=PriceQuoter(MAINNET),
        images=OfflineImageRegistry(),
        lists=OfflineRepositoryLists(),
        heights=FixedHeight(height),
        clock=ManualClock(1_750_000_000),
        directory=directory,
        previous_specs=previous_specs or PaidSpecs(),
        user_blocked_repositories=blocked,
    )


async def test_numbers_are_brought_to_javascript_form() -> None:
    spec = seed_spec()
    spec["compose"][0].update(cpu=2.5, ram=5000.0, hdd=40.0)
    formatted = await service().verify_registration(spec)
    assert formatted["compose"][0]["ram"] == 5000
    assert isinstance(formatted["compose"][0]["ram"], int)
    assert canonical_json(formatted) == canonical_json(format_spec(seed_spec()))


async def test_the_registry_answers_the_previous_spec() -> None:
    registry = PaidSpecs(format_spec(seed_spec()))
    apps = service(previous_specs=registry)
    assert (await apps.verify_update(dict(seed_spec(), instances=5)))["instances"] == 5
    assert registry.asked == [("blockbookneurai", 1_750_000_000_000)]
    with pytest.raises(
        AppSpecError, match=r"^Flux App newapp does not exist and cannot be updated"
    ):
        await apps.verify_update(dict(seed_spec(), name="newapp"))
    # the spec is checked before the registry is asked
    with pytest.raises(AppSpecError, match=r"^Maximum number of instances is 100"):
        await apps.verify_update(dict(seed_spec(), name="newapp", instances=101))


async def test_update_rules_apply_against_the_previous_spec() -> None:
    previous = format_spec(v8_spec(name="myapp"))
    downgrade = dict(seed_spec(), name="myapp")
    with pytest.raises(AppSpecError, match=r"^Application update rejected: Version changes are"):
        await service(previous_specs=PaidSpecs(previous)).verify_update(downgrade)


async def test_quote_of_an_existing_app_credits_its_remaining_time() -> None:
    spec = v8_spec()
    existing = dict(format_spec(spec), height=HEIGHT - 44_000)
    new = await service().quote(spec)
    update = await service(directory=InMemoryDirectory([existing])).quote(spec)
    assert update["usd"] < new["usd"]


async def test_image_check_applies_the_operator_list_before_asking_a_registry() -> None:
    blocked = service(blocked=("127.0.0.1:5000/evil",))
    with pytest.raises(AppSpecError, match=r"Organisation 127\.0\.0\.1:5000/evil is user blocked"):
        await blocked.check_image("127.0.0.1:5000/evil/miner:1")
    with pytest.raises(AppSpecError, match=r"Image 127\.0\.0\.1:5000/evil is user blocked"):
        await blocked.check_image("127.0.0.1:5000/evil:1")
    with pytest.raises(ServiceUnavailable, match="cannot be reached"):
        await blocked.check_image("127.0.0.1:5000/good/app:1")


async def test_information_follows_the_height() -> None:
    before_pon = await service(height=1_500_000).deployment_information()
    assert before_pon["address"] == MAINNET.address_multisig
    assert before_pon["maxBlocksAllowance"] == 264_000
    now = await service().deployment_information()
    assert now["address"] == MAINNET.address_multisig_b
    assert now["maxBlocksAllowance"] == 1_056_000
    apps = service()
    assert apps.latest_spec_version() == 8
    assert apps.usd_price_table()["minUSDPrice"] == 0.99
    assert apps.registration_information()["usdprice"] == apps.usd_price_table()
    with pytest.raises(ServiceUnavailable, match="Unable to fetch whitelisted repositories"):
        await apps.whitelisted_repositories()


async def test_deeply_nested_bodies_are_refused() -> None:
    body: Any = 1
    for _ in range(5000):
        body = [body]
    with pytest.raises(BadParameter, match="request body: JSON nested too deeply"):
        await service().verify_registration({"version": body})
