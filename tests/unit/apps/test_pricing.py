from typing import Any

import pytest
from tests.unit.apps.spec_samples import component, seed_spec, v3_spec, v8_spec, vector_id, vectors

from fluxos.apps.errors import AppSpecError
from fluxos.apps.formatter import format_spec
from fluxos.apps.params import MAINNET, PriceEntry, price_entry_at
from fluxos.apps.pricing import (
    NO_DISCOUNT,
    MarketplaceApp,
    app_price_per_month,
    fiat_and_flux_price,
    flux_onchain_price,
    is_free_update,
    onchain_minimum_registration,
    onchain_minimum_update,
    update_minimum,
)
from fluxos.wire.jsvalues import to_number

HEIGHT = 2_200_000


def quote(spec: dict[str, Any], height: int = HEIGHT, **kwargs: Any) -> dict[str, Any]:
    """The quote with every price service unreachable (config tables, rate 0.6)."""
    return fiat_and_flux_price(
        format_spec(spec),
        height,
        MAINNET,
        usd_entry=MAINNET.usd_price,
        flux_table=MAINNET.price,
        flux_usd_rate=MAINNET.flux_usd_rate,
        **kwargs,
    )


@pytest.mark.parametrize("vector", vectors("price.appPricePerMonth"), ids=vector_id)
def test_price_per_month_vectors(vector: dict[str, Any]) -> None:
    given = vector["input"]
    table = MAINNET.usd_table() if "usdprice" in given["priceTable"] else MAINNET.price
    price = app_price_per_month(format_spec(given["spec"]), given["height"], table, MAINNET)
    # upstream answers the text "0.99" when the USD floor applies; its value is what counts
    assert price == to_number(vector["expected"]["price"])


@pytest.mark.parametrize("vector", vectors("price.calculatefiatandfluxprice"), ids=vector_id)
def test_fiat_and_flux_price_vectors(vector: dict[str, Any]) -> None:
    given, expected = vector["input"], vector["expected"]
    assert given["existingApp"] is None
    assert quote(given["spec"], given["daemonHeight"]) == expected["response"]["data"]
    onchain = flux_onchain_price(
        format_spec(given["spec"]), given["daemonHeight"], MAINNET.price, MAINNET
    )
    assert onchain == expected["onChainFluxPriceComponent"]


@pytest.mark.parametrize("vector", vectors("price.onchainMinimumRegistration"), ids=vector_id)
def test_onchain_minimum_registration_vector(vector: dict[str, Any]) -> None:
    given, expected = vector["input"], vector["expected"]
    minimum = onchain_minimum_registration(
        format_spec(given["spec"]), given["txHeight"], MAINNET.price, MAINNET
    )
    assert minimum == expected["minFlux"]
    assert minimum * 1e8 == expected["minValueSat"]


@pytest.mark.parametrize("vector", vectors("price.onchainMinimumUpdate"), ids=vector_id)
def test_onchain_minimum_update_vector(vector: dict[str, Any]) -> None:
    given, expected = vector["input"], vector["expected"]
    month = MAINNET.default_expire(HEIGHT if given["postPON"] else 1)
    minimum = update_minimum(
        given["appPricePerMonth"],
        given["previousAppPricePerMonth"],
        expire=given["expire"],
        previous_expire=given["previousExpire"],
        default_expire=month,
        previous_default_expire=month,
        height_difference=given["heightDifference"],
        min_price=0.01,
    )
    assert minimum == expected["minFlux"]
    assert minimum * 1e8 == expected["minValueSat"]


def test_onchain_minimum_update_from_specs_matches_the_vector_case() -> None:
    spec = format_spec(dict(seed_spec(), expire=88000))
    assert app_price_per_month(spec, HEIGHT, MAINNET.price, MAINNET) == 1.41
    minimum = onchain_minimum_update(spec, HEIGHT, spec, HEIGHT - 44000, MAINNET.price, MAINNET)
    assert minimum == 0.64


# spec §5.6, confirmed by running upstream: (spec, usd, flux, on-chain part)
def test_worked_example_1_seed_quarter_month() -> None:
    assert quote(seed_spec()) == {"usd": 1.41, "flux": 2.23, "fluxDiscount": 5}
    assert flux_onchain_price(format_spec(seed_spec()), HEIGHT, MAINNET.price, MAINNET) == "0.29"


def test_worked_example_4_staticip_enterprise_port_five_instances() -> None:
    spec = v8_spec(
        compose=[
            component(
                name="web", cpu=2, ram=4000, hdd=50, ports=[443], containerPorts=[443], domains=[""]
            ),
            component(name="db", cpu=1, ram=2000, hdd=20),
        ],
        staticip=True,
        instances=5,
        expire=264000,
    )
    assert quote(spec) == {"usd": 62.56, "flux": 99.05, "fluxDiscount": 5}
    assert flux_onchain_price(format_spec(spec), HEIGHT, MAINNET.price, MAINNET) == "11.62"


def test_worked_example_8_update_credits_the_unused_part() -> None:
    spec = v8_spec(compose=[component(cpu=2, ram=4000, hdd=40)])
    existing = dict(format_spec(spec), height=HEIGHT - 44000, hash="ab" * 32)
    assert quote(spec, existing=existing) == {"usd": 2.33, "flux": 3.69, "fluxDiscount": 5}
    assert (
        flux_onchain_price(format_spec(spec), HEIGHT, MAINNET.price, MAINNET, existing=existing)
        == "0.47"
    )


def test_price_table_entries_apply_strictly_above_their_height() -> None:
    assert price_entry_at(MAINNET.price, 983_000).height == -1
    assert price_entry_at(MAINNET.price, 983_001).height == 983_000
    with pytest.raises(AppSpecError, match="non-negative block height"):
        app_price_per_month(format_spec(v8_spec()), -1, MAINNET.price, MAINNET)


def test_tiered_legacy_app_sums_its_tiers_and_enterprise_ports() -> None:
    spec = v3_spec(
        tiered=True, ports=["80"], containerPorts=["80"], cpubasic=0.5, cpusuper=1, cpubamf=2,
        rambasic=500, ramsuper=1000, rambamf=2000, hddbasic=5, hddsuper=10, hddbamf=20,
    )  # fmt: skip
    # (3.5 cores x 0.15 x 10) + (3500 MB x 0.05 / 100) + (35 GB x 0.02) + 1 port x 2
    assert app_price_per_month(format_spec(spec), HEIGHT, MAINNET.usd_table(), MAINNET) == 9.7


def test_extra_instances_before_their_fork_cost_nothing() -> None:
    spec = format_spec(v8_spec(instances=10))
    before = app_price_per_month(
        spec, MAINNET.apply_minimum_for_extra_instances - 1, MAINNET.price, MAINNET
    )
    after = app_price_per_month(
        spec, MAINNET.apply_minimum_for_extra_instances, MAINNET.price, MAINNET
    )
    assert before < after


def test_nodes_scope_and_staticip_add_their_price() -> None:
    plain = app_price_per_month(format_spec(seed_spec()), HEIGHT, MAINNET.usd_table(), MAINNET)
    scoped = app_price_per_month(
        format_spec(dict(seed_spec(), nodes=["1.2.3.4"], staticip=True)),
        HEIGHT,
        MAINNET.usd_table(),
        MAINNET,
    )
    assert plain == 7.05
    # 7.05 + scope 4 + staticip 2 = 13.05; /3 = 4.3500000000000005 -> ceil to 4.36 per
    # instance; two extra instances: ceil(872.0000000000001) + ceil(436.00000000000006)
    assert scoped == 13.1


def test_price_usd_must_cover_the_price() -> None:
    with pytest.raises(AppSpecError, match="USD price is not valid"):
        quote(dict(seed_spec(), priceUSD=1), price_usd=1)
    assert quote(seed_spec(), price_usd=10)["usd"] == 10
    # upstream compares text with text: "10" < "1.41" is false, so 10 passes as well
    assert quote(seed_spec(), price_usd="10")["usd"] == 10


def test_marketplace_multiplier_applies_to_name_prefixes() -> None:
    offers = [MarketplaceApp("blockbook", 2), MarketplaceApp("other", 5)]
    assert quote(seed_spec(), marketplace=offers)["usd"] == 2.82
    assert quote(seed_spec(), marketplace=[MarketplaceApp("blockbook", 0.5)])["usd"] == 1.41


def test_flux_floor_wins_when_the_flux_rate_is_high() -> None:
    dear = fiat_and_flux_price(
        format_spec(seed_spec()),
        HEIGHT,
        MAINNET,
        usd_entry=MAINNET.usd_price,
        flux_table=MAINNET.price,
        flux_usd_rate=100.0,
    )
    assert dear == {"usd": 1.41, "flux": 0.29, "fluxDiscount": NO_DISCOUNT}


def test_non_numeric_resources_are_rejected() -> None:
    with pytest.raises(AppSpecError, match="not a finite number"):
        quote(v8_spec(compose=[component(cpu="lots")]))


# --- free updates (§5.5) -----------------------------------------------------------


def existing_app(**changes: Any) -> dict[str, Any]:
    return dict(format_spec(v8_spec()), height=HEIGHT - 1000, hash="cd" * 32, **changes)


def test_update_without_extension_or_growth_is_free() -> None:
    spec = format_spec(v8_spec(expire=88000 - 1000, description="new words"))
    assert is_free_update(spec, existing_app(), HEIGHT, [], MAINNET)
    assert is_free_update(spec, existing_app(), HEIGHT, [HEIGHT - 10] * 5, MAINNET)


@pytest.mark.parametrize(
    "change",
    [
        {"expire": 88000},  # extends by 1000 blocks
        {"instances": 4},
        {"staticip": True},
        {"compose": [component(cpu=2)]},
        {"compose": [component(ports=[443], containerPorts=[443], domains=[""])]},
        {"compose": [component(), component(name="db")]},
    ],
)
def test_update_that_extends_or_grows_is_paid(change: dict[str, Any]) -> None:
    spec = format_spec(v8_spec(**{"expire": 87000, **change}))
    assert not is_free_update(spec, existing_app(), HEIGHT, [], MAINNET)


def test_free_updates_are_rate_limited() -> None:
    spec = format_spec(v8_spec(expire=87000))
    assert not is_free_update(spec, existing_app(), HEIGHT, [HEIGHT - 10] * 6, MAINNET)
    assert not is_free_update(spec, existing_app(), HEIGHT, [HEIGHT - 2000] * 11, MAINNET)
    assert is_free_update(spec, existing_app(), HEIGHT, [HEIGHT - 2000] * 10, MAINNET)
    assert is_free_update(spec, existing_app(), HEIGHT, [HEIGHT - 4000] * 50, MAINNET)


def test_pre_pon_registration_counts_its_tail_four_times() -> None:
    registered = MAINNET.daemon_pon_fork - 1000
    existing = dict(format_spec(dict(seed_spec(), expire=22000)), height=registered)
    # 1000 blocks before the fork + 21000 after, x4 = 84000: the app ends at fork + 84000
    height = MAINNET.daemon_pon_fork + 80000
    spec = format_spec(dict(seed_spec(), expire=4008))
    assert is_free_update(spec, existing, height, [], MAINNET)
    assert not is_free_update(
        format_spec(dict(seed_spec(), expire=4009)), existing, height, [], MAINNET
    )


def test_price_entry_serialises_with_upstream_names() -> None:
    assert MAINNET.usd_price.to_json() == {
        "height": -1, "cpu": 0.15, "ram": 0.05, "hdd": 0.02, "minPrice": 0.01, "port": 2,
        "scope": 4, "staticip": 2, "fluxmultiplier": 0.95, "multiplier": 1, "minUSDPrice": 0.99,
    }  # fmt: skip
    assert PriceEntry(5, 1, 1, 1, 1).to_json()["port"] == 2


def test_deployment_information_follows_the_height() -> None:
    info = MAINNET.deployment_information(HEIGHT)
    assert info["address"] == "t3NryfAQLGeFs9jEoeqsxmBN2QLRaRKFLUX"
    assert info["maxBlocksAllowance"] == 1_056_000 and info["minimumInstances"] == 3
    assert info["appSpecsEnforcementHeights"]["8"] == 1_932_380
    assert info["price"][-1] == {
        "height": 1_597_156, "cpu": 0.03, "ram": 0.01, "hdd": 0.004, "minPrice": 0.01,
        "port": 0.4, "scope": 0.8, "staticip": 0.4,
    }  # fmt: skip
    early = MAINNET.deployment_information(1_000_000)
    assert early["address"] == "t1LUs6quf7TB2zVZmexqPQdnqmrFMGZGjV6"
    assert early["maxBlocksAllowance"] == 264_000
    assert MAINNET.payment_address(1_300_000) == "t3aGJvdtd8NR6GrnqnRuVEzH6MbrXuJFLUX"
