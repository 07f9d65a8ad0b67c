"""FLUX amounts: integers of satoshis (zatoshis) inside, floats only at the RPC edge.

fluxd prints amounts as JSON numbers with 8 decimals and parses them with
`AmountFromValue` (exact decimal text, rounded to whole satoshis).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

COIN = 100_000_000
MAX_MONEY = 440_000_000 * COIN


class AmountError(ValueError):
    """An amount is not a number, has sub-satoshi precision, or is out of range."""


def money_range(value: int) -> bool:
    """True when `value` satoshis is a valid amount (0 ≤ value ≤ MAX_MONEY)."""
    return 0 <= value <= MAX_MONEY


def parse_amount(value: object) -> int:
    """Turn an RPC amount (number or numeric string, in FLUX) into satoshis.

    Raises AmountError("Invalid amount") for non-numbers and sub-satoshi precision and
    AmountError("Amount out of range") for negatives or more than MAX_MONEY, as fluxd does.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise AmountError("Amount is not a number or string")
    try:
        exact = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise AmountError("Invalid amount") from exc
    if not exact.is_finite():
        raise AmountError("Invalid amount")
    scaled = exact * COIN
    # json floats like 0.1 arrive as the shortest repr, so str() keeps them exact
    if scaled != scaled.to_integral_value():
        raise AmountError("Invalid amount")
    sats = int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN))
    if not money_range(sats):
        raise AmountError("Amount out of range")
    return sats


def to_coins(sats: int) -> float:
    """Satoshis as a FLUX float for JSON output (fluxd's ValueFromAmount)."""
    return float(Decimal(sats) / COIN)


def format_coins(sats: int) -> str:
    """Satoshis as fluxd's FormatMoney text with exactly 8 decimals, e.g. '1000.00000000'."""
    sign = "-" if sats < 0 else ""
    whole, frac = divmod(abs(sats), COIN)
    return f"{sign}{whole}.{frac:08d}"
