"""fluxd's Addressindex RPCs (insight explorer): balances, deltas, txids, utxos, mempool."""

from __future__ import annotations

from typing import Any

from fluxos.chain.outpoint import hash_hex
from fluxos.devnet.indexes import Delta, address_key, address_to_key, key_address
from fluxos.devnet.rpc.context import RpcContext
from fluxos.devnet.rpc.params import RPC_INVALID_ADDRESS_OR_KEY, get_bool, get_int, get_str
from fluxos.jsonrpc import RpcError


def _address_keys(param: Any) -> list[bytes]:
    """getAddressesFromParams: a string or {"addresses": [...]}; -5 "Invalid address"."""
    if isinstance(param, str):
        texts = [param]
    elif isinstance(param, dict):
        values = param.get("addresses")
        if not isinstance(values, list):
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Addresses is expected to be an array")
        texts = [get_str(v) for v in values]
    else:
        raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid address")
    keys = []
    for text in texts:
        try:
            keys.append(address_to_key(text))
        except ValueError as exc:
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid address") from exc
    return keys


def _flag(param: Any, name: str) -> bool:
    if isinstance(param, dict) and param.get(name) is not None:
        return get_bool(param[name])
    return False


class AddressIndexRpc:
    """The insight address index."""

    category = "Addressindex"
    commands = (
        "getaddressbalance", "getaddressdeltas", "getaddressmempool", "getaddresstxids",
        "getaddressutxos",
    )  # fmt: skip

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx

    def _height_range(self, param: Any) -> tuple[int, int]:
        start = end = 0
        if (
            isinstance(param, dict)
            and param.get("start") is not None
            and param.get("end") is not None
        ):
            start, end = get_int(param["start"]), get_int(param["end"])
            if start <= 0 or end <= 0:
                raise RpcError(
                    RPC_INVALID_ADDRESS_OR_KEY, "Start and end are expected to be greater than zero"
                )
            if end < start:
                raise RpcError(
                    RPC_INVALID_ADDRESS_OR_KEY, "End value is expected to be greater than start"
                )
        height = self.ctx.chain.height
        if start > height or end > height:
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Start or end is outside chain range")
        return start, end

    def _deltas(self, keys: list[bytes], start: int, end: int) -> list[tuple[bytes, Delta]]:
        out: list[tuple[bytes, Delta]] = []
        for key in keys:
            items = self.ctx.indexes.deltas_for(key, start, end)
            items.sort(key=lambda d: (d.height, d.block_position, d.txid, d.index, d.spending))
            out.extend((key, d) for d in items)
        return out

    def getaddressbalance(self, query: Any) -> dict[str, int]:
        """getaddressbalance {"addresses": ["taddr", ...]}

        Returns the balance and total received (satoshis) of the addresses."""
        balance = received = 0
        for key in _address_keys(query):
            b, r = self.ctx.indexes.balance(key)
            balance += b
            received += r
        return {"balance": balance, "received": received}

    def getaddressdeltas(self, query: Any) -> Any:
        """getaddressdeltas {"addresses": ["taddr", ...], ("start"), ("end"), ("chainInfo")}

        Returns all changes for an address (requires addressindex)."""
        start, end = self._height_range(query)
        keys = _address_keys(query)
        deltas = [
            {
                "address": key_address(key),
                "blockindex": d.block_position,
                "height": d.height,
                "index": d.index,
                "satoshis": d.satoshis,
                "txid": hash_hex(d.txid),
            }
            for key, d in self._deltas(keys, start, end)
        ]
        if not (_flag(query, "chainInfo") and start > 0 and end > 0):
            return deltas
        chain = self.ctx.chain
        first, last = chain.at_height(start), chain.at_height(end)
        if first is None or last is None:
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Start or end is outside chain range")
        return {
            "deltas": deltas,
            "start": {"hash": hash_hex(first.hash), "height": start},
            "end": {"hash": hash_hex(last.hash), "height": end},
        }

    def getaddresstxids(self, query: Any) -> list[str]:
        """getaddresstxids {"addresses": ["taddr", ...], ("start": n), ("end": n)}

        Returns the txids of an address, in height order."""
        start, end = self._height_range(query)
        seen: set[tuple[int, str]] = set()
        for _key, d in self._deltas(_address_keys(query), start, end):
            seen.add((d.height, hash_hex(d.txid)))
        return [txid for _, txid in sorted(seen)]

    def getaddressutxos(self, query: Any) -> Any:
        """getaddressutxos {"addresses": ["taddr", ...], ("chainInfo": true|false)}

        Returns all unspent outputs of an address."""
        include_chain = _flag(query, "chainInfo")
        rows = []
        for key in _address_keys(query):
            for txid, n in self.ctx.indexes.unspent.get(key, ()):
                coin = self.ctx.chain.utxo.get((txid, n))
                if coin is None:
                    continue
                rows.append((coin.height, {
                    "address": key_address(key),
                    "txid": hash_hex(txid),
                    "outputIndex": n,
                    "script": coin.script.hex(),
                    "satoshis": coin.value,
                    "height": coin.height,
                }))  # fmt: skip
        rows.sort(key=lambda r: r[0])
        utxos = [doc for _, doc in rows]
        if not include_chain:
            return utxos
        tip = self.ctx.chain.tip
        return {
            "utxos": utxos,
            "hash": hash_hex(tip.hash) if tip else "",
            "height": self.ctx.chain.height,
        }

    def getaddressmempool(self, query: Any) -> list[dict[str, Any]]:
        """getaddressmempool {"addresses": ["taddr", ...]}

        Returns all mempool deltas for an address."""
        wanted = set(_address_keys(query))
        rows: list[dict[str, Any]] = []
        for txid, entry in self.ctx.mempool.entries.items():
            for j, (txin, coin) in enumerate(zip(entry.tx.vin, entry.spent, strict=False)):
                key = address_key(coin.script)
                if key in wanted:
                    rows.append({
                        "address": key_address(key), "txid": hash_hex(txid), "index": j,
                        "satoshis": -coin.value, "timestamp": entry.time,
                        "prevtxid": hash_hex(txin.prevout.txid), "prevout": txin.prevout.n,
                    })  # fmt: skip
            for n, out in enumerate(entry.tx.vout):
                key = address_key(out.script_pubkey)
                if key in wanted:
                    rows.append({
                        "address": key_address(key), "txid": hash_hex(txid), "index": n,
                        "satoshis": out.value, "timestamp": entry.time,
                    })  # fmt: skip
        rows.sort(key=lambda r: r["timestamp"])
        return rows
