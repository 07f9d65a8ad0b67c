"""Quotes with Flux's price services unreachable, and with stand-ins that answer."""

import asyncio
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.apps.spec_samples import component, json_values, mutated_specs, seed_spec, v8_spec

from fluxos.apps.enterprise import NOT_ARCANE
from fluxos.apps.errors import AppSpecError
from fluxos.apps.formatter import format_spec
from fluxos.apps.params import MAINNET, PriceEntry
from fluxos.apps.pricing import MarketplaceApp
from fluxos.apps.quotes import FREE_UPDATE, PriceQuoter, flux_price_table, parse_price_message
from fluxos.errors import FluxError

HEIGHT = 2_200_000


class LiveServices:
    """Answers like stats.runonflux.io and the rate services would."""

    def __init__(self, usd: PriceEntry, rate: float, apps: list[MarketplaceApp]) -> None:
        self.usd, self.rate, self.apps = usd, rate, apps

    async def usd_price_table(self) -> PriceEntry | None:
        return self.usd

    async def flux_usd_rate(self) -> float | None:
        return self.rate

    async def marketplace_apps(self) -> list[MarketplaceApp] | None:
        return self.apps


async def test_offline_quote_uses_the_config_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="fluxos.apps.quotes")
    quote = await PriceQuoter().quote(dict(seed_spec(), expire=88000), HEIGHT)
    assert quote == {"usd": 5.64, "flux": 8.93, "fluxDiscount": 5}
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "USD app price table unavailable" in logged
    assert "Flux/USD rate unavailable; using the configured rate 0.6" in logged
    assert "marketplace list unavailable" in logged


async def test_live_services_change_the_quote() -> None:
    doubled = PriceEntry(
        -1, cpu=0.3, ram=0.1, hdd=0.04, min_price=0.01, port=2, scope=4, staticip=2,
        flux_multiplier=0.9, multiplier=1, min_usd_price=0.99,
    )  # fmt: skip
    services = LiveServices(doubled, 1.2, [MarketplaceApp("blockbook", 1.5)])
    quoter = PriceQuoter(usd=services, rates=services, marketplace=services)
    quote = await quoter.quote(dict(seed_spec(), expire=88000), HEIGHT)
    # 14.10 a month x 0.8 (small app) x 1.5 (marketplace) = 16.92; /1.2 x 0.9 Flux
    assert quote == {"usd": 16.92, "flux": 12.69, "fluxDiscount": 10}


async def test_price_usd_comes_from_the_request_body() -> None:
    quote = await PriceQuoter().quote(dict(seed_spec(), priceUSD=20), HEIGHT)
    assert quote["usd"] == 20
    with pytest.raises(AppSpecError, match="USD price is not valid"):
        await PriceQuoter().quote(dict(seed_spec(), priceUSD=0.5), HEIGHT)


async def test_free_update_costs_nothing() -> None:
    existing = dict(format_spec(v8_spec()), height=HEIGHT - 1000)
    quote = await PriceQuoter().quote(v8_spec(expire=87000), HEIGHT, existing=existing)
    assert quote == FREE_UPDATE
    paid = await PriceQuoter().quote(v8_spec(expire=88000), HEIGHT, existing=existing)
    assert paid["usd"] > 0


async def test_enterprise_specs_need_an_arcane_node() -> None:
    with pytest.raises(AppSpecError, match=NOT_ARCANE):
        await PriceQuoter().quote(v8_spec(enterprise="c2VjcmV0", compose=[]), HEIGHT)


async def test_owner_quote_adds_the_flux_figures() -> None:
    quote = await PriceQuoter().owner_quote(seed_spec(), HEIGHT)
    assert quote == {
        "usd": 1.41,
        "flux": 2.23,
        "fluxDiscount": 5,
        "fluxPerMonth": 1.41,
        "onchainMinimumFlux": 0.36,
    }


async def test_rejects_non_objects() -> None:
    with pytest.raises(AppSpecError, match=r"Invalid application specification provided\."):
        await PriceQuoter().quote([seed_spec()], HEIGHT)


def test_chain_price_messages_extend_the_table() -> None:
    entry = parse_price_message("p_0.02_0.01_0.003_0.01", 2_300_000)
    assert entry == PriceEntry(2_300_000, 0.02, 0.01, 0.003, 0.01, port=2, scope=6, staticip=3)
    assert parse_price_message("p_1_2_3", 5) is None
    assert parse_price_message("p_1_2_3_0.5_1_abc_0", 5) == PriceEntry(5, 1, 2, 3, 0.5, 1, 6, 3)
    table = flux_price_table(MAINNET, [(2_300_000, "p_0.02_0.01_0.003_0.01"), (5, "p_bad")])
    assert [e.height for e in table][-2:] == [1_597_156, 2_300_000]
    assert len(table) == len(MAINNET.price) + 1


async def test_quote_with_a_chain_price_fork() -> None:
    spec: dict[str, Any] = v8_spec(compose=[component(cpu=4, ram=8000, hdd=100)])
    table = flux_price_table(MAINNET, [(HEIGHT - 1, "p_3_1_0.5_1")])
    cheap = await PriceQuoter().quote(spec, HEIGHT)
    dear = await PriceQuoter().quote(spec, HEIGHT, flux_table=table)
    assert dear["usd"] == cheap["usd"]
    assert (
        dear["fluxDiscount"] == "Not possible to define discount" and dear["flux"] > cheap["flux"]
    )


@settings(max_examples=300)
@given(
    st.one_of(json_values, mutated_specs()), st.integers(0, 3_000_000), st.none() | mutated_specs()
)
def test_quotes_of_arbitrary_json_fail_only_with_flux_errors(
    value: Any, height: int, existing: Any
) -> None:
    if existing is not None:
        existing = dict(existing, height=height // 2)
    logging.disable(logging.WARNING)
    try:
        asyncio.run(PriceQuoter().quote(value, height, existing=existing))
    except FluxError as error:
        assert error.message
    finally:
        logging.disable(logging.NOTSET)
