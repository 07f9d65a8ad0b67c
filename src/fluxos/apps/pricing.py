"""Prices of Flux apps (§5): the monthly price, the fiat/Flux quote and the on-chain minimums.

Every step reproduces upstream's double arithmetic in the same order, with its
rounding points (`Math.ceil(x * 100) / 100` and `toFixed(2)`), because nodes compare
payments against these figures. Floats only - never Decimal - for the arithmetic.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fluxos.apps.errors import AppSpecError
from fluxos.apps.formatter import format_spec
from fluxos.apps.params import AppParams, PriceEntry, price_entry_at
from fluxos.apps.ports import count_in, port_in
from fluxos.apps.resources import total_requirements
from fluxos.apps.specs import TIER_FIELDS, AppSpec, components, uses_g_mount
from fluxos.wire.jsvalues import (
    UNDEFINED,
    is_number,
    js_ceil,
    js_length,
    normalize_number,
    to_fixed,
    to_number,
    truthy,
)

logger = logging.getLogger(__name__)

NO_DISCOUNT = "Not possible to define discount"
# Below this height upstream's quote reads the previous expiry from a number (a typo it
# keeps as a rule), so the default month applies; above it the existing spec's expire.
_PREVIOUS_EXPIRE_FROM_SPEC_HEIGHT = 1_315_000


@dataclass(frozen=True)
class MarketplaceApp:
    """A marketplace offer; apps whose name starts with `name` pay `multiplier` times more."""

    name: str
    multiplier: float


def _number(value: Any) -> int | float:
    return value if is_number(value) else to_number(value)


def _ceil2(value: float) -> float:
    """`Math.ceil(value * 100) / 100`."""
    return js_ceil(value * 100) / 100


def _entry(table: Sequence[PriceEntry], height: int) -> PriceEntry:
    try:
        return price_entry_at(table, height)
    except ValueError as exc:
        raise AppSpecError(f"height must be a non-negative block height, got {height}") from exc


def _finite(price: float, what: str) -> float:
    if not math.isfinite(price):
        raise AppSpecError(f"{what} of Flux App is not a finite number; check cpu, ram and hdd")
    return price


def _legacy_ports_price(spec: AppSpec, entry: PriceEntry, params: AppParams) -> float:
    if truthy(spec.get("port", UNDEFINED)):
        return entry.port if port_in(spec["port"], params.enterprise_ports) else 0
    if truthy(spec.get("ports", UNDEFINED)):
        return count_in(spec["ports"], params.enterprise_ports) * entry.port
    return 0


def app_price_per_month(
    spec: AppSpec, height: int, table: Sequence[PriceEntry], params: AppParams
) -> float:
    """Price of one "month" of the app at `height` in `table`'s currency (appPricePerMonth).

    Upstream returns the text "0.99" when the USD minimum applies; the number is the same.
    """
    entry = _entry(table, height)
    minimum_usd = entry.min_usd_price or 0
    floor_usd = bool(minimum_usd) and height >= params.apply_minimum_price_on_3_instances
    if _number(spec.get("version", UNDEFINED)) <= 3:
        if truthy(spec.get("tiered")):
            cpu_count, ram_count, hdd_count = (
                _number(spec.get(TIER_FIELDS[i], UNDEFINED))
                + _number(spec.get(TIER_FIELDS[i + 1], UNDEFINED))
                + _number(spec.get(TIER_FIELDS[i + 2], UNDEFINED))
                for i in (0, 3, 6)
            )
        else:
            cpu_count, ram_count, hdd_count = (
                _number(spec.get(k, UNDEFINED)) for k in ("cpu", "ram", "hdd")
            )
        total = cpu_count * entry.cpu * 10 + (ram_count * entry.ram) / 100 + hdd_count * entry.hdd
        total += _legacy_ports_price(spec, entry, params)
        # only the tiered branch of v1-3 knows the USD minimum
        if truthy(spec.get("tiered")) and floor_usd and total < minimum_usd:
            total = float(to_fixed(minimum_usd, 2))
        price = _ceil2(total)
        if price < entry.min_price:
            price = entry.min_price
        return _finite(price, "price")
    cpu_count = ram_count = hdd_count = 0
    enterprise_ports = 0
    for component in components(spec):
        if not isinstance(component, dict):
            continue
        if truthy(component.get("tiered")):
            cpu_count += (
                sum(
                    _number(component.get(f"cpu{t}", UNDEFINED)) for t in ("basic", "super", "bamf")
                )
                / 3
            )
            ram_count += (
                sum(
                    _number(component.get(f"ram{t}", UNDEFINED)) for t in ("basic", "super", "bamf")
                )
                / 3
            )
            hdd_count += (
                sum(
                    _number(component.get(f"hdd{t}", UNDEFINED)) for t in ("basic", "super", "bamf")
                )
                / 3
            )
        else:
            cpu_count += _number(component.get("cpu", UNDEFINED))
            ram_count += _number(component.get("ram", UNDEFINED))
            hdd_count += _number(component.get("hdd", UNDEFINED))
        enterprise_ports += count_in(component.get("ports"), params.enterprise_ports)
    total = cpu_count * entry.cpu * 10 + (ram_count * entry.ram) / 100 + hdd_count * entry.hdd
    nodes = spec.get("nodes", UNDEFINED)
    if (truthy(nodes) and truthy(js_length(nodes))) or truthy(spec.get("enterprise", UNDEFINED)):
        total += entry.scope
    if truthy(spec.get("staticip", UNDEFINED)):
        total += entry.staticip
    total += enterprise_ports * entry.port
    price = _ceil2(total / 3)
    extra = _number(spec.get("instances", UNDEFINED)) - 1
    if extra > 0 and height >= params.apply_minimum_for_extra_instances:
        if price < 0.50 and extra > 2:
            price += extra * 0.50
        else:
            price = (js_ceil(price * extra * 100) + js_ceil(price * 100)) / 100
    if floor_usd and price < minimum_usd:
        price = float(to_fixed(minimum_usd, 2))
    return _finite(price, "price")


def _existing_height(existing: AppSpec) -> int:
    height: Any = existing.get("height")
    if not is_number(height):
        raise AppSpecError("the existing app specification has no registration height")
    return int(height)


def _previous_expire(existing: AppSpec, height: int, params: AppParams) -> tuple[float, int]:
    """(blocks the existing registration was paid for, its default month) as upstream reads them."""
    registered = _existing_height(existing)
    default = params.default_expire(registered)
    # Upstream reads `.expire` of a number below this height (a typo kept as consensus).
    expire = existing.get("expire") if height > _PREVIOUS_EXPIRE_FROM_SPEC_HEIGHT else None
    return (_number(expire) if truthy(expire) else default), default


def fiat_and_flux_price(
    spec: AppSpec,
    height: int,
    params: AppParams,
    *,
    usd_entry: PriceEntry,
    flux_table: Sequence[PriceEntry],
    flux_usd_rate: float,
    marketplace: Iterable[MarketplaceApp] = (),
    existing: AppSpec | None = None,
    price_usd: Any = UNDEFINED,
) -> dict[str, Any]:
    """The `/apps/calculatefiatandfluxprice` data for a formatted spec (§5.3 steps 2-9).

    `existing` is the app's current global spec (with `height`) when this is an update;
    the caller has already ruled out a free update.
    """
    default_expire = params.default_expire(height)
    expire_in = _number(spec["expire"]) if truthy(spec.get("expire")) else default_expire
    price = app_price_per_month(spec, height, (usd_entry,), params) * (expire_in / default_expire)
    # `value` mirrors upstream's variable, which is sometimes the text of toFixed(2).
    value: float | str = to_fixed(price, 2)
    if existing is not None:
        previous = app_price_per_month(format_spec(existing, params), height, (usd_entry,), params)
        previous_expire, previous_default = _previous_expire(existing, height, params)
        registered = _existing_height(existing)
        previous_expire = params.pon_adjusted_expire(registered, previous_expire)
        previous_text = to_fixed(previous * (previous_expire / previous_default), 2)
        elapsed = params.elapsed_blocks(registered, height)
        remaining = (previous_expire - elapsed) / previous_expire
        if remaining > 0:
            value = float(value) - remaining * float(previous_text)
    small_app = _number(spec["version"]) <= 3 or _number(spec.get("instances", UNDEFINED)) < 4
    value = _hardware_discount(spec, value, applies=small_app)
    if uses_g_mount(spec):
        value = float(value) * 0.8
    minimum_text = to_fixed(usd_entry.min_usd_price or 0, 2)
    if truthy(price_usd):
        if _js_less(price_usd, value):
            raise AppSpecError("USD price is not valid")
        asked = to_number(price_usd)
        if not math.isfinite(asked):
            raise AppSpecError("USD price is not valid")
        value = to_fixed(asked, 2)
    else:
        name = str(spec["name"]).lower()
        offer = next((app for app in marketplace if name.startswith(app.name.lower())), None)
        if offer is not None and offer.multiplier > 1:
            value = float(value) * offer.multiplier
        value = to_fixed(float(value) * _or_one(usd_entry.multiplier), 2)
        if float(value) < (usd_entry.min_usd_price or 0):
            value = minimum_text
    months = expire_in / default_expire
    for threshold, factor in ((9, 0.88), (6, 0.94), (3, 0.97)):
        if months >= threshold:
            value = float(value) * factor
            break
    value = to_fixed(float(value), 2)
    if float(value) < (usd_entry.min_usd_price or 0):
        value = minimum_text
    usd = float(value)
    flux_multiplier = _or_one(usd_entry.flux_multiplier)
    flux_price = (usd / flux_usd_rate) * flux_multiplier
    onchain = float(flux_onchain_price(spec, height, flux_table, params, existing=existing))
    dearer_on_chain = onchain > flux_price
    return {
        "usd": normalize_number(_finite(usd, "USD price")),
        "flux": normalize_number(float(to_fixed(onchain if dearer_on_chain else flux_price, 2))),
        "fluxDiscount": NO_DISCOUNT
        if dearer_on_chain
        else normalize_number(100 - flux_multiplier * 100),
    }


def _or_one(value: float | None) -> float:
    return 1.0 if value is None else value


def _js_less(left: Any, right: Any) -> bool:
    """`left < right` for a client's priceUSD against upstream's number-or-text price."""
    if isinstance(left, str) and isinstance(right, str):
        return left < right
    return to_number(left) < to_number(right)


def _hardware_discount(spec: AppSpec, value: float | str, *, applies: bool) -> float | str:
    """20% off small apps, 10% off medium ones (sizes at the stratus tier)."""
    if not applies:
        return value
    needs = total_requirements(spec, "bamf")
    if needs.cpu < 3 and needs.ram < 6000 and needs.hdd < 150:
        return float(value) * 0.8
    if needs.cpu < 7 and needs.ram < 29000 and needs.hdd < 370:
        return float(value) * 0.9
    return value


def flux_onchain_price(
    spec: AppSpec,
    height: int,
    flux_table: Sequence[PriceEntry],
    params: AppParams,
    *,
    existing: AppSpec | None = None,
) -> str:
    """The Flux-table floor of a quote (getAppFluxOnChainPrice, §5.4), as toFixed(2) text."""
    entry = _entry(flux_table, height)
    default_expire = params.default_expire(height)
    expire_in = _number(spec["expire"]) if truthy(spec.get("expire")) else default_expire
    price = app_price_per_month(spec, height, flux_table, params) * (expire_in / default_expire)
    price = _ceil2(price)
    if existing is not None:
        previous = app_price_per_month(format_spec(existing, params), height, flux_table, params)
        previous_expire, previous_default = _previous_expire(existing, height, params)
        # Unlike the USD quote, the previous expiry is not stretched across the PON fork.
        previous = _ceil2(previous * (previous_expire / previous_default))
        elapsed = params.elapsed_blocks(_existing_height(existing), height)
        remaining = (previous_expire - elapsed) / previous_expire
        if remaining > 0:
            price -= remaining * previous
    price = float(_hardware_discount(spec, price, applies=True))
    if uses_g_mount(spec):
        price *= 0.8
    price = _ceil2(price)
    if price < entry.min_price:
        price = entry.min_price
    return to_fixed(_finite(price, "price"), 2)


def onchain_minimum_registration(
    spec: AppSpec, tx_height: int, flux_table: Sequence[PriceEntry], params: AppParams
) -> float:
    """Least Flux a registration paid at `tx_height` must carry to become a global app (§7.3)."""
    entry = _entry(flux_table, tx_height)
    default_expire = params.default_expire(tx_height)
    expire_in = _number(spec["expire"]) if truthy(spec.get("expire")) else default_expire
    price = app_price_per_month(spec, tx_height, flux_table, params) * (expire_in / default_expire)
    return max(_ceil2(price), entry.min_price)


def update_minimum(
    price_per_month: float,
    previous_price_per_month: float,
    *,
    expire: float,
    previous_expire: float,
    default_expire: int,
    previous_default_expire: int,
    height_difference: int,
    min_price: float,
) -> float:
    """Least Flux an update must carry: 90% of the new price minus the unused paid part."""
    current = _ceil2(price_per_month * (expire / default_expire))
    previous = _ceil2(previous_price_per_month * (previous_expire / previous_default_expire))
    remaining = (previous_expire - height_difference) / previous_expire
    due = (current - remaining * previous) * 0.9 if remaining > 0 else current * 0.9
    return max(_ceil2(due), min_price)


def onchain_minimum_update(
    spec: AppSpec,
    tx_height: int,
    previous_spec: AppSpec,
    previous_height: int,
    flux_table: Sequence[PriceEntry],
    params: AppParams,
) -> float:
    """Least Flux an update paid at `tx_height` must carry, given the previous paid message."""
    default_expire = params.default_expire(tx_height)
    previous_default = params.default_expire(previous_height)
    expire = _number(spec["expire"]) if truthy(spec.get("expire")) else default_expire
    previous_expire = (
        _number(previous_spec["expire"])
        if truthy(previous_spec.get("expire"))
        else previous_default
    )
    return update_minimum(
        app_price_per_month(spec, tx_height, flux_table, params),
        app_price_per_month(previous_spec, previous_height, flux_table, params),
        expire=expire,
        previous_expire=previous_expire,
        default_expire=default_expire,
        previous_default_expire=previous_default,
        height_difference=tx_height - previous_height,
        min_price=_entry(flux_table, tx_height).min_price,
    )


def is_free_update(
    spec: AppSpec,
    existing: AppSpec | None,
    height: int,
    update_heights: Iterable[int],
    params: AppParams,
) -> bool:
    """Whether the network offers this update for free (checkFreeAppUpdate, §5.5).

    `update_heights` are the heights of the app's paid update messages.
    """
    if existing is None or not (
        truthy(existing.get("expire"))
        and truthy(existing.get("height"))
        and truthy(spec.get("expire"))
    ):
        return False
    registered = _number(existing["height"])
    old_end = registered + params.pon_adjusted_expire(registered, _number(existing["expire"]))
    extension = height + _number(spec["expire"]) - old_end
    if extension > 8:
        return False
    if spec.get("instances") != existing.get("instances"):
        return False
    if _flag(spec.get("staticip")) != _flag(existing.get("staticip")):
        return False
    if not _same_node_count(spec.get("nodes"), existing.get("nodes")):
        return False
    if _grows(spec.get("compose"), existing.get("compose"), params):
        logger.info("update of %s is not free: it adds resources", spec.get("name"))
        return False
    # at most 10 free updates in 3600 blocks, 8 in 1440, 5 in 720
    recent = [h for h in update_heights if h > height - 3600]
    if not recent:
        return True
    if len(recent) < 11:
        recent = [h for h in recent if h > height - 1440]
        if len(recent) < 9:
            recent = [h for h in recent if h > height - 720]
            if len(recent) < 6:
                return True
    logger.info("update of %s is not free: rate limit of free updates reached", spec.get("name"))
    return False


def _flag(value: Any) -> Any:
    return False if value is None or value is UNDEFINED else value


def _same_node_count(new: Any, old: Any) -> bool:
    def empty(nodes: Any) -> bool:
        return not truthy(nodes) or js_length(nodes) == 0

    if empty(new) and empty(old):
        return True
    return truthy(new) and truthy(old) and js_length(new) == js_length(old)


def _grows(new: Any, old: Any, params: AppParams) -> bool:
    """Whether any component of `new` asks for more than its counterpart in `old`."""
    if not isinstance(new, list) or not isinstance(old, list) or len(new) != len(old):
        return True
    names_new = [c.get("name") if isinstance(c, dict) else None for c in new]
    names_old = [c.get("name") if isinstance(c, dict) else None for c in old]
    by_name = all(isinstance(n, str) for n in names_new + names_old) and (
        len(set(names_new)) == len(names_new) and len(set(names_old)) == len(names_old)
    )
    pairs = (
        [(c, dict(zip(names_old, old, strict=True)).get(c["name"])) for c in new]
        if by_name
        else list(zip(new, old, strict=True))
    )
    for component, previous in pairs:
        if not isinstance(component, dict) or not isinstance(previous, dict):
            return True
        for key in ("cpu", "ram", "hdd"):
            if _number(component.get(key, UNDEFINED)) > _number(previous.get(key, UNDEFINED)):
                return True
        if count_in(component.get("ports"), params.enterprise_ports) > count_in(
            previous.get("ports"), params.enterprise_ports
        ):
            return True
    return False
