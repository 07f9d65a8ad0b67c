"""Values for every /daemon and /benchmark route parameter, taken from a live devnet, and the
request forms the sweep sends (GET path, GET query, POST body)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fluxos.api.routetable import RouteRow, load_route_table
from tests.support.daemons import DevnetProcess

# Routes the sweep leaves out because they end the daemon it runs against; their own
# tests stop and start it on purpose.
STOPPING = {"/daemon/stop", "/benchmark/stop"}
# The fluxd errors the sweep's values are meant to get, per route: (code, start of the
# message). Any other fluxd error is a failure of the sweep.
SHIELDED = (-1, "is not supported on the fluxos devnet: it has no shielded pool")
EXPECTED_ERRORS: dict[str, tuple[int, str]] = {
    # the sweep's raw transaction is the coinbase of an old block
    "/daemon/sendrawtransaction": (-26, "16: coinbase"),
    # ... and is no fluxnode transaction for the bench to sign
    "/benchmark/signzelnodetransaction": (-8, "hexstring must be a fluxnode transaction"),
    "/benchmark/signfluxnodetransaction": (-8, "hexstring must be a fluxnode transaction"),
    # the sweep names a file that does not exist, then one fluxd's rule refuses
    "/daemon/importwallet": (-8, "Cannot open wallet dump file"),
    "/daemon/backupwallet": (-4, "Filename is invalid as only alphanumeric characters"),
    # its own address, whose key the wallet holds
    "/daemon/importaddress": (-4, "The wallet already contains the private key"),
    # a peer the devnet is not connected to
    "/daemon/disconnectnode": (-29, "Node not found in connected nodes"),
    # every form is sent twice (anonymous, admin): the second finds the first's work
    "/daemon/setban": (-23, "Error: IP/Subnet already banned"),
    "/daemon/addnode": (-23, "Error: Node already added"),
}


def expected_error(base: str, code: int, message: str) -> bool:
    """Whether `base` declares this fluxd error (the devnet has no shielded pool: every
    z-route answers that)."""
    declared = SHIELDED if base.startswith("/daemon/z") else None
    declared = EXPECTED_ERRORS.get(base, declared)
    if declared is None:
        return False
    want_code, start = declared
    if declared is SHIELDED:
        return code == want_code and start in message
    return code == want_code and message.startswith(start)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    form: str  # "path", "query" or "body"
    body: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.form})"


def sweep_routes() -> list[RouteRow]:
    return [
        row
        for (_method, base), row in sorted(load_route_table().items())
        if base.startswith(("/daemon/", "/benchmark/")) and base not in STOPPING
    ]


def chain_values(devnet: DevnetProcess, tmp: Path) -> dict[str, dict[str, str]]:
    """Per-parameter values shared by every route, and per-route overrides."""
    height = int(devnet.rpc("getblockcount"))
    old = height - 10
    block_hash = devnet.rpc("getblockhash", old)
    block = devnet.rpc("getblock", block_hash, 1)
    tip_block = devnet.rpc("getblock", devnet.rpc("getblockhash", height), 1)
    txid = block["tx"][0]
    raw_tx = devnet.rpc("getrawtransaction", txid, 0)
    block_hex = devnet.rpc("getblock", block_hash, 0)
    proof = devnet.rpc("gettxoutproof", [txid], block_hash)
    address = devnet.rpc("getnewaddress")
    info = devnet.rpc("validateaddress", address)
    signature = devnet.rpc("signmessage", address, "sweep")
    utxo = devnet.rpc("listunspent", 1, 9999999, [])[0]
    wif = devnet.rpc("dumpprivkey", address)
    # a confirmed payment: its input is a spent output for getspentinfo
    payment = devnet.rpc("sendtoaddress", address, 1)
    devnet.rpc("generate", 1)
    spent = devnet.rpc("getrawtransaction", payment, 1)["vin"][0]
    unfunded = devnet.rpc("createrawtransaction", [], {address: 0.5})
    shared = {
        "command": "getinfo",
        "filter": "127.0.0.2",
        "set": "alias",
        "lockwallet": "false",
        "alias": "alias",
        "benchmarktype": "sleep",
        "samplecount": "1",
        "hashheight": str(old),
        "verbosity": "1",
        "hash": block_hash,
        "high": str(tip_block["time"] + 1),
        "low": str(block["time"]),
        "noorphans": "true",
        "logicaltimes": "false",
        "index": "0",
        "verbose": "1",
        "txid": txid,
        "n": "0",
        "includemempool": "true",
        "txids": txid,
        "blockhash": block_hash,
        "proof": proof,
        "checklevel": "1",
        "numblocks": "5",
        "height": str(height),
        "jsonrequestobject": '{"mode":"template"}',
        "blocks": "10",
        "prioritydelta": "0",
        "feedelta": "0",
        "hexdata": block_hex,
        "jsonparametersobject": "{}",
        "node": "127.0.0.9:16125",
        "dns": "false",
        "ip": "10.11.12.13",
        "bantime": "60",
        "absolute": "false",
        "transactions": f'[{{"txid":"{utxo["txid"]}","vout":{utxo["vout"]}}}]',
        "addresses": f'{{"{address}":0.1}}',
        "locktime": "0",
        "expiryheight": str(height + 30),
        "hexstring": raw_tx,
        "allowhighfees": "false",
        "prevtxs": "[]",
        "privatekeys": f'["{wif}"]',
        "sighashtype": "ALL",
        "branchid": "76b809bb",
        "hex": "76a914" + "00" * 20 + "88ac",
        "keys": f'["{info.get("pubkey", address)}"]',
        "nblocks": "2",
        "fluxaddress": address,
        "signature": signature,
        "message": "sweep",
        "zaddr": "zs1notonthedevnet",
        "includewatchonly": "false",
        "address": address,
        "start": str(old),
        "end": str(height),
        "chaininfo": "true",
        "keysobject": f'["{info.get("pubkey", address)}"]',
        "destination": str(tmp / "wallet.backup"),
        "taddr": address,
        "minconf": "1",
        "label": "sweep",
        "rescan": "false",
        "fluxprivkey": wif,
        "filename": str(tmp / "wallet.backup"),
        "newsize": "5",
        "includeempty": "false",
        "targetconfirmations": "1",
        "count": "5",
        "from": "0",
        "maxconf": "9999999",
        "maxonf": "9999999",
        "unlock": "true",
        "startheight": str(height - 2),
        "tofluxaddress": address,
        "amount": "0.1",
        "comment": "sweep",
        "commentto": "sweep",
        "amounts": f'{{"{address}":0.1}}',
        "substractfeefromamount": "false",
        "type": "sapling",
        "operationid": "opid-1",
        "zkey": "secret-extended-key",
        "vkey": "viewing-key",
        "fromaddresses": f'["{address}"]',
        "toaddress": "zs1notonthedevnet",
        "fee": "0.0001",
        "transparentlimit": "50",
        "shieldedlimit": "20",
        "memo": "",
        "fromaddress": address,
        "enabled": "false",
        "limit": "50",
        "rawtx": raw_tx,
        "inputs": "{}",
        "outputs": "{}",
        "vpubold": "0",
        "vpubnew": "0",
        "zcsecretkey": "key",
        "encryptednote": "note",
    }
    overrides = {
        "/daemon/getblockhash": {"index": str(old)},
        "/daemon/getspentinfo": {"txid": spent["txid"], "index": str(spent["vout"])},
        "/daemon/fundrawtransaction": {"hexstring": unfunded},
        "/daemon/createmultisig": {"n": "1"},
        "/daemon/addmultisigaddress": {"n": "1"},
        "/daemon/listunspent": {"addresses": f'["{address}"]'},
        "/daemon/zlistunspent": {"addresses": f'["{address}"]'},
        "/daemon/sendmany": {"substractfeefromamount": "[]"},
        "/daemon/lockunspent": {"transactions": "[]"},
        "/daemon/settxfee": {"amount": "0.0001"},
        "/daemon/setban": {"command": "add"},
        "/daemon/addnode": {"command": "add"},
    }
    return {"shared": shared, **overrides}


def requests_for(row: RouteRow, values: dict[str, dict[str, str]]) -> list[Request]:
    """The forms of `row` the sweep sends: path and query for GET, a JSON body for POST."""
    chosen = {**values["shared"], **values.get(row.base, {})}
    if row.method == "POST":
        # a POST body carries the names of the GET route's segments
        twin = load_route_table()[("GET", row.base)]
        body: dict[str, Any] = {name: chosen[name] for name in twin.params}
        if "address" in body:  # the address-index bodies carry a list, as upstream documents
            body = {"addresses": [body.pop("address")], **body}
        return [Request("POST", row.base, "body", body=body)]
    named = {name: chosen[name] for name in row.params}
    query = urlencode(named)
    forms = [Request("GET", f"{row.base}?{query}" if query else row.base, "query")]
    if row.params:
        segments = "/".join(quote(named[name], safe="") for name in row.params)
        forms.append(Request("GET", f"{row.base}/{segments}", "path"))
    return forms
