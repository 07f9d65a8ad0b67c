"""fluxd's wallet history RPCs (listtransactions, gettransaction, listsinceblock, received-by
queries, address groupings), computed from the chain's address index for the wallet's
addresses plus the mempool, so they agree with the chain through reorgs by construction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fluxos.chain.amounts import to_coins
from fluxos.chain.outpoint import hash_hex
from fluxos.chain.params import COINBASE_MATURITY
from fluxos.chain.transaction import Transaction
from fluxos.devnet.chainstate import BlockEntry
from fluxos.devnet.indexes import address_key, address_to_key, key_address
from fluxos.devnet.rpc.context import RpcContext
from fluxos.devnet.rpc.params import (
    RPC_INVALID_ADDRESS_OR_KEY,
    RPC_INVALID_PARAMETER,
    account_param,
    get_bool,
    get_int,
    get_str,
    lenient_hash,
)
from fluxos.jsonrpc import RpcError


@dataclass
class WalletTxView:
    """A transaction touching the wallet, with what the wallet put in and got out."""

    txid: bytes
    tx: Transaction
    size: int
    block: BlockEntry | None
    position: int
    time: int
    debit: int = 0
    debit_watch: int = 0
    outputs: list[tuple[int, bytes | None, int, str | None]] = field(default_factory=list)

    def depth(self, ctx: RpcContext) -> int:
        if self.block is None:
            return 0
        return ctx.chain.height - self.block.height + 1 if ctx.chain.contains(self.block) else -1


def wallet_txs(ctx: RpcContext) -> dict[bytes, WalletTxView]:
    """Every transaction touching a wallet address, confirmed ones in chain order, then the pool."""
    wallet, indexes, chain = ctx.wallet, ctx.indexes, ctx.chain
    found: dict[bytes, tuple[int, int]] = {}
    debit: dict[bytes, list[int]] = {}
    for akey in wallet.all_keys():
        mine = wallet.is_mine(akey)
        if mine is None:
            continue
        for d in indexes.deltas.get(akey, ()):
            found.setdefault(d.txid, (d.height, d.block_position))
            if d.spending:
                slot = debit.setdefault(d.txid, [0, 0])
                slot[0 if mine == "spendable" else 1] += -d.satoshis
    views: dict[bytes, WalletTxView] = {}
    for txid, _ in sorted(found.items(), key=lambda kv: kv[1]):
        location = indexes.tx_index.get(txid)
        if location is None:
            continue
        parsed = chain.parsed(location.block_hash)
        block = chain.entries[location.block_hash]
        view = WalletTxView(
            txid, parsed.block.txs[location.position],
            len(parsed.tx_bytes(location.position)), block, location.position,
            wallet.tx_seen.get(txid, block.time),
        )  # fmt: skip
        view.debit, view.debit_watch = debit.get(txid, [0, 0])
        views[txid] = view
    for txid, entry in ctx.mempool.entries.items():
        spent_mine = [wallet.is_mine(address_key(c.script)) for c in entry.spent]
        paid_mine = [wallet.is_mine(address_key(o.script_pubkey)) for o in entry.tx.vout]
        if not any(spent_mine) and not any(paid_mine):
            continue
        view = WalletTxView(
            txid, entry.tx, entry.size, None, 0, wallet.tx_seen.get(txid, entry.time)
        )
        for coin, mine in zip(entry.spent, spent_mine, strict=True):
            if mine == "spendable":
                view.debit += coin.value
            elif mine == "watch":
                view.debit_watch += coin.value
        views[txid] = view
    for view in views.values():
        for n, out in enumerate(view.tx.vout):
            paid = address_key(out.script_pubkey)
            view.outputs.append((n, paid, out.value, wallet.is_mine(paid)))
    return views


class WalletHistoryRpc:
    """Wallet transaction listings."""

    category = "Wallet"
    commands = (
        "getreceivedbyaddress", "gettransaction", "listaddressgroupings", "listreceivedbyaddress",
        "listsinceblock", "listtransactions",
    )  # fmt: skip

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx

    # ------------------------------------------------------------------ entries
    def _common(self, view: WalletTxView) -> dict[str, Any]:
        """fluxd's WalletTxToJSON fields."""
        depth = view.depth(self.ctx)
        doc: dict[str, Any] = {"confirmations": depth}
        if view.tx.is_coinbase:
            doc["generated"] = True
        if depth > 0 and view.block is not None:
            doc["blockhash"] = hash_hex(view.block.hash)
            doc["blockindex"] = view.position
            doc["blocktime"] = view.block.time
            doc["expiryheight"] = view.tx.expiry_height
        doc["txid"] = hash_hex(view.txid)
        doc["walletconflicts"] = []
        doc["time"] = view.time
        doc["timereceived"] = self.ctx.wallet.tx_seen.get(view.txid, view.time)
        doc.update(self.ctx.wallet.tx_notes.get(view.txid, {}))
        doc["vJoinSplit"] = []
        return doc

    def _entries(
        self, view: WalletTxView, watch: bool, long: bool, min_depth: int = 0
    ) -> list[dict[str, Any]]:
        """fluxd's ListTransactions for one transaction: "send" then "receive" entries."""
        wallet = self.ctx.wallet
        debit = view.debit + (view.debit_watch if watch else 0)
        fee = debit - view.tx.value_out() if debit > 0 else 0
        involves_watch = view.debit_watch > 0
        sent: list[tuple[int, bytes | None, int]] = []
        received: list[tuple[int, bytes | None, int]] = []
        for n, akey, value, mine in view.outputs:
            counted = mine == "spendable" or (watch and mine == "watch")
            if debit > 0:
                change = akey is not None and akey in wallet.keys and wallet.keys[akey].change
                if counted and change:
                    continue
                sent.append((n, akey, value))
            if counted:
                received.append((n, akey, value))
        out: list[dict[str, Any]] = []
        depth = view.depth(self.ctx)
        for n, akey, value in sent:
            entry: dict[str, Any] = {}
            if involves_watch or (akey is not None and wallet.is_mine(akey) == "watch"):
                entry["involvesWatchonly"] = True
            entry["account"] = ""
            if akey is not None:
                entry["address"] = key_address(akey)
            entry.update(
                {"category": "send", "amount": to_coins(-value), "vout": n, "fee": to_coins(-fee)}
            )
            if long:
                entry.update(self._common(view))
            entry["size"] = view.size
            out.append(entry)
        if received and depth >= min_depth:
            for n, akey, value in received:
                entry = {}
                if involves_watch or (akey is not None and wallet.is_mine(akey) == "watch"):
                    entry["involvesWatchonly"] = True
                entry["account"] = wallet.label_of(akey) if akey is not None else ""
                if akey is not None:
                    entry["address"] = key_address(akey)
                if view.tx.is_coinbase:
                    if depth < 1:
                        category = "orphan"
                    elif depth <= COINBASE_MATURITY:
                        category = "immature"
                    else:
                        category = "generate"
                else:
                    category = "receive"
                entry.update({"category": category, "amount": to_coins(value), "vout": n})
                if long:
                    entry.update(self._common(view))
                entry["size"] = view.size
                out.append(entry)
        return out

    # ------------------------------------------------------------------ RPCs
    def listtransactions(
        self, account: Any = "*", count: Any = 10, skip: Any = 0, include_watchonly: Any = False
    ) -> list[dict[str, Any]]:
        """listtransactions ( "account" count from includeWatchonly )

        Returns up to 'count' most recent transactions skipping the first 'from' transactions."""
        account_param(account)
        n, start = get_int(count), get_int(skip)
        if n < 0:
            raise RpcError(RPC_INVALID_PARAMETER, "Negative count")
        if start < 0:
            raise RpcError(RPC_INVALID_PARAMETER, "Negative from")
        watch = get_bool(include_watchonly)
        entries: list[dict[str, Any]] = []
        for view in wallet_txs(self.ctx).values():
            entries.extend(self._entries(view, watch, long=True))
        end = max(0, len(entries) - start)
        return entries[max(0, end - n) : end]

    def listsinceblock(
        self, block_hash: Any = "", target_confirmations: Any = 1, include_watchonly: Any = False
    ) -> dict[str, Any]:
        """listsinceblock ( "blockhash" target-confirmations includeWatchonly )

        Get all transactions in blocks since block [blockhash], or all transactions if omitted."""
        text = get_str(block_hash)
        since = self.ctx.chain.entries.get(lenient_hash(text)) if text else None
        target = get_int(target_confirmations)
        if target < 1:
            raise RpcError(RPC_INVALID_PARAMETER, "Invalid parameter")
        watch = get_bool(include_watchonly)
        chain = self.ctx.chain
        depth = chain.height + 1 - since.height if since is not None else -1
        transactions: list[dict[str, Any]] = []
        for view in wallet_txs(self.ctx).values():
            if depth == -1 or view.depth(self.ctx) < depth:
                transactions.extend(self._entries(view, watch, long=True))
        last = chain.at_height(chain.height + 1 - target)
        return {
            "transactions": transactions,
            "lastblock": hash_hex(last.hash) if last else "0" * 64,
        }

    def gettransaction(self, txid: Any, include_watchonly: Any = False) -> dict[str, Any]:
        """gettransaction "txid" ( includeWatchonly )

        Get detailed information about an in-wallet transaction."""
        tx_hash = lenient_hash(get_str(txid))
        watch = get_bool(include_watchonly)
        view = wallet_txs(self.ctx).get(tx_hash)
        if view is None:
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid or non-wallet transaction id")
        debit = view.debit + (view.debit_watch if watch else 0)
        credit = sum(
            v for _, _, v, m in view.outputs if m == "spendable" or (watch and m == "watch")
        )
        fee = view.tx.value_out() - debit if debit > 0 else 0
        doc: dict[str, Any] = {"amount": to_coins(credit - debit - fee)}
        if debit > 0:
            doc["fee"] = to_coins(fee)
        doc.update(self._common(view))
        doc["details"] = self._entries(view, watch, long=False)
        found = self.ctx.find_tx(tx_hash)
        doc["hex"] = found[1].hex() if found else view.tx.serialize().hex()
        return doc

    def getreceivedbyaddress(self, address: Any, minconf: Any = 1) -> float:
        """getreceivedbyaddress "fluxaddress" ( minconf )

        Returns the amount received by the address in transactions with minconf confirmations."""
        text = get_str(address)
        try:
            akey = address_to_key(text)
        except ValueError as exc:
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid Flux address") from exc
        min_conf = get_int(minconf)
        if self.ctx.wallet.is_mine(akey) is None:
            return 0.0
        total = 0
        for view in wallet_txs(self.ctx).values():
            if view.tx.is_coinbase or view.depth(self.ctx) < min_conf:
                continue
            total += sum(v for _, k, v, _ in view.outputs if k == akey)
        return to_coins(total)

    def listreceivedbyaddress(
        self, minconf: Any = 1, include_empty: Any = False, include_watchonly: Any = False
    ) -> list[dict[str, Any]]:
        """listreceivedbyaddress ( minconf includeempty includeWatchonly )

        List balances by receiving address."""
        min_conf, empty, watch = (
            get_int(minconf),
            get_bool(include_empty),
            get_bool(include_watchonly),
        )
        wallet = self.ctx.wallet
        tally: dict[bytes, list[Any]] = {}
        for view in wallet_txs(self.ctx).values():
            depth = view.depth(self.ctx)
            if view.tx.is_coinbase or depth < min_conf:
                continue
            for _, akey, value, mine in view.outputs:
                if akey is None or not (mine == "spendable" or (watch and mine == "watch")):
                    continue
                item = tally.setdefault(akey, [0, 1 << 31, [], mine == "watch"])
                item[0] += value
                item[1] = min(item[1], depth)
                item[2].append(hash_hex(view.txid))
        keys = [k for k in wallet.all_keys() if wallet.is_mine(k) == "spendable" or watch]
        out = []
        for akey in keys:
            found = tally.get(akey)
            if found is None and not empty:
                continue
            amount, conf, txids, is_watch = found or [0, 1 << 31, [], False]
            entry: dict[str, Any] = {}
            if is_watch:
                entry["involvesWatchonly"] = True
            entry.update({
                "address": key_address(akey), "account": wallet.label_of(akey),
                "amount": to_coins(amount), "confirmations": 0 if conf == 1 << 31 else conf,
                "txids": txids,
            })  # fmt: skip
            out.append(entry)
        return out

    def listaddressgroupings(self) -> list[list[list[Any]]]:
        """listaddressgroupings

        Lists groups of addresses which have had their common ownership made public."""
        wallet = self.ctx.wallet
        parent: dict[bytes, bytes] = {}

        def find(k: bytes) -> bytes:
            while parent.setdefault(k, k) != k:
                parent[k] = parent[parent[k]]
                k = parent[k]
            return k

        def union(a: bytes, b: bytes) -> None:
            parent[find(a)] = find(b)

        for view in wallet_txs(self.ctx).values():
            inputs = self._input_keys(view)
            for k in inputs[1:]:
                union(inputs[0], k)
            for _, akey, _, mine in view.outputs:
                if akey is None or mine != "spendable":
                    continue
                find(akey)
                if inputs and akey in wallet.keys and wallet.keys[akey].change:
                    union(inputs[0], akey)
        balances: dict[bytes, int] = {}
        for _, akey, coin in wallet.unspent(include_mempool=False):
            if wallet.is_mature(coin):
                balances[akey] = balances.get(akey, 0) + coin.value
        groups: dict[bytes, list[list[Any]]] = {}
        for akey in list(parent):
            row: list[Any] = [key_address(akey), to_coins(balances.get(akey, 0))]
            if akey in wallet.keys or akey in wallet.watch:
                row.append(wallet.label_of(akey))
            groups.setdefault(find(akey), []).append(row)
        return list(groups.values())

    def _input_keys(self, view: WalletTxView) -> list[bytes]:
        if view.debit <= 0:
            return []
        keys: list[bytes] = []
        for txin in view.tx.vin:
            record = self.ctx.indexes.spent.get((txin.prevout.txid, txin.prevout.n))
            akey = record.address if record is not None else None
            if akey is not None and self.ctx.wallet.is_mine(akey) == "spendable":
                keys.append(akey)
        return keys
