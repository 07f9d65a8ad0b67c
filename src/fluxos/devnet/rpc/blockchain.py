"""fluxd's Blockchain RPCs (plus the insight block calls) over the devnet chain."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from fluxos.chain.amounts import to_coins
from fluxos.chain.block import BlockHeader, difficulty
from fluxos.chain.merkle import PartialMerkleTree
from fluxos.chain.outpoint import OutPoint, hash_hex
from fluxos.chain.params import NETWORK, PON_ACTIVATION_HEIGHT, POW_LIMIT_BITS, SAPLING_BRANCH_ID
from fluxos.chain.script import script_json
from fluxos.chain.serialization import ByteReader, ByteWriter, DecodeError
from fluxos.devnet.chainstate import BlockEntry
from fluxos.devnet.indexes import address_key, key_address
from fluxos.devnet.mempool import MEMPOOL_HEIGHT
from fluxos.devnet.rpc.context import RpcContext, value_pools
from fluxos.devnet.rpc.params import (
    RPC_DESERIALIZATION_ERROR,
    RPC_INTERNAL_ERROR,
    RPC_INVALID_ADDRESS_OR_KEY,
    RPC_INVALID_PARAMETER,
    get_array,
    get_bool,
    get_int,
    get_obj,
    get_str,
    is_hex,
    lenient_hash,
    parse_hash,
    parse_hex,
)
from fluxos.jsonrpc import RpcError

_DIGITS = re.compile(r"[0-9]+")


class BlockchainRpc:
    """getblock*, chain tips, mempool views, UTXO queries, proofs, reorg controls."""

    category = "Blockchain"
    commands = (
        "getbestblockhash", "getblock", "getblockchaininfo", "getblockcount", "getblockdeltas",
        "getblockhash", "getblockhashes", "getblockheader", "getchaintips", "getdifficulty",
        "getmempoolinfo", "getrawmempool", "getspentinfo", "gettxout", "gettxoutproof",
        "gettxoutsetinfo", "invalidateblock", "reconsiderblock", "verifychain", "verifytxoutproof",
    )  # fmt: skip

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx

    def _tip(self) -> BlockEntry:
        tip = self.ctx.chain.tip
        if tip is None:
            raise RpcError(RPC_INTERNAL_ERROR, "The devnet chain has no blocks yet")
        return tip

    def _entry(self, block_hash: bytes) -> BlockEntry:
        entry = self.ctx.chain.entries.get(block_hash)
        if entry is None:
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Block not found")
        return entry

    # ------------------------------------------------------------------ simple
    def getblockcount(self) -> int:
        """getblockcount

        Returns the number of blocks in the best valid block chain."""
        return self.ctx.chain.height

    def getbestblockhash(self) -> str:
        """getbestblockhash

        Returns the hash of the best (tip) block in the longest block chain."""
        return hash_hex(self._tip().hash)

    def getdifficulty(self) -> float:
        """getdifficulty

        Returns the proof-of-work difficulty as a multiple of the minimum difficulty."""
        return difficulty(POW_LIMIT_BITS, POW_LIMIT_BITS)

    def getblockchaininfo(self) -> dict[str, Any]:
        """getblockchaininfo

        Returns an object containing various state info regarding block chain processing."""
        tip = self._tip()
        chain = self.ctx.chain
        state = "active" if tip.height >= PON_ACTIVATION_HEIGHT else "pending"
        branch = f"{SAPLING_BRANCH_ID:08x}"
        majority = {"status": True, "found": 1000, "required": 750, "window": 1000}
        reject = {"status": True, "found": 1000, "required": 950, "window": 1000}
        return {
            "chain": NETWORK,
            "blocks": chain.height,
            "headers": chain.height,
            "bestblockhash": hash_hex(tip.hash),
            "difficulty": self.getdifficulty(),
            "verificationprogress": 1.0,
            "chainwork": f"{tip.chainwork:064x}",
            "pruned": False,
            "size_on_disk": self.ctx.engine.store.block_bytes_total(),
            "commitments": 0,
            "valuePools": value_pools(),
            "softforks": [
                {"id": name, "version": version, "enforce": dict(majority), "reject": dict(reject)}
                for name, version in (("bip34", 2), ("bip66", 3), ("bip65", 4))
            ],
            # every Flux upgrade shares one branch id, so fluxd's object keeps the last (PON)
            "upgrades": {
                branch: {
                    "name": "PON",
                    "activationheight": PON_ACTIVATION_HEIGHT,
                    "status": state,
                    "info": "Proof of Node upgrade",
                }
            },
            "consensus": {"chaintip": branch, "nextblock": branch},
        }

    # ------------------------------------------------------------------ blocks
    def getblockhash(self, index: Any) -> str:
        """getblockhash index

        Returns hash of block in best-block-chain at index provided."""
        entry = self.ctx.chain.at_height(get_int(index))
        if entry is None:
            raise RpcError(RPC_INVALID_PARAMETER, "Block height out of range")
        return hash_hex(entry.hash)

    def getblock(self, hash_or_height: Any, verbosity: Any = 1) -> Any:
        """getblock "hash|height" ( verbosity )

        Returns data for a block: 0 = hex, 1 = object, 2 = object with transaction details."""
        text = get_str(hash_or_height)
        entry: BlockEntry | None = None
        if len(text) < 64:
            if not _DIGITS.fullmatch(text):
                raise RpcError(RPC_INVALID_PARAMETER, "Invalid block height parameter")
            entry = self.ctx.chain.at_height(int(text))
            if entry is None:
                raise RpcError(RPC_INVALID_PARAMETER, "Block height out of range")
        if isinstance(verbosity, bool):
            level = 1 if verbosity else 0
        elif isinstance(verbosity, int | float):
            level = get_int(verbosity)
        else:
            level = 1 if get_bool(verbosity) else 0
        if not 0 <= level <= 2:
            raise RpcError(RPC_INVALID_PARAMETER, "Verbosity must be in range from 0 to 2")
        if entry is None:
            entry = self._entry(lenient_hash(text))
        parsed = self.ctx.chain.parsed(entry.hash)
        if level == 0:
            return parsed.raw.hex()
        return self.ctx.block_json(entry, parsed, level)

    def getblockheader(self, block_hash: Any, verbose: Any = True) -> Any:
        """getblockheader "hash" ( verbose )

        Returns the block header as an object (verbose) or serialized hex."""
        entry = self._entry(lenient_hash(get_str(block_hash)))
        if not get_bool(verbose):
            return entry.header.serialize().hex()
        return self.ctx.header_json(entry)

    def getchaintips(self, min_height: Any = None) -> list[dict[str, Any]]:
        """getchaintips ( minheight )

        Return information about all known tips in the block tree."""
        chain = self.ctx.chain
        floor = 0
        if min_height is not None:
            wanted = get_int(min_height)
            floor = wanted if 0 <= wanted <= chain.height else 0
        tips = [t for t in chain.tips() if t.height >= floor]
        tips.sort(key=lambda e: (-e.height, e.seq))
        out = []
        for tip in tips:
            fork: BlockEntry | None = tip
            while fork is not None and not chain.contains(fork):
                fork = chain.entries.get(fork.prev)
            fork_height = fork.height if fork is not None else chain.start_height - 1
            if chain.contains(tip):
                status = "active"
            elif chain._has_failed_ancestor(tip):
                status = "invalid"
            elif tip.validated:
                status = "valid-fork"
            else:
                status = "valid-headers"
            out.append(
                {
                    "height": tip.height,
                    "hash": hash_hex(tip.hash),
                    "branchlen": tip.height - fork_height,
                    "status": status,
                }
            )
        return out

    def invalidateblock(self, block_hash: Any) -> None:
        """invalidateblock "hash"

        Permanently marks a block as invalid, as if it violated a consensus rule."""
        entry = self._entry(lenient_hash(get_str(block_hash)))
        self.ctx.engine.reorganised(self.ctx.chain.invalidate(entry))
        return None

    def reconsiderblock(self, block_hash: Any) -> None:
        """reconsiderblock "hash"

        Removes invalidity status of a block and its descendants, reconsider them for activation."""
        entry = self._entry(lenient_hash(get_str(block_hash)))
        self.ctx.engine.reorganised(self.ctx.chain.reconsider(entry))
        return None

    def verifychain(self, check_level: Any = 3, num_blocks: Any = 288) -> bool:
        """verifychain ( checklevel numblocks )

        Verifies blockchain database (merkle roots and linkage of the last blocks)."""
        get_int(check_level)
        depth = get_int(num_blocks)
        chain = self.ctx.chain
        active = chain.active if depth <= 0 else chain.active[-depth:]
        for entry in active:
            parsed = chain.parsed(entry.hash)
            if parsed.block.compute_merkle_root() != entry.header.merkle_root:
                return False
            if parsed.hash != entry.hash:
                return False
        return True

    # ------------------------------------------------------------------ mempool
    def getmempoolinfo(self) -> dict[str, Any]:
        """getmempoolinfo

        Returns details on the active state of the TX memory pool."""
        pool = self.ctx.mempool
        return {"size": len(pool.entries), "bytes": pool.total_bytes, "usage": pool.total_bytes * 3}

    def getrawmempool(self, verbose: Any = False) -> Any:
        """getrawmempool ( verbose )

        Returns all transaction ids in memory pool as an array, or objects when verbose."""
        pool = self.ctx.mempool
        if not get_bool(verbose):
            return [hash_hex(t) for t in pool.entries]
        out: dict[str, Any] = {}
        for txid, e in pool.entries.items():
            depends = sorted(
                {hash_hex(i.prevout.txid) for i in e.tx.vin if i.prevout.txid in pool.entries}
            )
            out[hash_hex(txid)] = {
                "size": e.size,
                "fee": to_coins(e.fee),
                "time": e.time,
                "height": e.height,
                "startingpriority": 0.0,
                "currentpriority": 0.0,
                "depends": depends,
            }
        return out

    # ------------------------------------------------------------------ utxo
    def gettxout(self, txid: Any, n: Any, include_mempool: Any = True) -> Any:
        """gettxout "txid" n ( includemempool )

        Returns details about an unspent transaction output (null if spent or unknown)."""
        tx_hash = lenient_hash(get_str(txid))
        index = get_int(n)
        key = (tx_hash, index)
        coin = (
            self.ctx.mempool.coin(key)
            if get_bool(include_mempool)
            else self.ctx.chain.utxo.get(key)
        )
        if coin is None or index < 0:
            return None
        tip = self._tip()
        confirmations = 0 if coin.height == MEMPOOL_HEIGHT else tip.height - coin.height + 1
        found = self.ctx.find_tx(tx_hash)
        version = found[0].version if found else 4
        return {
            "bestblock": hash_hex(tip.hash),
            "confirmations": confirmations,
            "value": to_coins(coin.value),
            "scriptPubKey": script_json(coin.script),
            "version": version,
            "coinbase": coin.coinbase,
        }

    def gettxoutsetinfo(self) -> dict[str, Any]:
        """gettxoutsetinfo

        Returns statistics about the unspent transaction output set."""
        utxo = self.ctx.chain.utxo
        digest = hashlib.sha256()
        total = size = 0
        for (txid, n), coin in sorted(utxo.items()):
            digest.update(
                txid + n.to_bytes(4, "little") + coin.value.to_bytes(8, "little") + coin.script
            )
            total += coin.value
            size += 32 + 4 + 8 + len(coin.script) + 4
        tip = self._tip()
        return {
            "height": tip.height,
            "bestblock": hash_hex(tip.hash),
            "transactions": len({txid for txid, _ in utxo}),
            "txouts": len(utxo),
            "bytes_serialized": size,
            "hash_serialized": digest.hexdigest(),
            "total_amount": to_coins(total),
        }

    # ------------------------------------------------------------------ proofs
    def gettxoutproof(self, txids: Any, block_hash: Any = None) -> str:
        """gettxoutproof ["txid",...] ( blockhash )

        Returns a hex-encoded proof that the transactions were included in a block."""
        wanted: list[bytes] = []
        for item in get_array(txids):
            text = get_str(item)
            if len(text) != 64 or not is_hex(text):
                raise RpcError(RPC_INVALID_PARAMETER, f"Invalid txid {text}")
            txid = bytes.fromhex(text)[::-1]
            if txid in wanted:
                raise RpcError(RPC_INVALID_PARAMETER, f"Invalid parameter, duplicated txid: {text}")
            wanted.append(txid)
        if block_hash is not None:
            entry = self._entry(lenient_hash(get_str(block_hash)))
        else:
            location = self.ctx.indexes.tx_index.get(wanted[-1]) if wanted else None
            if location is None:
                raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Transaction not yet in block")
            entry = self.ctx.chain.entries[location.block_hash]
        parsed = self.ctx.chain.parsed(entry.hash)
        matches = [t in wanted for t in parsed.txids]
        if sum(matches) != len(wanted):
            raise RpcError(
                RPC_INVALID_ADDRESS_OR_KEY, "(Not all) transactions not found in specified block"
            )
        w = ByteWriter()
        entry.header.write(w)
        PartialMerkleTree.build(parsed.txids, matches).write(w)
        return w.getvalue().hex()

    def verifytxoutproof(self, proof: Any) -> list[str]:
        """verifytxoutproof "proof"

        Verifies a proof and returns the transactions it commits to."""
        data = parse_hex(proof, "proof")
        try:
            r = ByteReader(data)
            header = BlockHeader.read(r)
            root, matched = PartialMerkleTree.read(r).extract_matches()
        except DecodeError as exc:
            raise RpcError(RPC_DESERIALIZATION_ERROR, f"Proof decode failed: {exc}") from exc
        if root != header.merkle_root:
            return []
        entry = self.ctx.chain.entries.get(header.hash())
        if entry is None or not self.ctx.chain.contains(entry):
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Block not found in chain")
        return [hash_hex(t) for t in matched]

    # ------------------------------------------------------------------ insight
    def getblockdeltas(self, block_hash: Any) -> dict[str, Any]:
        """getblockdeltas "blockhash"

        Returns information about the given block and its transactions' address deltas."""
        entry = self._entry(lenient_hash(get_str(block_hash)))
        chain = self.ctx.chain
        if not chain.contains(entry):
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Block is an orphan")
        parsed = chain.parsed(entry.hash)
        deltas = []
        for i, tx in enumerate(parsed.block.txs):
            inputs = []
            if not tx.is_coinbase:
                for j, txin in enumerate(tx.vin):
                    record = self.ctx.indexes.spent.get((txin.prevout.txid, txin.prevout.n))
                    if record is None:
                        raise RpcError(RPC_INTERNAL_ERROR, "Spent information not available")
                    item: dict[str, Any] = {}
                    if record.address:
                        item["address"] = key_address(record.address)
                    item["satoshis"] = -record.satoshis
                    item["index"] = j
                    item["prevtxid"] = hash_hex(txin.prevout.txid)
                    item["prevout"] = txin.prevout.n
                    inputs.append(item)
            outputs = []
            for k, out in enumerate(tx.vout):
                akey = address_key(out.script_pubkey)
                outputs.append(
                    {
                        "address": key_address(akey) if akey else "",
                        "satoshis": out.value,
                        "index": k,
                    }
                )
            deltas.append(
                {
                    "txid": hash_hex(parsed.txids[i]),
                    "index": i,
                    "inputs": inputs,
                    "outputs": outputs,
                }
            )
        doc: dict[str, Any] = {
            "hash": hash_hex(entry.hash),
            "confirmations": self.ctx.confirmations(entry),
            "size": entry.size,
            "height": entry.height,
            "version": entry.header.version,
            "merkleroot": hash_hex(entry.header.merkle_root),
            "deltas": deltas,
            "time": entry.time,
            "mediantime": chain.median_time_past(entry),
            "nonce": hash_hex(entry.header.nonce),
            "bits": f"{entry.header.bits:08x}",
            "difficulty": difficulty(entry.header.bits, POW_LIMIT_BITS),
            "chainwork": f"{entry.chainwork:064x}",
        }
        if entry.prev in chain.entries:
            doc["previousblockhash"] = hash_hex(entry.prev)
        following = chain.next_of(entry)
        if following is not None:
            doc["nextblockhash"] = hash_hex(following.hash)
        return doc

    def getblockhashes(self, high: Any, low: Any, options: Any = None) -> list[Any]:
        """getblockhashes high low ( {"noOrphans": true|false, "logicalTimes": true|false} )

        Returns array of hashes of blocks within the timestamp range provided."""
        top, bottom = get_int(high), get_int(low)
        active_only = logical = False
        if options is not None:
            opts = get_obj(options)
            if opts.get("noOrphans") is not None:
                active_only = get_bool(opts["noOrphans"])
            if opts.get("logicalTimes") is not None:
                logical = get_bool(opts["logicalTimes"])
        chain = self.ctx.chain
        logical_ts: dict[bytes, int] = {}
        last = 0
        for entry in chain.active:
            last = max(last + 1, entry.time)
            logical_ts[entry.hash] = last
        entries = (
            chain.active
            if active_only
            else sorted(chain.entries.values(), key=lambda e: (e.time, e.seq))
        )
        out: list[Any] = []
        for entry in entries:
            if bottom <= entry.time < top:
                if logical:
                    out.append(
                        {
                            "blockhash": hash_hex(entry.hash),
                            "logicalts": logical_ts.get(entry.hash, entry.time),
                        }
                    )
                else:
                    out.append(hash_hex(entry.hash))
        return out

    def getspentinfo(self, query: Any) -> dict[str, Any]:
        """getspentinfo {"txid": "txidhex", "index": n}

        Returns the txid and index where an output is spent."""
        if not isinstance(query, dict):
            raise RpcError(-1, self.getspentinfo.__doc__ or "getspentinfo")
        txid_value, index_value = query.get("txid"), query.get("index")
        if not isinstance(txid_value, str):
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid txid, must be a string")
        if isinstance(index_value, bool) or not isinstance(index_value, int | float):
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Invalid index, must be an integer")
        txid = parse_hash(txid_value, "txid")
        info = self.ctx.spent_info(OutPoint(txid, get_int(index_value)))
        if info is None:
            raise RpcError(RPC_INVALID_ADDRESS_OR_KEY, "Unable to get spent info")
        return {"txid": hash_hex(info.txid), "index": info.input_index, "height": info.height}
