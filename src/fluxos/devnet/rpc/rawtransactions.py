"""fluxd's Rawtransactions RPCs: create, decode, sign, send and look up raw transactions."""

from __future__ import annotations

from typing import Any

from fluxos.chain.amounts import AmountError, parse_amount
from fluxos.chain.outpoint import OutPoint, hash_hex
from fluxos.chain.params import (
    DEFAULT_TX_EXPIRY_DELTA,
    TX_EXPIRING_SOON_THRESHOLD,
    TX_EXPIRY_HEIGHT_THRESHOLD,
)
from fluxos.chain.script import is_p2sh, nulldata_script, script_json, to_asm
from fluxos.chain.serialization import DecodeError
from fluxos.chain.sighash import (
    SIGHASH_ALL,
    SIGHASH_ANYONECANPAY,
    SIGHASH_NONE,
    SIGHASH_SINGLE,
    SighashCache,
)
from fluxos.chain.signing import KeyStore, SimpleKeyStore, sign_input
from fluxos.chain.transaction import Transaction, TxIn, TxOut
from fluxos.crypto.addresses import flux_p2sh_address
from fluxos.crypto.keys import PrivateKey
from fluxos.devnet.mempool import AlreadyInChain
from fluxos.devnet.rpc.context import RpcContext
from fluxos.devnet.rpc.params import (
    RPC_DESERIALIZATION_ERROR,
    RPC_INVALID_ADDRESS_OR_KEY,
    RPC_INVALID_PARAMETER,
    RPC_MISC_ERROR,
    RPC_TYPE_ERROR,
    RPC_VERIFY_ALREADY_IN_CHAIN,
    RPC_VERIFY_ERROR,
    RPC_VERIFY_REJECTED,
    address_script,
    amount,
    get_array,
    get_bool,
    get_int,
    get_int64,
    get_obj,
    get_str,
    parse_hash,
    parse_hex,
    type_check,
    uv_type,
)
from fluxos.devnet.validation import Coin, TxRejected
from fluxos.jsonrpc import RpcError

SIGHASH_TYPES = {
    "ALL": SIGHASH_ALL,
    "ALL|ANYONECANPAY": SIGHASH_ALL | SIGHASH_ANYONECANPAY,
    "NONE": SIGHASH_NONE,
    "NONE|ANYONECANPAY": SIGHASH_NONE | SIGHASH_ANYONECANPAY,
    "SINGLE": SIGHASH_SINGLE,
    "SINGLE|ANYONECANPAY": SIGHASH_SINGLE | SIGHASH_ANYONECANPAY,
}
KNOWN_BRANCH_IDS = {0x5BA81B19, 0x76B809BB, 0x2BB40E60, 0xF5B9230B, 0xE9FF75A6}


def decode_tx(hexstring: Any) -> Transaction:
    """DecodeHexTx or -22 "TX decode failed"."""
    try:
        return Transaction.from_hex(get_str(hexstring))
    except (DecodeError, ValueError) as exc:
        raise RpcError(RPC_DESERIALIZATION_ERROR, "TX decode failed") from exc


def submit(ctx: RpcContext, tx: Transaction, raw: bytes, allow_high_fees: bool) -> str:
    """sendrawtransaction's acceptance path with fluxd's error mapping."""
    txid = tx.txid()
    if tx.expiry_height:
        next_height = ctx.chain.height + 1
        if next_height + TX_EXPIRING_SOON_THRESHOLD > tx.expiry_height:
            raise RpcError(
                RPC_VERIFY_REJECTED,
                f"tx-expiring-soon: expiryheight is {tx.expiry_height} but should be at least "
                f"{next_height + TX_EXPIRING_SOON_THRESHOLD} to avoid transaction expiring soon",
            )
    if txid in ctx.mempool.entries:
        return hash_hex(txid)
    try:
        ctx.mempool.accept(tx, raw, txid=txid, allow_high_fees=allow_high_fees)
    except AlreadyInChain as exc:
        raise RpcError(RPC_VERIFY_ALREADY_IN_CHAIN, "transaction already in block chain") from exc
    except TxRejected as exc:
        if exc.missing_inputs:
            raise RpcError(RPC_VERIFY_ERROR, "Missing inputs") from exc
        if exc.code == 0:
            raise RpcError(RPC_VERIFY_ERROR, exc.reason) from exc
        raise RpcError(RPC_VERIFY_REJECTED, f"{exc.code}: {exc.reason}") from exc
    return hash_hex(txid)


class RawTransactionsRpc:
    """Raw transaction handling, as fluxd's rawtransaction.cpp."""

    category = "Rawtransactions"
    commands = (
        "createrawtransaction", "decoderawtransaction", "decodescript", "getrawtransaction",
        "sendrawtransaction", "signrawtransaction",
    )  # fmt: skip

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx

    def getrawtransaction(self, txid: Any, verbose: Any = 0) -> Any:
        """getrawtransaction "txid" ( verbose )

        Return the raw transaction data: hex, or an object when verbose is non-zero."""
        tx_hash = parse_hash(txid, "parameter 1")
        detailed = get_int(verbose) != 0
        found = self.ctx.find_tx(tx_hash)
        if found is None:
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "No information available about transaction")
        tx, raw, block = found
        if not detailed:
            return raw.hex()
        doc: dict[str, Any] = {"hex": raw.hex()}
        doc.update(self.ctx.tx_json(tx, tx_hash, block))
        return doc

    def decoderawtransaction(self, hexstring: Any) -> dict[str, Any]:
        """decoderawtransaction "hexstring"

        Return a JSON object representing the serialized, hex-encoded transaction."""
        type_check((hexstring,), ["string"])
        tx = decode_tx(hexstring)
        return self.ctx.tx_json(tx, tx.txid(), None)

    def decodescript(self, hexstring: Any) -> dict[str, Any]:
        """decodescript "hex"

        Decode a hex-encoded script."""
        type_check((hexstring,), ["string"])
        script = parse_hex(hexstring, "argument") if hexstring else b""
        doc = script_json(script, include_hex=False)
        doc["p2sh"] = flux_p2sh_address(script)
        return doc

    def createrawtransaction(
        self, inputs: Any, outputs: Any, locktime: Any = None, expiryheight: Any = None
    ) -> str:
        """createrawtransaction [{"txid","vout"},...] {"address":amount,...} ( locktime expiry )

        Create an unsigned transaction spending the given inputs and paying the outputs
        (a "data" key adds an OP_RETURN output with that hex)."""
        type_check(
            (inputs, outputs, locktime, expiryheight), ["array", "object", "number", "number"], True
        )
        if inputs is None or outputs is None:
            raise RpcError(
                RPC_INVALID_PARAMETER, "Invalid parameter, arguments 1 and 2 must be non-null"
            )
        next_height = self.ctx.chain.height + 1
        tx = Transaction(expiry_height=next_height + DEFAULT_TX_EXPIRY_DELTA)
        if locktime is not None:
            value = get_int64(locktime)
            if not 0 <= value <= 0xFFFFFFFF:
                raise RpcError(RPC_INVALID_PARAMETER, "Invalid parameter, locktime out of range")
            tx.lock_time = value
        if expiryheight is not None:
            expiry = get_int64(expiryheight)
            if not 0 <= expiry < TX_EXPIRY_HEIGHT_THRESHOLD:
                raise RpcError(
                    RPC_INVALID_PARAMETER,
                    "Invalid parameter, expiryheight must be nonnegative and less than "
                    f"{TX_EXPIRY_HEIGHT_THRESHOLD}.",
                )
            if expiry != 0 and next_height + TX_EXPIRING_SOON_THRESHOLD > expiry:
                raise RpcError(
                    RPC_INVALID_PARAMETER,
                    "Invalid parameter, expiryheight should be at least "
                    f"{next_height + TX_EXPIRING_SOON_THRESHOLD} "
                    "to avoid transaction expiring soon",
                )
            tx.expiry_height = expiry
        for item in get_array(inputs):
            o = get_obj(item)
            prev = parse_hash(o.get("txid"), "txid")
            vout = o.get("vout")
            if isinstance(vout, bool) or not isinstance(vout, int | float):
                raise RpcError(RPC_INVALID_PARAMETER, "Invalid parameter, missing vout key")
            n = get_int(vout)
            if n < 0:
                raise RpcError(RPC_INVALID_PARAMETER, "Invalid parameter, vout must be positive")
            sequence = 0xFFFFFFFE if tx.lock_time else 0xFFFFFFFF
            if isinstance(o.get("sequence"), int | float) and not isinstance(
                o.get("sequence"), bool
            ):
                sequence = get_int64(o["sequence"]) & 0xFFFFFFFF
            tx.vin.append(TxIn(OutPoint(prev, n), b"", sequence))
        seen: set[bytes] = set()
        for name, value in get_obj(outputs).items():
            if name == "data":
                tx.vout.append(TxOut(0, nulldata_script(parse_hex(value, "Data"))))
                continue
            script = address_script(name, f"Invalid Flux address: {name}")
            if script in seen:
                raise RpcError(
                    RPC_INVALID_PARAMETER, f"Invalid parameter, duplicated address: {name}"
                )
            seen.add(script)
            tx.vout.append(TxOut(amount(value), script))
        return tx.serialize().hex()

    def sendrawtransaction(self, hexstring: Any, allowhighfees: Any = False) -> str:
        """sendrawtransaction "hexstring" ( allowhighfees )

        Submits raw transaction (serialized, hex-encoded) to the devnet's mempool."""
        type_check((hexstring, allowhighfees), ["string", "bool"])
        tx = decode_tx(hexstring)
        return submit(self.ctx, tx, bytes.fromhex(hexstring), get_bool(allowhighfees))

    def signrawtransaction(
        self,
        hexstring: Any,
        prevtxs: Any = None,
        privatekeys: Any = None,
        sighashtype: Any = None,
        branchid: Any = None,
    ) -> dict[str, Any]:
        """signrawtransaction "hex" ( [{"txid","vout","scriptPubKey"},...] [keys] sighash branch )

        Sign inputs for a raw transaction with the wallet's keys or the given ones."""
        type_check(
            (hexstring, prevtxs, privatekeys, sighashtype, branchid),
            ["string", "array", "array", "string", "string"],
            True,
        )
        data = parse_hex(hexstring, "argument 1")
        try:
            tx = Transaction.from_bytes(data)
        except DecodeError as exc:
            raise RpcError(RPC_DESERIALIZATION_ERROR, "TX decode failed") from exc
        coins: dict[tuple[bytes, int], Coin] = {}
        for txin in tx.vin:
            coin = self.ctx.mempool.coin((txin.prevout.txid, txin.prevout.n))
            if coin is not None:
                coins[(txin.prevout.txid, txin.prevout.n)] = coin
        keys: list[PrivateKey] = []
        scripts: list[bytes] = []
        given_keys = privatekeys is not None
        if given_keys:
            for item in get_array(privatekeys):
                try:
                    keys.append(PrivateKey.from_wif(get_str(item)))
                except ValueError as exc:
                    raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid private key") from exc
        if prevtxs is not None:
            for item in get_array(prevtxs):
                self._add_prevtx(item, coins, scripts, given_keys)
        store: KeyStore = SimpleKeyStore.of(keys, scripts) if given_keys else self.ctx.wallet
        hash_type = SIGHASH_ALL
        if sighashtype is not None:
            name = get_str(sighashtype)
            if name not in SIGHASH_TYPES:
                raise RpcError(RPC_INVALID_PARAMETER, "Invalid sighash param")
            hash_type = SIGHASH_TYPES[name]
        branch = 0x76B809BB
        if branchid is not None:
            text = get_str(branchid)
            try:
                branch = int(text, 16)
            except ValueError:
                branch = -1
            if branch not in KNOWN_BRANCH_IDS:
                raise RpcError(RPC_MISC_ERROR, f"{text} is not a valid consensus branch id")
        if not tx.is_sapling:
            raise RpcError(
                RPC_DESERIALIZATION_ERROR,
                "TX decode failed: only Sapling (v4) transactions can be signed",
            )
        cache = SighashCache(tx, branch)
        errors = []
        single = (hash_type & ~SIGHASH_ANYONECANPAY) == SIGHASH_SINGLE
        for n, txin in enumerate(tx.vin):
            coin = coins.get((txin.prevout.txid, txin.prevout.n))
            if coin is None:
                errors.append(_input_error(txin, "Input not found or already spent"))
                continue
            if single and n >= len(tx.vout):
                errors.append(_input_error(txin, "Signature hash type missing or not understood"))
                continue
            script_sig, error = sign_input(cache, n, coin.script, coin.value, store, hash_type)
            txin.script_sig = script_sig
            if error is not None:
                errors.append(_input_error(txin, error))
        result: dict[str, Any] = {"hex": tx.serialize().hex(), "complete": not errors}
        if errors:
            result["errors"] = errors
        return result

    def _add_prevtx(
        self,
        item: Any,
        coins: dict[tuple[bytes, int], Coin],
        scripts: list[bytes],
        given_keys: bool,
    ) -> None:
        if not isinstance(item, dict):
            raise RpcError(
                RPC_DESERIALIZATION_ERROR, 'expected object with {"txid\'","vout","scriptPubKey"}'
            )
        for key, expected in (("txid", "string"), ("vout", "number"), ("scriptPubKey", "string")):
            if key not in item:
                raise RpcError(RPC_TYPE_ERROR, f"Missing {key}")
            if uv_type(item[key]) != expected:
                raise RpcError(
                    RPC_TYPE_ERROR, f"Expected type {expected} for {key}, got {uv_type(item[key])}"
                )
        txid = parse_hash(item["txid"], "txid")
        n = get_int(item["vout"])
        if n < 0:
            raise RpcError(RPC_DESERIALIZATION_ERROR, "vout must be positive")
        script = parse_hex(item["scriptPubKey"], "scriptPubKey")
        existing = coins.get((txid, n))
        if existing is not None and existing.script != script:
            raise RpcError(
                RPC_DESERIALIZATION_ERROR,
                "Previous output scriptPubKey mismatch:\n"
                f"{to_asm(existing.script)}\nvs:\n{to_asm(script)}",
            )
        value = 0
        if "amount" in item:
            try:
                value = parse_amount(item["amount"])
            except AmountError as exc:
                raise RpcError(RPC_TYPE_ERROR, str(exc)) from exc
        coins[(txid, n)] = Coin(value, script, existing.height if existing else 0, False)
        if given_keys and is_p2sh(script) and item.get("redeemScript") is not None:
            scripts.append(parse_hex(item["redeemScript"], "redeemScript"))


def _input_error(txin: TxIn, message: str) -> dict[str, Any]:
    return {
        "txid": hash_hex(txin.prevout.txid),
        "vout": txin.prevout.n,
        "scriptSig": txin.script_sig.hex(),
        "sequence": txin.sequence,
        "error": message,
    }
