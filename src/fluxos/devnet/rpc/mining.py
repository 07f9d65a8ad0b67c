"""fluxd's Mining and Generating RPCs: mine on demand, templates, submitblock, subsidies."""

from __future__ import annotations

from typing import Any

from fluxos.chain.amounts import to_coins
from fluxos.chain.outpoint import hash_hex
from fluxos.chain.params import MAX_BLOCK_SIZE, NETWORK, TIERS, block_subsidy
from fluxos.chain.script import script_address
from fluxos.chain.serialization import DecodeError
from fluxos.devnet.chainstate import parse_block
from fluxos.devnet.rpc.context import RpcContext
from fluxos.devnet.rpc.params import (
    RPC_DESERIALIZATION_ERROR,
    RPC_INVALID_PARAMETER,
    RPC_VERIFY_ERROR,
    get_bool,
    get_int,
    get_obj,
    get_str,
    is_hex,
    parse_hash,
    type_check,
)
from fluxos.devnet.validation import TxRejected
from fluxos.jsonrpc import RpcError

_TIER_WORDS = {1: ("basic", "cumulus"), 2: ("super", "nimbus"), 3: ("bamf", "stratus")}


class MiningRpc:
    """generate and the mining calls (proof of work is not enforced on the devnet)."""

    category = "Mining"
    commands = (
        "generate", "getblocksubsidy", "getblocktemplate", "getgenerate", "getlocalsolps",
        "getmininginfo", "getnetworkhashps", "getnetworksolps", "prioritisetransaction",
        "setgenerate", "submitblock",
    )  # fmt: skip

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx

    def generate(self, numblocks: Any) -> list[str]:
        """generate numblocks

        Mine blocks immediately (before the RPC call returns), paying this wallet."""
        count = get_int(numblocks)
        if count < 0:
            raise RpcError(RPC_INVALID_PARAMETER, "numblocks must be non-negative")
        hashes = self.ctx.engine.generate(count, self.ctx.endpoint)
        return [hash_hex(h) for h in hashes]

    def getgenerate(self) -> bool:
        """getgenerate

        Return whether blocks are mined on a timer (--block-time)."""
        return self.ctx.engine.block_time is not None

    def setgenerate(self, generate: Any, genproclimit: Any = -1) -> None:
        """setgenerate generate ( genproclimit )

        Not available: use generate, or start the devnet with --block-time."""
        get_bool(generate)
        raise RpcError(-32601, "Use the generate method instead of setgenerate on this network")

    def getblocksubsidy(self, height: Any = None) -> dict[str, float]:
        """getblocksubsidy height

        Returns the block subsidy at the given height (default: the tip)."""
        h = self.ctx.chain.height if height is None else get_int(height)
        if h < 0:
            raise RpcError(RPC_INVALID_PARAMETER, "Block height out of range")
        return {"miner": to_coins(block_subsidy(h))}

    def getlocalsolps(self) -> float:
        """getlocalsolps

        Returns the average local solutions per second (0: no proof of work on the devnet)."""
        return 0.0

    def getnetworksolps(self, blocks: Any = 120, height: Any = -1) -> int:
        """getnetworksolps ( blocks height )

        Returns the estimated network solutions per second (0 on the devnet)."""
        get_int(blocks)
        get_int(height)
        return 0

    def getnetworkhashps(self, blocks: Any = 120, height: Any = -1) -> int:
        """getnetworkhashps ( blocks height )

        DEPRECATED; returns getnetworksolps."""
        return self.getnetworksolps(blocks, height)

    def getmininginfo(self) -> dict[str, Any]:
        """getmininginfo

        Returns a json object containing mining-related information."""
        tip = self.ctx.chain.tip
        last = self.ctx.chain.parsed(tip.hash) if tip is not None else None
        return {
            "blocks": self.ctx.chain.height,
            "currentblocksize": len(last.raw) if last else 0,
            "currentblocktx": max(0, len(last.block.txs) - 1) if last else 0,
            "difficulty": 1.0,
            "errors": "",
            "genproclimit": -1,
            "localsolps": 0.0,
            "networksolps": 0,
            "networkhashps": 0,
            "pooledtx": len(self.ctx.mempool.entries),
            "testnet": False,
            "chain": NETWORK,
            "generate": self.getgenerate(),
            "ponminter": False,
        }

    def prioritisetransaction(self, txid: Any, priority_delta: Any, fee_delta: Any) -> bool:
        """prioritisetransaction <txid> <priority delta> <fee delta>

        Accepts the transaction into mined blocks at a higher (or lower) priority."""
        tx_hash = parse_hash(txid, "txid")
        type_check((priority_delta, fee_delta), ["number", "number"])
        entry = self.ctx.mempool.entries.get(tx_hash)
        if entry is not None:
            entry.priority_delta += float(priority_delta)
            entry.fee_delta += int(fee_delta)
        return True

    def getblocktemplate(self, request: Any = None) -> dict[str, Any]:
        """getblocktemplate ( "jsonrequestobject" )

        Returns data needed to construct a block to work on."""
        if request is not None:
            mode = get_obj(request).get("mode", "template")
            if mode not in ("template", "proposal"):
                raise RpcError(RPC_INVALID_PARAMETER, "Invalid mode")
        ctx = self.ctx
        script = ctx.engine.mining_script(ctx.endpoint)
        parsed, _ = ctx.engine.miner.build(script)
        block = parsed.block
        tip = ctx.chain.tip
        index = {txid: i for i, txid in enumerate(parsed.txids)}
        transactions = []
        for i in range(1, len(block.txs)):
            tx = block.txs[i]
            entry = ctx.mempool.entries.get(parsed.txids[i])
            transactions.append({
                "data": parsed.tx_bytes(i).hex(),
                "hash": hash_hex(parsed.txids[i]),
                "depends": sorted({index[t.prevout.txid] for t in tx.vin if t.prevout.txid in index}),  # noqa: E501
                "fee": entry.fee if entry else 0,
                "sigops": 0,
            })  # fmt: skip
        header = block.header
        result: dict[str, Any] = {
            "capabilities": ["proposal"],
            "version": header.version,
            "previousblockhash": hash_hex(header.prev_hash),
            "finalsaplingroothash": hash_hex(header.final_sapling_root),
            "transactions": transactions,
            "coinbaseaux": {"flags": ""},
            "coinbasevalue": block.txs[0].vout[0].value,
            "longpollid": (hash_hex(tip.hash) if tip else "") + str(len(ctx.mempool.entries)),
            "target": "0007ffff" + "f" * 56,
            "mintime": ctx.chain.median_time_past(tip) + 1,
            "mutable": ["time", "transactions", "prevblock"],
            "noncerange": "00000000ffffffff",
            "sigoplimit": 20_000,
            "sizelimit": MAX_BLOCK_SIZE,
            "curtime": header.time,
            "bits": f"{header.bits:08x}",
            "height": ctx.chain.height + 1,
            "miner_reward": block.txs[0].vout[0].value,
        }
        payees = dict(ctx.fluxnodes.next_payees(ctx.chain.height + 1))
        for tier in TIERS:
            node = payees.get(tier)
            if node is None:
                continue
            old, new = _TIER_WORDS[tier]
            address = script_address(node.payment_script) or ""
            payout = next(
                (o.value for o in block.txs[0].vout if o.script_pubkey == node.payment_script), 0
            )
            result[f"{new}_fluxnode_address"] = address
            result[f"{new}_fluxnode_payout"] = payout
            result[f"{old}_zelnode_address"] = address
            result[f"{old}_zelnode_payout"] = payout
            result[f"{new}_zelnode_address"] = address
            result[f"{new}_zelnode_payout"] = payout
        return result

    def submitblock(self, hexdata: Any, params: Any = None) -> str | None:
        """submitblock "hexdata" ( "jsonparametersobject" )

        Attempts to submit a new block to the network (BIP 22 result)."""
        text = get_str(hexdata)
        if not is_hex(text):
            raise RpcError(RPC_DESERIALIZATION_ERROR, "Block decode failed")
        try:
            parsed = parse_block(bytes.fromhex(text))
        except (DecodeError, ValueError) as exc:
            raise RpcError(RPC_DESERIALIZATION_ERROR, "Block decode failed") from exc
        existing = self.ctx.chain.entries.get(parsed.hash)
        if existing is not None:
            return "duplicate-invalid" if existing.failed else "duplicate"
        try:
            self.ctx.engine.submit_block(parsed)
        except TxRejected as exc:
            return exc.reason
        except ValueError as exc:
            if str(exc) == "prev-blk-not-found":
                return "inconclusive"
            raise RpcError(RPC_VERIFY_ERROR, str(exc)) from exc
        return None
