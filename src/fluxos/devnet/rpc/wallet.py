"""fluxd's Wallet RPCs for balances, coins and payments (history and keys live next door)."""

from __future__ import annotations

from typing import Any

from fluxos.chain.amounts import to_coins
from fluxos.chain.outpoint import hash_hex
from fluxos.chain.script import script_for_address
from fluxos.chain.transaction import OutPoint, TxIn, TxOut
from fluxos.devnet.indexes import address_to_key, key_address
from fluxos.devnet.mempool import AlreadyInChain
from fluxos.devnet.rpc.context import RpcContext
from fluxos.devnet.rpc.params import (
    RPC_INTERNAL_ERROR,
    RPC_INVALID_ADDRESS_OR_KEY,
    RPC_INVALID_PARAMETER,
    RPC_TYPE_ERROR,
    RPC_WALLET_ERROR,
    RPC_WALLET_INSUFFICIENT_FUNDS,
    account_param,
    address_script,
    amount,
    get_array,
    get_bool,
    get_int,
    get_obj,
    get_str,
    is_hex,
    lenient_hash,
    type_check,
    uv_type,
)
from fluxos.devnet.rpc.rawtransactions import decode_tx
from fluxos.devnet.rpc.wallethistory import wallet_txs
from fluxos.devnet.validation import TxRejected, dust_threshold
from fluxos.devnet.wallet import WalletError
from fluxos.jsonrpc import RpcError


def _send_amount(value: Any) -> int:
    sats = amount(value)
    if sats <= 0:
        raise RpcError(RPC_TYPE_ERROR, "Invalid amount for send")
    return sats


def _from_key(text: str) -> bytes | None:
    if not text:
        return None
    try:
        return address_to_key(text)
    except ValueError as exc:
        raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid fromaccount Flux address") from exc


class WalletRpc:
    """Balances, unspent outputs, locks, fees and sending."""

    category = "Wallet"
    commands = (
        "fundrawtransaction", "getbalance", "getunconfirmedbalance", "getwalletinfo",
        "listlockunspent", "listunspent", "lockunspent", "sendfrom", "sendmany", "sendtoaddress",
        "settxfee",
    )  # fmt: skip

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx

    # ------------------------------------------------------------------ balances
    def getbalance(
        self, account: Any = "", minconf: Any = 1, include_watchonly: Any = False
    ) -> float:
        """getbalance ( "account" minconf includeWatchonly )

        Returns the wallet's balance of coins with at least minconf confirmations."""
        account_param(account)
        return to_coins(self.ctx.wallet.balance(get_int(minconf), get_bool(include_watchonly)))

    def getunconfirmedbalance(self) -> float:
        """getunconfirmedbalance

        Returns the server's total unconfirmed balance."""
        return to_coins(self.ctx.wallet.unconfirmed_balance())

    def getwalletinfo(self) -> dict[str, Any]:
        """getwalletinfo

        Returns an object containing various wallet state info."""
        wallet = self.ctx.wallet
        return {
            "walletversion": 60000,
            "balance": to_coins(wallet.balance()),
            "unconfirmed_balance": to_coins(wallet.unconfirmed_balance()),
            "immature_balance": to_coins(wallet.immature_balance()),
            "txcount": len(wallet_txs(self.ctx)),
            "keypoololdest": min((k.created for k in wallet.keys.values()), default=0),
            "keypoolsize": len(wallet.pool),
            "paytxfee": to_coins(wallet.fee_per_kb),
        }

    def settxfee(self, fee: Any) -> bool:
        """settxfee amount

        Set the transaction fee per kB (0 returns to the default)."""
        self.ctx.wallet.fee_per_kb = amount(fee)
        return True

    # ------------------------------------------------------------------ coins
    def listunspent(
        self, minconf: Any = 1, maxconf: Any = 9_999_999, addresses: Any = None
    ) -> list[dict[str, Any]]:
        """listunspent ( minconf maxconf ["address",...] )

        Returns unspent transaction outputs with between minconf and maxconf confirmations."""
        type_check((minconf, maxconf, addresses), ["number", "number", "array"], True)
        low, high = get_int(minconf), get_int(maxconf)
        wanted: set[bytes] = set()
        if addresses is not None:
            for item in get_array(addresses):
                text = get_str(item)
                try:
                    key = address_to_key(text)
                except ValueError as exc:
                    raise RpcError(
                        RPC_INVALID_ADDRESS_OR_KEY, f"Invalid Flux address: {text}"
                    ) from exc
                if key in wanted:
                    raise RpcError(
                        RPC_INVALID_PARAMETER, f"Invalid parameter, duplicated address: {text}"
                    )
                wanted.add(key)
        wallet = self.ctx.wallet
        out = []
        for (txid, n), akey, coin in wallet.unspent():
            if (txid, n) in wallet.locked or not wallet.is_mature(coin):
                continue
            depth = wallet.depth(coin)
            if depth < low or depth > high or (wanted and akey not in wanted):
                continue
            entry: dict[str, Any] = {"txid": hash_hex(txid), "vout": n, "generated": coin.coinbase}
            entry["address"] = key_address(akey)
            label = wallet.label_of(akey)
            if wallet.is_mine(akey) is not None and (label or akey in wallet.keys):
                entry["account"] = label
            if akey in wallet.scripts:
                entry["redeemScript"] = wallet.scripts[akey].hex()
            entry["scriptPubKey"] = coin.script.hex()
            entry["amount"] = to_coins(coin.value)
            entry["confirmations"] = depth
            entry["spendable"] = wallet.is_mine(akey) == "spendable"
            out.append(entry)
        return out

    def lockunspent(self, unlock: Any, transactions: Any = None) -> bool:
        """lockunspent unlock [{"txid":"txid","vout":n},...]

        Temporarily lock (unlock=false) or unlock (unlock=true) transaction outputs."""
        if transactions is None:
            type_check((unlock,), ["bool"])
        else:
            type_check((unlock, transactions), ["bool", "array"])
        release = get_bool(unlock)
        locked = self.ctx.wallet.locked
        if transactions is None:
            if release:
                locked.clear()
            return True
        for item in get_array(transactions):
            if not isinstance(item, dict):
                raise RpcError(RPC_INVALID_PARAMETER, "Invalid parameter, expected object")
            for key, expected in (("txid", "string"), ("vout", "number")):
                if key not in item:
                    raise RpcError(RPC_TYPE_ERROR, f"Missing {key}")
                if uv_type(item[key]) != expected:
                    raise RpcError(
                        RPC_TYPE_ERROR,
                        f"Expected type {expected} for {key}, got {uv_type(item[key])}",
                    )
            text = item["txid"]
            if not is_hex(text):
                raise RpcError(RPC_INVALID_PARAMETER, "Invalid parameter, expected hex txid")
            n = get_int(item["vout"])
            if n < 0:
                raise RpcError(RPC_INVALID_PARAMETER, "Invalid parameter, vout must be positive")
            outpoint = (lenient_hash(text), n)
            if release:
                locked.discard(outpoint)
            else:
                locked.add(outpoint)
        return True

    def listlockunspent(self) -> list[dict[str, Any]]:
        """listlockunspent

        Returns list of temporarily unspendable outputs."""
        return [{"txid": hash_hex(t), "vout": n} for t, n in sorted(self.ctx.wallet.locked)]

    # ------------------------------------------------------------------ sending
    def _send(
        self,
        recipients: list[tuple[bytes, int, bool]],
        min_conf: int,
        from_key: bytes | None,
        notes: dict[str, str],
        fail_code: int,
        commit_message: str,
    ) -> str:
        wallet = self.ctx.wallet
        try:
            tx, _fee = wallet.create_transaction(recipients, min_conf, from_key)
        except WalletError as exc:
            raise RpcError(fail_code if exc.code == -6 else exc.code, exc.message) from exc
        try:
            txid = wallet.commit(tx, notes)
        except (TxRejected, AlreadyInChain) as exc:
            raise RpcError(RPC_WALLET_ERROR, commit_message) from exc
        return hash_hex(txid)

    def sendtoaddress(
        self,
        address: Any,
        value: Any,
        comment: Any = None,
        comment_to: Any = None,
        subtract_fee: Any = False,
    ) -> str:
        """sendtoaddress "fluxaddress" amount ( "comment" "comment-to" subtractfeefromamount )

        Send an amount to a given address."""
        script = address_script(address)
        sats = _send_amount(value)
        notes = _notes(comment, comment_to)
        subtract = get_bool(subtract_fee)
        if sats > self.ctx.wallet.balance():
            raise RpcError(RPC_WALLET_INSUFFICIENT_FUNDS, "Insufficient funds")
        return self._send(
            [(script, sats, subtract)], 1, None, notes, RPC_WALLET_ERROR,
            "Error: The transaction was rejected! This might happen if some of the coins in your "
            "wallet were already spent, such as if you used a copy of wallet.dat and coins were "
            "spent in the copy but not marked as spent here.",
        )  # fmt: skip

    def sendfrom(
        self,
        fromaccount: Any,
        address: Any,
        value: Any,
        minconf: Any = 1,
        comment: Any = None,
        comment_to: Any = None,
    ) -> str:
        """sendfrom "fromaccount" "tofluxaddress" amount ( minconf "comment" "comment-to" )

        Send from a wallet address ("" = any) to a Flux address; change returns to the sender."""
        source = get_str(fromaccount)
        script = address_script(address, "Invalid destination Flux address")
        from_key = _from_key(source)
        sats = _send_amount(value)
        min_conf = get_int(minconf)
        notes = _notes(comment, comment_to)
        if sats > self.ctx.wallet.balance(from_key=from_key):
            raise RpcError(RPC_WALLET_INSUFFICIENT_FUNDS, "Address has insufficient funds")
        return self._send([(script, sats, False)], min_conf, from_key, notes, RPC_WALLET_ERROR,
                          "Error: The transaction was rejected!")  # fmt: skip

    def sendmany(
        self,
        fromaccount: Any,
        amounts: Any,
        minconf: Any = 1,
        comment: Any = None,
        subtract_fee_from: Any = None,
    ) -> str:
        """sendmany "fromaccount" {"address":amount,...} ( minconf "comment" ["address",...] )

        Send multiple times in one transaction."""
        source = get_str(fromaccount)
        targets = get_obj(amounts)
        min_conf = get_int(minconf)
        notes = _notes(comment, None)
        takers = (
            {get_str(a) for a in get_array(subtract_fee_from)}
            if subtract_fee_from is not None
            else set()
        )
        recipients: list[tuple[bytes, int, bool]] = []
        seen: set[bytes] = set()
        for name, value in targets.items():
            script = address_script(name, f"Invalid Flux address: {name}")
            if script in seen:
                raise RpcError(
                    RPC_INVALID_PARAMETER, f"Invalid parameter, duplicated address: {name}"
                )
            seen.add(script)
            recipients.append((script, _send_amount(value), name in takers))
        from_key = _from_key(source) if source else None
        total = sum(a for _, a, _ in recipients)
        if total > self.ctx.wallet.balance(from_key=from_key):
            raise RpcError(RPC_WALLET_INSUFFICIENT_FUNDS, "Address has insufficient funds")
        return self._send(recipients, min_conf, from_key, notes, RPC_WALLET_INSUFFICIENT_FUNDS,
                          "Transaction commit failed")  # fmt: skip

    def fundrawtransaction(self, hexstring: Any) -> dict[str, Any]:
        """fundrawtransaction "hexstring"

        Add wallet inputs (and one change output) until the transaction's outputs are covered."""
        type_check((hexstring,), ["string"])
        tx = decode_tx(hexstring)
        wallet = self.ctx.wallet
        have = 0
        for txin in tx.vin:
            coin = self.ctx.mempool.coin((txin.prevout.txid, txin.prevout.n))
            if coin is None:
                raise RpcError(RPC_INTERNAL_ERROR, "Insufficient funds")
            have += coin.value
        outputs = tx.value_out()
        taken = {(i.prevout.txid, i.prevout.n) for i in tx.vin}
        candidates = sorted(
            ((o, c) for o, _, c in wallet.spendable(1) if o not in taken),
            key=lambda oc: -oc[1].value,
        )
        added = 0
        while True:
            fee = wallet.fee_for(len(tx.serialize()) + 107 * len(tx.vin) + 34)
            if have >= outputs + fee:
                break
            if added >= len(candidates):
                raise RpcError(RPC_INTERNAL_ERROR, "Insufficient funds")
            outpoint, coin = candidates[added]
            added += 1
            tx.vin.append(
                TxIn(OutPoint(*outpoint), b"", 0xFFFFFFFE if tx.lock_time else 0xFFFFFFFF)
            )
            have += coin.value
        change = have - outputs - fee
        change_pos = -1
        if added or change > 0:
            change_script = script_for_address(wallet.new_key(change=True).address)
            if change >= dust_threshold(change_script):
                tx.vout.append(TxOut(change, change_script))
                change_pos = len(tx.vout) - 1
        return {
            "hex": tx.serialize().hex(),
            "changepos": change_pos,
            "fee": to_coins(have - tx.value_out()),
        }


def _notes(comment: Any, comment_to: Any) -> dict[str, str]:
    notes: dict[str, str] = {}
    if comment is not None and get_str(comment):
        notes["comment"] = comment
    if comment_to is not None and get_str(comment_to):
        notes["to"] = comment_to
    return notes
