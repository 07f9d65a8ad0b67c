"""fluxd's Fluxnode (and Benchmarks) RPCs over the devnet's deterministic fluxnode list."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from fluxos.chain.amounts import format_coins
from fluxos.chain.outpoint import OutPoint, hash_from_hex, hash_hex
from fluxos.chain.params import DOS_REMOVE_AMOUNT, START_TX_EXPIRATION, TIER_OF_COLLATERAL, TIERS
from fluxos.chain.script import script_address
from fluxos.crypto.keys import PrivateKey
from fluxos.devnet.endpoint import FluxnodeConfEntry
from fluxos.devnet.fluxnodes import CONFIRMED, DOS, STARTED, FluxnodeRecord
from fluxos.devnet.mempool import AlreadyInChain
from fluxos.devnet.rpc.context import RpcContext
from fluxos.devnet.rpc.params import (
    RPC_INVALID_REQUEST,
    RPC_MISC_ERROR,
    RPC_VERIFY_ERROR,
    get_str,
)
from fluxos.devnet.validation import TxRejected
from fluxos.jsonrpc import RpcError

ALIASES = {
    "createzelnodekey": "createfluxnodekey",
    "getzelnodeoutputs": "getfluxnodeoutputs",
    "getzelnodestatus": "getfluxnodestatus",
    "getzelnodecount": "getfluxnodecount",
    "listzelnodeconf": "listfluxnodeconf",
    "listzelnodes": "listfluxnodes",
    "startdeterministiczelnode": "startdeterministicfluxnode",
    "startzelnode": "startfluxnode",
    "startzelbenchd": "startfluxbenchd",
    "stopzelbenchd": "stopfluxbenchd",
    "viewdeterministiczelnodelist": "viewdeterministicfluxnodelist",
    "zelnodecurrentwinner": "fluxnodecurrentwinner",
}
_TIER_NAMES = {1: "CUMULUS", 2: "NIMBUS", 3: "STRATUS"}
_STATUS = {STARTED: "STARTED", DOS: "DOS", CONFIRMED: "CONFIRMED"}
_ALREADY = {
    STARTED: "Fluxnode already started, waiting to be confirmed",
    DOS: (
        "Fluxnode already started then not confirmed, in DoS tracker. "
        "Must wait until out of DoS tracker to start"
    ),
    CONFIRMED: "Fluxnode already confirmed and in fluxnode list",
}


_UNKNOWN_NODE: dict[str, Any] = {
    "ip": "UNKNOWN",
    "network": "UNKOWN",  # sic: fluxd's spelling
    "added_height": 0,
    "confirmed_height": 0,
    "last_confirmed_height": 0,
    "last_paid_height": 0,
    "tier": "UNKNOWN",
    "payment_address": "UNKNOWN",
    "activesince": 0,
    "lastpaid": 0,
}


def _overall(good: int, bad: int) -> str:
    return f"Successfully started {good} fluxnodes, failed to start {bad}, total {good + bad}"


def network_of(ip: str) -> str:
    """fluxd's GetNetworkName for the host part of "ip[:port]"."""
    host = ip
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":")[0]
    if host.endswith(".onion"):
        return "onion"
    try:
        return "ipv6" if ipaddress.ip_address(host).version == 6 else "ipv4"
    except ValueError:
        return ""


class FluxnodeRpc:
    """The deterministic fluxnode list and this endpoint's own node."""

    category = "Fluxnode"
    commands = (
        "createconfirmationtransaction", "createfluxnodekey", "fluxnodecurrentwinner",
        "getbenchmarks", "getbenchstatus", "getdoslist", "getfluxnodecount", "getfluxnodeoutputs",
        "getfluxnodestatus", "getstartlist", "listfluxnodeconf", "listfluxnodes",
        "startdeterministicfluxnode", "startfluxbenchd", "startfluxnode", "stopfluxbenchd",
        "viewdeterministicfluxnodelist",
    )  # fmt: skip

    def __init__(self, ctx: RpcContext) -> None:
        self.ctx = ctx

    # ------------------------------------------------------------------ helpers
    def _time_at(self, height: int) -> Any:
        entry = self.ctx.chain.at_height(height)
        return str(entry.time) if entry is not None else 0

    def _payment(self, record: FluxnodeRecord) -> str:
        return script_address(record.payment_script) or ""

    def _details(self, record: FluxnodeRecord) -> dict[str, Any]:
        return {
            "collateral": record.collateral.full(),
            "txhash": hash_hex(record.collateral.txid),
            "outidx": str(record.collateral.n),
            "ip": record.ip,
            "network": network_of(record.ip),
            "added_height": record.added_height,
            "confirmed_height": record.confirmed_height,
            "last_confirmed_height": record.last_confirmed_height,
            "last_paid_height": record.last_paid_height,
            "tier": _TIER_NAMES.get(record.tier, "NONE"),
            "payment_address": self._payment(record),
            "pubkey": record.pubkey.hex(),
            "activesince": self._time_at(record.added_height),
            "lastpaid": self._time_at(record.last_paid_height),
            "amount": format_coins(record.amount),
        }

    # ------------------------------------------------------------------ lists
    def viewdeterministicfluxnodelist(self, filter_text: Any = "") -> list[dict[str, Any]]:
        """viewdeterministicfluxnodelist ( "filter" )

        View the deterministic fluxnode list (CUMULUS, NIMBUS, STRATUS; payment order)."""
        needle = get_str(filter_text)
        out: list[dict[str, Any]] = []
        for tier in TIERS:
            for rank, record in enumerate(self.ctx.fluxnodes.confirmed(tier)):
                if needle and not any(
                    needle in field
                    for field in (
                        hash_hex(record.collateral.txid),
                        record.pubkey.hex(),
                        record.ip,
                        self._payment(record),
                    )
                ):
                    continue
                doc = self._details(record)
                doc["rank"] = rank
                out.append(doc)
        return out

    def listfluxnodes(self, filter_text: Any = "") -> list[dict[str, Any]]:
        """listfluxnodes ( "filter" )

        Same as viewdeterministicfluxnodelist."""
        return self.viewdeterministicfluxnodelist(filter_text)

    def getfluxnodecount(self) -> dict[str, int]:
        """getfluxnodecount

        Get fluxnode count values."""
        confirmed = self.ctx.fluxnodes.with_status(CONFIRMED)
        per_tier = {t: sum(1 for r in confirmed if r.tier == t) for t in TIERS}
        networks = [network_of(r.ip) for r in confirmed]
        return {
            "total": len(confirmed),
            "stable": len(confirmed),
            "basic-enabled": per_tier[1],
            "super-enabled": per_tier[2],
            "bamf-enabled": per_tier[3],
            "cumulus-enabled": per_tier[1],
            "nimbus-enabled": per_tier[2],
            "stratus-enabled": per_tier[3],
            "ipv4": networks.count("ipv4"),
            "ipv6": networks.count("ipv6"),
            "onion": networks.count("onion"),
        }

    def fluxnodecurrentwinner(self) -> dict[str, Any]:
        """fluxnodecurrentwinner

        Get the next fluxnode of each tier to be paid."""
        out: dict[str, Any] = {}
        for tier, record in self.ctx.fluxnodes.next_payees(self.ctx.chain.height + 1):
            out[f"{_TIER_NAMES[tier]} Winner"] = {
                "collateral": record.collateral.full(),
                "ip": record.ip,
                "added_height": record.added_height,
                "confirmed_height": record.confirmed_height,
                "last_confirmed_height": record.last_confirmed_height,
                "last_paid_height": record.last_paid_height,
                "tier": _TIER_NAMES[tier],
                "payment_address": self._payment(record),
            }
        return out

    def getdoslist(self) -> list[dict[str, Any]]:
        """getdoslist

        Get a list of fluxnodes that failed to confirm and may not start again yet."""
        height = self.ctx.chain.height
        rows = []
        for record in self.ctx.fluxnodes.with_status(DOS):
            eligible = DOS_REMOVE_AMOUNT - (height - record.added_height)
            rows.append((eligible, {
                "collateral": record.collateral.full(), "added_height": record.added_height,
                "payment_address": self._payment(record), "eligible_in": eligible,
                "amount": format_coins(record.amount),
            }))  # fmt: skip
        return [doc for _, doc in sorted(rows, key=lambda r: r[0])]

    def getstartlist(self) -> list[dict[str, Any]]:
        """getstartlist

        Get a list of fluxnodes started and waiting for their confirmation."""
        height = self.ctx.chain.height
        rows = []
        for record in self.ctx.fluxnodes.with_status(STARTED):
            expires = START_TX_EXPIRATION - (height - record.added_height)
            rows.append((expires, {
                "collateral": record.collateral.full(), "added_height": record.added_height,
                "payment_address": self._payment(record), "expires_in": expires,
                "amount": format_coins(record.amount),
            }))  # fmt: skip
        return [doc for _, doc in sorted(rows, key=lambda r: r[0])]

    # ------------------------------------------------------------------ own node
    def getfluxnodestatus(self) -> dict[str, Any]:
        """getfluxnodestatus

        Print fluxnode status of this endpoint."""
        endpoint = self.ctx.endpoint
        if not endpoint.is_fluxnode:
            raise RpcError(RPC_MISC_ERROR, "This is not a Flux Node")
        outpoint = endpoint.fluxnode_outpoint or OutPoint(bytes(32), 0xFFFFFFFF)
        record = self.ctx.fluxnodes.record(outpoint)
        if record is None:
            return {"status": "expired", "collateral": outpoint.full()}
        doc: dict[str, Any] = {"status": _STATUS[record.status]}
        doc.update(self._details(record))
        return doc

    def createfluxnodekey(self) -> str:
        """createfluxnodekey

        Create a new fluxnode private key (uncompressed, WIF)."""
        return PrivateKey.generate(compressed=False).to_wif()

    def getfluxnodeoutputs(self) -> list[dict[str, Any]]:
        """getfluxnodeoutputs

        Print all fluxnode collateral outputs of the wallet."""
        wallet = self.ctx.wallet
        out = []
        for (txid, n), akey, coin in wallet.unspent(include_mempool=False):
            if coin.value in TIER_OF_COLLATERAL and akey in wallet.keys:
                out.append({
                    "txhash": hash_hex(txid),
                    "outputidx": n,
                    "Flux Amount": coin.value // 100_000_000,
                    "Confirmations": wallet.depth(coin),
                })  # fmt: skip
        return out

    def listfluxnodeconf(self, filter_text: Any = "") -> list[dict[str, Any]]:
        """listfluxnodeconf ( "filter" )

        Print fluxnode.conf in JSON format."""
        needle = get_str(filter_text)
        out = []
        for entry in self.ctx.endpoint.fluxnode_conf():
            try:
                outpoint = OutPoint(hash_from_hex(entry.txid), int(entry.index))
            except ValueError:
                continue
            record = self.ctx.fluxnodes.record(outpoint)
            status = _STATUS[record.status] if record else "OFFLINE"
            doc: dict[str, Any] = {
                "alias": entry.alias, "status": status, "collateral": outpoint.full(),
                "txHash": entry.txid, "outputIndex": entry.index, "privateKey": entry.privkey,
                "address": entry.address,
            }  # fmt: skip
            if record is None:
                doc.update(_UNKNOWN_NODE)
            else:
                details = self._details(record)
                for key in _UNKNOWN_NODE:
                    doc[key] = details[key]
            if needle and not any(
                needle in str(doc[k]) for k in ("alias", "address", "txHash", "status")
            ):
                continue
            out.append(doc)
        return out

    # ------------------------------------------------------------------ starting
    def _start(self, entry: FluxnodeConfEntry) -> tuple[dict[str, Any], bool]:
        ctx = self.ctx
        doc: dict[str, Any] = {"alias": entry.alias}
        try:
            outpoint = OutPoint(hash_from_hex(entry.txid), int(entry.index))
        except ValueError:
            doc.update(
                {"result": "failed", "errorMessage": "Invalid collateral outpoint in fluxnode.conf"}
            )
            return doc, False
        if (outpoint.txid, outpoint.n) in ctx.mempool.fluxnode_by_collateral:
            doc.update(
                {
                    "result": "failed",
                    "reason": "Mempool already has a fluxnode transaction using this outpoint",
                }
            )
            return doc, False
        record = ctx.fluxnodes.record(outpoint)
        if record is not None:
            doc.update({"result": "failed", "reason": _ALREADY[record.status]})
            return doc, False
        try:
            tx = ctx.endpoint.build_start_tx(entry, int(ctx.engine.clock.time()))
            ctx.mempool.accept(tx)
        except (ValueError, TxRejected, AlreadyInChain) as exc:
            doc.update({"result": "failed", "errorMessage": str(exc)})
            return doc, False
        doc["result"] = "successful"
        return doc, True

    def startdeterministicfluxnode(self, alias: Any, lockwallet: Any) -> dict[str, Any]:
        """startdeterministicfluxnode alias_name lockwallet

        Attempts to start one fluxnode of fluxnode.conf (sends its start transaction)."""
        name = get_str(alias)
        get_str(lockwallet)
        entry = next((e for e in self.ctx.endpoint.fluxnode_conf() if e.alias == name), None)
        if entry is None:
            detail = {
                "alias": name,
                "result": "failed",
                "error": "could not find alias in config. Verify with listfluxnodeconf.",
            }
            ok = False
        else:
            detail, ok = self._start(entry)
            if not ok and "reason" in detail:
                return {"result": "failed", "reason": detail["reason"]}
        good = int(ok)
        return {
            "overall": _overall(good, 1 - good),
            "detail": [detail],
        }

    def startfluxnode(self, which: Any, lockwallet: Any, alias: Any = None) -> Any:
        """startfluxnode "all|alias" lockwallet ( "alias" )

        Attempts to start one or more fluxnodes of fluxnode.conf."""
        mode = get_str(which)
        get_str(lockwallet)
        if (alias is None and mode != "all") or (alias is not None and mode != "alias"):
            raise RpcError(RPC_MISC_ERROR, self.startfluxnode.__doc__ or "startfluxnode")
        wanted = get_str(alias) if alias is not None else None
        results, good, bad, found = [], 0, 0, False
        for entry in self.ctx.endpoint.fluxnode_conf():
            if wanted is not None and entry.alias != wanted:
                continue
            found = True
            detail, ok = self._start(entry)
            good, bad = good + int(ok), bad + int(not ok)
            results.append(detail)
        if wanted is not None and not found:
            bad += 1
            results.append(
                {
                    "result": "failed",
                    "error": "could not find alias in config. Verify with list-conf.",
                }
            )
        return {"overall": _overall(good, bad), "detail": results}

    def createconfirmationtransaction(self) -> dict[str, Any]:
        """createconfirmationtransaction

        Create and send an update confirmation for this endpoint's fluxnode."""
        ctx = self.ctx
        endpoint = ctx.endpoint
        if not endpoint.is_fluxnode or endpoint.fluxnode_outpoint is None:
            raise RpcError(RPC_INVALID_REQUEST, "This is not a Flux Node")
        record = ctx.fluxnodes.record(endpoint.fluxnode_outpoint)
        tier = record.tier if record else 1
        tx = endpoint.build_confirm_tx(1, tier, ctx.engine.bench_key, int(ctx.engine.clock.time()))
        try:
            ctx.mempool.accept(tx)
            sent = "Successfully Sent"
        except (TxRejected, AlreadyInChain) as exc:
            raise RpcError(
                RPC_VERIFY_ERROR, f"Failed to sign new confirmation transaction: {exc}\n"
            ) from exc
        return {"status": sent, "txid": tx.txid_hex(), "raw": tx.serialize().hex()}

    # ------------------------------------------------------------------ benchmarks
    def getbenchmarks(self) -> str:
        """getbenchmarks

        Returns the benchmark results (JSON text) of this endpoint's simulated fluxbenchd."""
        endpoint = self.ctx.endpoint
        if not endpoint.is_fluxnode:
            raise RpcError(RPC_MISC_ERROR, "This is not a Flux Node")
        record = (
            self.ctx.fluxnodes.record(endpoint.fluxnode_outpoint)
            if endpoint.fluxnode_outpoint
            else None
        )
        tier = _TIER_NAMES.get(record.tier if record else 1, "CUMULUS")
        now = int(self.ctx.engine.clock.time())
        result = {
            "status": tier,
            "time": now,
            "ipaddress": endpoint.fluxnode_ip.split(":")[0],
            "architecture": "amd64",
            "thunder": False,
            "systemsecure": False,
        }
        return json.dumps(result)

    def getbenchstatus(self) -> str:
        """getbenchstatus

        Returns the status (JSON text) of this endpoint's simulated fluxbenchd."""
        if not self.ctx.endpoint.is_fluxnode:
            raise RpcError(RPC_MISC_ERROR, "This is not a Flux Node")
        return json.dumps({"status": "online", "benchmarking": "complete", "flux": "connected"})

    def startfluxbenchd(self) -> str:
        """startfluxbenchd

        Starts the benchmark daemon (always running on the devnet)."""
        return "Already running"

    def stopfluxbenchd(self) -> str:
        """stopfluxbenchd

        Stops the benchmark daemon (the devnet's cannot be stopped)."""
        return "Not running"
