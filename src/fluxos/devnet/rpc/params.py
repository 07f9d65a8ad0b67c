"""fluxd's RPC error codes and its parameter checks (UniValue getters, RPCTypeCheck,
ParseHashV, AmountFromValue), so a bad parameter gets the code and text fluxd gives."""

from __future__ import annotations

import re
from typing import Any

from fluxos.chain.amounts import AmountError, parse_amount
from fluxos.chain.script import script_for_address
from fluxos.jsonrpc import RpcError

RPC_MISC_ERROR = -1
RPC_TYPE_ERROR = -3
RPC_WALLET_ERROR = -4
RPC_INVALID_ADDRESS_OR_KEY = -5
RPC_WALLET_INSUFFICIENT_FUNDS = -6
RPC_WALLET_ACCOUNTS_UNSUPPORTED = -11
RPC_INVALID_PARAMETER = -8
RPC_CLIENT_IN_INITIAL_DOWNLOAD = -10
RPC_DATABASE_ERROR = -20
RPC_DESERIALIZATION_ERROR = -22
RPC_CLIENT_NODE_ALREADY_ADDED = -23
RPC_CLIENT_NODE_NOT_ADDED = -24
RPC_VERIFY_ERROR = -25
RPC_VERIFY_REJECTED = -26
RPC_VERIFY_ALREADY_IN_CHAIN = -27
RPC_CLIENT_NODE_NOT_CONNECTED = -29
RPC_CLIENT_INVALID_IP_OR_SUBNET = -30
RPC_INVALID_REQUEST = -32600
RPC_INTERNAL_ERROR = -32603

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")
_INT32 = (-(2**31), 2**31 - 1)


def uv_type(value: Any) -> str:
    """UniValue's name for the JSON type of `value`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def type_check(params: tuple[Any, ...], types: list[str], allow_null: bool = False) -> None:
    """RPCTypeCheck: -3 "Expected type X, got Y" for the first mismatching parameter."""
    for value, expected in zip(params, types, strict=False):
        if allow_null and value is None:
            continue
        got = uv_type(value)
        if got != expected:
            raise RpcError(RPC_TYPE_ERROR, f"Expected type {expected}, got {got}")


def get_str(value: Any) -> str:
    if not isinstance(value, str):
        raise RpcError(RPC_MISC_ERROR, "JSON value is not a string as expected")
    return value


def get_int(value: Any) -> int:
    """UniValue get_int: numbers only, whole and within int32."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RpcError(RPC_MISC_ERROR, "JSON value is not an integer as expected")
    if isinstance(value, float) and not value.is_integer():
        raise RpcError(RPC_MISC_ERROR, "JSON integer out of range")
    number = int(value)
    if not _INT32[0] <= number <= _INT32[1]:
        raise RpcError(RPC_MISC_ERROR, "JSON integer out of range")
    return number


def get_int64(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RpcError(RPC_MISC_ERROR, "JSON value is not an integer as expected")
    if isinstance(value, float) and not value.is_integer():
        raise RpcError(RPC_MISC_ERROR, "JSON integer out of range")
    return int(value)


def get_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise RpcError(RPC_MISC_ERROR, "JSON value is not a boolean as expected")
    return value


def get_array(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise RpcError(RPC_MISC_ERROR, "JSON value is not an array as expected")
    return value


def get_obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RpcError(RPC_MISC_ERROR, "JSON value is not an object as expected")
    return value


def is_hex(text: str) -> bool:
    """fluxd's IsHex: an even, non-zero number of hex digits."""
    return bool(text) and _HEX.fullmatch(text) is not None


def parse_hash(value: Any, name: str) -> bytes:
    """ParseHashV: a 64-hex-digit hash (returned in internal byte order)."""
    text = get_str(value)
    if not is_hex(text):
        raise RpcError(RPC_INVALID_PARAMETER, f"{name} must be hexadecimal string (not '{text}')")
    if len(text) != 64:
        raise RpcError(RPC_INVALID_PARAMETER, f"{name} must be of length 64 (not {len(text)})")
    return bytes.fromhex(text)[::-1]


def lenient_hash(text: str) -> bytes:
    """uint256S: leading hex digits of the text, right-aligned; never fails."""
    text = text.strip()
    if text[:2].lower() == "0x":
        text = text[2:]
    digits = re.match(r"[0-9a-fA-F]*", text)
    hex_text = (digits.group() if digits else "")[-64:].rjust(64, "0")
    return bytes.fromhex(hex_text)[::-1]


def parse_hex(value: Any, name: str) -> bytes:
    """ParseHexV: even-length hex data."""
    text = get_str(value)
    if not is_hex(text):
        raise RpcError(RPC_INVALID_PARAMETER, f"{name} must be hexadecimal string (not '{text}')")
    return bytes.fromhex(text)


def amount(value: Any) -> int:
    """AmountFromValue: FLUX number or string → satoshis; -3 on anything else."""
    try:
        return parse_amount(value)
    except AmountError as exc:
        raise RpcError(RPC_TYPE_ERROR, str(exc)) from exc


def account_param(value: Any) -> str:
    """fluxd's AccountFromValue: accounts are gone; only "" (and "*" for listings) remain."""
    text = get_str(value)
    if text not in ("", "*"):
        raise RpcError(RPC_WALLET_ACCOUNTS_UNSUPPORTED, "Accounts are unsupported")
    return text


def address_script(address: Any, message: str = "Invalid Flux address") -> bytes:
    """The scriptPubKey of a t1/t3 address, else -5 with fluxd's message for the call."""
    try:
        return script_for_address(get_str(address))
    except ValueError as exc:
        raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, message) from exc
