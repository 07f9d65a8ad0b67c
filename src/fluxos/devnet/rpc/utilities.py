"""fluxd's Util RPCs: validateaddress, verifymessage, createmultisig, fee estimates."""

from __future__ import annotations

import binascii
from typing import Any

import coincurve

from fluxos.chain.amounts import to_coins
from fluxos.chain.script import (
    MAX_SCRIPT_SIZE,
    multisig_script,
    script_addresses,
    script_for_address,
)
from fluxos.crypto.addresses import decode_flux_address, flux_p2sh_address
from fluxos.crypto.signed_message import verify_flux_message
from fluxos.devnet.rpc.context import RpcContext
from fluxos.devnet.rpc.params import (
    RPC_INVALID_ADDRESS_OR_KEY,
    RPC_MISC_ERROR,
    RPC_TYPE_ERROR,
    get_array,
    get_int,
    get_str,
    is_hex,
)
from fluxos.devnet.wallet import DEFAULT_FEE_PER_KB, Wallet
from fluxos.jsonrpc import RpcError

MAX_SCRIPT_ELEMENT_SIZE = 520


def multisig_redeem_script(required: Any, keys: Any, wallet: Wallet | None) -> bytes:
    """fluxd's _createmultisig_redeemScript: keys are hex pubkeys or wallet addresses."""
    needed = get_int(required)
    items = get_array(keys)
    if needed < 1:
        raise RpcError(
            RPC_MISC_ERROR, "a multisignature address must require at least one key to redeem"
        )
    if len(items) < needed:
        raise RpcError(
            RPC_MISC_ERROR,
            f"not enough keys supplied (got {len(items)} keys, "
            f"but need at least {needed} to redeem)",
        )
    if len(items) > 16:
        raise RpcError(
            RPC_MISC_ERROR,
            "Number of addresses involved in the multisignature address creation > 16\n"
            "Reduce the number",
        )
    pubkeys: list[bytes] = []
    for item in items:
        text = get_str(item)
        pubkey = _wallet_pubkey(text, wallet)
        if pubkey is None:
            if not is_hex(text):
                raise RpcError(RPC_MISC_ERROR, f" Invalid public key: {text}")
            pubkey = bytes.fromhex(text)
        try:
            coincurve.PublicKey(pubkey)
        except ValueError as exc:
            raise RpcError(RPC_MISC_ERROR, f" Invalid public key: {text}") from exc
        pubkeys.append(pubkey)
    script = multisig_script(needed, pubkeys)
    if len(script) > MAX_SCRIPT_ELEMENT_SIZE:
        raise RpcError(
            RPC_MISC_ERROR,
            f"redeemScript exceeds size limit: {len(script)} > {MAX_SCRIPT_ELEMENT_SIZE}",
        )
    return script


def _wallet_pubkey(text: str, wallet: Wallet | None) -> bytes | None:
    if wallet is None:
        return None
    try:
        kind, h160 = decode_flux_address(text)
    except ValueError:
        return None
    if kind != "p2pkh":
        raise RpcError(RPC_MISC_ERROR, f"{text} does not refer to a key")
    key = wallet.key_for_hash(h160)
    if key is None:
        raise RpcError(RPC_MISC_ERROR, f"no full public key for address {text}")
    return key.public_key


class UtilRpc:
    """Address validation, message verification, multisig, fee estimates."""

    category = "Util"
    commands = (
        "createmultisig",
        "estimatefee",
        "estimatepriority",
        "validateaddress",
        "verifymessage",
    )

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx

    def validateaddress(self, address: Any) -> dict[str, Any]:
        """validateaddress "fluxaddress"

        Return information about the given Flux address."""
        text = get_str(address)
        try:
            kind, h160 = decode_flux_address(text)
        except ValueError:
            return {"isvalid": False}
        script = script_for_address(text)
        akey = (b"\x01" if kind == "p2pkh" else b"\x02") + h160
        wallet = self.ctx.wallet
        mine = wallet.is_mine(akey)
        doc: dict[str, Any] = {
            "isvalid": True,
            "address": text,
            "scriptPubKey": script.hex(),
            "ismine": mine == "spendable",
            "iswatchonly": mine == "watch",
            "isscript": kind == "p2sh",
        }
        if kind == "p2pkh":
            key = wallet.key_for_hash(h160)
            if key is not None:
                doc["pubkey"] = key.public_key.hex()
                doc["iscompressed"] = key.compressed
        else:
            redeem = wallet.scripts.get(akey)
            if redeem is not None:
                sol, addresses = script_addresses(redeem)
                doc["script"] = sol.type
                doc["hex"] = redeem.hex()
                doc["addresses"] = addresses
                if sol.type == "multisig":
                    doc["sigsrequired"] = sol.required
        if mine is not None:
            doc["account"] = wallet.label_of(akey)
        return doc

    def verifymessage(self, address: Any, signature: Any, message: Any) -> bool:
        """verifymessage "fluxaddress" "signature" "message"

        Verify a signed message (fluxd's "Zelcash Signed Message:" magic)."""
        text, sig, msg = get_str(address), get_str(signature), get_str(message)
        try:
            kind, _ = decode_flux_address(text)
        except ValueError as exc:
            raise RpcError(RPC_TYPE_ERROR, "Invalid address") from exc
        if kind != "p2pkh":
            raise RpcError(RPC_TYPE_ERROR, "Address does not refer to key")
        try:
            binascii.a2b_base64(sig, strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Malformed base64 encoding") from exc
        return verify_flux_message(msg, text, sig)

    def createmultisig(self, required: Any, keys: Any) -> dict[str, str]:
        """createmultisig nrequired ["key",...]

        Creates a multi-signature address with n signature of m keys required."""
        script = multisig_redeem_script(required, keys, self.ctx.wallet)
        assert len(script) <= MAX_SCRIPT_SIZE
        return {"address": flux_p2sh_address(script), "redeemScript": script.hex()}

    def estimatefee(self, nblocks: Any) -> float:
        """estimatefee nblocks

        Estimates the fee per kilobyte needed for a transaction to begin confirmation."""
        get_int(nblocks)
        return to_coins(DEFAULT_FEE_PER_KB)

    def estimatepriority(self, nblocks: Any) -> float:
        """estimatepriority nblocks

        Estimates the priority a zero-fee transaction needs (-1: the devnet has no estimate)."""
        get_int(nblocks)
        return -1.0
