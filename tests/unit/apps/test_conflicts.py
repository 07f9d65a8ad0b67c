import pytest
from tests.unit.apps.spec_samples import v8_spec

from fluxos.apps.conflicts import InMemoryDirectory, check_name_available
from fluxos.apps.errors import AppSpecError
from fluxos.apps.formatter import format_spec
from fluxos.apps.params import MAINNET

HEIGHT = 2_200_000


def registered(name: str, height: int, expire: int = 88000) -> dict[str, object]:
    return dict(format_spec(v8_spec(name=name, expire=expire)), height=height, hash="aa" * 32)


async def test_free_name_passes() -> None:
    await check_name_available(
        format_spec(v8_spec()), InMemoryDirectory([registered("other", HEIGHT)])
    )


async def test_registered_names_are_taken_case_insensitively() -> None:
    directory = InMemoryDirectory([registered("MyApp", HEIGHT)])
    with pytest.raises(AppSpecError, match="Flux App myapp already registered"):
        await check_name_available(format_spec(v8_spec()), directory)


async def test_local_apps_and_the_share_app_reserve_their_names() -> None:
    with pytest.raises(AppSpecError, match="already assigned to local application"):
        await check_name_available(format_spec(v8_spec()), InMemoryDirectory(local_names=["MYAPP"]))
    with pytest.raises(AppSpecError, match="already assigned to Flux main application"):
        await check_name_available(format_spec(v8_spec(name="Share")), InMemoryDirectory())


async def test_replayed_registration_needs_a_known_older_hash() -> None:
    spec = format_spec(v8_spec())
    old = registered("myapp", HEIGHT - 100_000, expire=22000)  # expired at HEIGHT - 12_000
    with pytest.raises(AppSpecError, match="Hash not found in collection"):
        await check_name_available(spec, InMemoryDirectory([old]), message_hash="bb" * 32)
    live = InMemoryDirectory([registered("myapp", HEIGHT - 1000)], hashes={"bb" * 32: HEIGHT})
    with pytest.raises(AppSpecError, match="Hash is not older than our current app"):
        await check_name_available(spec, live, message_hash="bb" * 32)
    # The stale spec is accepted here but still counts as an available app (upstream quirk).
    stale = InMemoryDirectory([old], hashes={"bb" * 32: HEIGHT})
    with pytest.raises(AppSpecError, match="already assigned to local application"):
        await check_name_available(spec, stale, message_hash="bb" * 32, params=MAINNET)
