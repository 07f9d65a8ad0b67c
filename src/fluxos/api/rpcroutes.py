"""The RPC-backed routes of the Flux API as data: every `/daemon/*` and `/benchmark/*` route
that forwards to fluxd or fluxbenchd is one row here (spec daemon.md §3, §4.2).

A row names its paths, the RPC method, the ordered arguments with their coercions, and
flags for the few routes that do more than forward (admin-only fields, `?limit=`, the
stored benchmark). Permission and route-cache lifetime come from `routes.tsv`; one
generic handler (`fluxos.api.passthrough`) serves every row.

Argument rules, applied in order (they reproduce upstream's `if (x) params.push(...)`
chains): a `required` argument that is absent makes the call go out with no params at
all, so fluxd answers with its usage text; an optional argument with a `default` takes
it; an optional argument without one ends the param list there (later ones are dropped,
as upstream nests them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fluxos.api.coercions import (
    boolean,
    boolean_text,
    comma_list,
    json_object,
    number,
    one_or_many,
    raw,
    text,
)

Coercion = Callable[[str, Any], Any]
Lookup = Callable[[str], Any]


class Target(StrEnum):
    FLUXD = "fluxd"
    FLUXBENCH = "fluxbench"


class _Optional:
    def __repr__(self) -> str:
        return "OPTIONAL"


OPTIONAL: Any = _Optional()


@dataclass(frozen=True)
class TipOffset:
    """A default computed from the chain tip: `getblockcount + blocks` (resolved per call)."""

    blocks: int


@dataclass(frozen=True)
class Arg:
    """One request value: its name (path segment / query / body key), how it is coerced,
    its default, other names it is accepted under, and its key inside a packed object."""

    name: str
    coerce: Coercion = raw
    default: Any = OPTIONAL
    required: bool = False
    aliases: tuple[str, ...] = ()
    key: str | None = None

    def lookup(self, values: Lookup) -> Any:
        for name in (self.name, *self.aliases):
            value = values(name)
            if value is not None:
                return value
        return None


@dataclass(frozen=True)
class Const:
    """A fixed RPC param (e.g. the empty account name `""` wallet calls start with)."""

    value: Any


Shaper = Callable[[Lookup], list[Any]]


@dataclass(frozen=True)
class RpcRoute:
    """A row: the paths it serves and how a request becomes one RPC call."""

    paths: tuple[str, ...]
    rpc: str
    args: tuple[Arg | Const, ...] = ()
    target: Target = Target.FLUXD
    packed: bool = False  # the args form one object param: [{key: value, …}]
    shape: Shaper | None = None  # a row whose params follow no rule above
    post: bool = False  # also served as POST, body keys named like the args
    admin_fields: tuple[str, ...] = ()  # result keys only the admin sees
    limit: bool = False  # `?limit=N` keeps the first N entries of a list result
    fresh: bool = False  # never answered from the RPC cache
    stores_benchmark: bool = False  # a valid result is kept as the stored benchmark
    stops: str | None = None  # the managed process this call stops ("fluxd"/"fluxbench")

    def build_params(self, values: Lookup) -> list[Any]:
        """The RPC params for a request whose values `values(name)` returns (None = absent)."""
        if self.shape is not None:
            return self.shape(values)
        if self.packed:
            return self._packed(values)
        params: list[Any] = []
        for arg in self.args:
            if isinstance(arg, Const):
                params.append(arg.value)
                continue
            value = arg.lookup(values)
            if value is None:
                if arg.required:
                    return []
                if arg.default is OPTIONAL:
                    break
                params.append(_coerce_default(arg))
                continue
            params.append(arg.coerce(arg.name, value))
        else:
            return params
        # an optional argument ended the list; a later required one still empties it
        if any(isinstance(a, Arg) and a.required and a.lookup(values) is None for a in self.args):
            return []
        return params

    def _packed(self, values: Lookup) -> list[Any]:
        packed: dict[str, Any] = {}
        for arg in self.args:
            if isinstance(arg, Const):
                continue
            value = arg.lookup(values)
            key = arg.key or arg.name
            if value is None:
                if arg.required:
                    return []
                if arg.default is not OPTIONAL:
                    packed[key] = _coerce_default(arg)
                continue
            packed[key] = arg.coerce(arg.name, value)
        return [packed]


def _coerce_default(arg: Arg) -> Any:
    if isinstance(arg.default, TipOffset):
        return arg.default
    return arg.coerce(arg.name, arg.default)


def _block_hashes(values: Lookup) -> list[Any]:
    """getblockhashes `[high?, low?, options?]`: each number only when given; the options
    object from `options` (POST) or from the flags, under either spelling (upstream read
    only the camelCase query names, so the documented path segments did nothing)."""
    params: list[Any] = []
    for name in ("high", "low"):
        value = values(name)
        if value is not None:
            params.append(number(name, value))
    options = values("options")
    if options is not None:
        params.append(json_object("options", options))
        return params
    flags: dict[str, bool] = {}
    for key, spellings in (
        ("noOrphans", ("noorphans", "noOrphans")),
        ("logicalTimes", ("logicaltimes", "logicalTimes")),
    ):
        for spelling in spellings:
            value = values(spelling)
            if value is not None:
                flags[key] = boolean(spelling, value)
                break
    if flags:
        params.append(flags)
    return params


# ----------------------------------------------------------------------------------------
# Short constructors keep the table readable: one row per line where it fits.
N, B, O, S = number, boolean, json_object, text  # noqa: E741 - the spec's names


def req(name: str, coerce: Coercion = raw, **kw: Any) -> Arg:
    return Arg(name, coerce, required=True, **kw)


def opt(name: str, coerce: Coercion = raw, default: Any = OPTIONAL, **kw: Any) -> Arg:
    return Arg(name, coerce, default=default, **kw)


def daemon(*names: str) -> tuple[str, ...]:
    return tuple(f"/daemon/{name}" for name in names)


def rpc(paths: str | tuple[str, ...], method: str, *args: Arg | Const, **flags: Any) -> RpcRoute:
    return RpcRoute(
        paths=daemon(paths) if isinstance(paths, str) else paths, rpc=method, args=args, **flags
    )


def address_index(method: str, *extra: Arg) -> RpcRoute:
    """The insight address-index calls: one object param built around `addresses`."""
    addresses = req("address", one_or_many, aliases=("addresses",), key="addresses")
    return rpc(method, method, addresses, *extra, packed=True, post=True)


def bench(paths: tuple[str, ...], method: str, *args: Arg, **flags: Any) -> RpcRoute:
    return RpcRoute(paths=paths, rpc=method, args=args, target=Target.FLUXBENCH, **flags)


WALLET_MAXCONF = 9999999
Z_FEE = 0.0001

# fluxd ≥ 6 answers both the flux* and the deprecated zel* method names; we send flux*.
RPC_ROUTES: tuple[RpcRoute, ...] = (
    # -- control, fluxnode, benchmark through fluxd (§3.1) -------------------------------
    rpc("help", "help", opt("command", default="")),
    rpc("getinfo", "getinfo", admin_fields=("balance",)),
    rpc("stop", "stop", stops="fluxd"),
    rpc(daemon("getfluxnodestatus", "getzelnodestatus"), "getfluxnodestatus", fresh=True),
    rpc(
        daemon(
            "listfluxnodes",
            "listzelnodes",
            "viewdeterministicfluxnodelist",
            "viewdeterministiczelnodelist",
        ),
        "listfluxnodes",
        opt("filter"),
        limit=True,
    ),
    rpc(daemon("getfluxnodecount", "getzelnodecount"), "getfluxnodecount"),
    rpc("getdoslist", "getdoslist"),
    rpc("getstartlist", "getstartlist"),
    rpc("fluxnodecurrentwinner", "fluxnodecurrentwinner"),
    rpc(daemon("createfluxnodekey", "createzelnodekey"), "createfluxnodekey"),
    rpc(daemon("listfluxnodeconf", "listzelnodeconf"), "listfluxnodeconf", opt("filter")),
    rpc(daemon("getfluxnodeoutputs", "getzelnodeoutputs"), "getfluxnodeoutputs"),
    # fluxd compares lockwallet with the string "true", so it goes out unconverted
    rpc(
        daemon("startfluxnode", "startzelnode"),
        "startfluxnode",
        req("set"),
        req("lockwallet", S),
        opt("alias"),
    ),
    # fluxd reads lockwallet with get_str: a JSON boolean makes it throw, so send text
    rpc(
        daemon("startdeterministicfluxnode", "startdeterministiczelnode"),
        "startdeterministicfluxnode",
        req("alias"),
        opt("lockwallet", boolean_text, default=False),
    ),
    rpc("getbenchmarks", "getbenchmarks"),
    rpc("getbenchstatus", "getbenchstatus"),
    rpc("startbenchmark", "startfluxbenchd"),
    rpc("stopbenchmark", "stopfluxbenchd"),
    rpc("zcbenchmark", "zcbenchmark", req("benchmarktype"), req("samplecount", N)),
    rpc("ping", "ping"),
    # -- blockchain (§3.2) ----------------------------------------------------------------
    rpc("getbestblockhash", "getbestblockhash"),
    # default verbosity 2 is what upstream sends (the seed says 1)
    rpc("getblock", "getblock", req("hashheight", S), opt("verbosity", N, default=2)),
    rpc("getblockchaininfo", "getblockchaininfo"),
    rpc("getblockcount", "getblockcount"),
    rpc("getblockdeltas", "getblockdeltas", opt("hash")),
    RpcRoute(paths=daemon("getblockhashes"), rpc="getblockhashes", shape=_block_hashes, post=True),
    rpc("getblockhash", "getblockhash", opt("index", N)),
    rpc("getblockheader", "getblockheader", req("hash"), opt("verbose", B, default=True)),
    rpc("getchaintips", "getchaintips", opt("minheight", N)),
    rpc("getdifficulty", "getdifficulty"),
    rpc("getmempoolinfo", "getmempoolinfo"),
    rpc("getrawmempool", "getrawmempool", opt("verbose", B, default=False)),
    # includemempool defaults to true, as upstream sends (the seed says false)
    rpc(
        "gettxout",
        "gettxout",
        req("txid"),
        req("n", N),
        opt("includemempool", B, default=True),
    ),
    rpc("gettxoutproof", "gettxoutproof", req("txids", comma_list), opt("blockhash")),
    rpc("gettxoutsetinfo", "gettxoutsetinfo"),
    rpc("verifytxoutproof", "verifytxoutproof", opt("proof")),
    rpc("getspentinfo", "getspentinfo", opt("txid", S), opt("index", N), packed=True, post=True),
    rpc(
        "verifychain",
        "verifychain",
        opt("checklevel", N, default=3),
        opt("numblocks", N, default=288),
    ),
    # -- mining (§3.3) ----------------------------------------------------------------------
    rpc("getblocksubsidy", "getblocksubsidy", opt("height", N)),
    rpc("getblocktemplate", "getblocktemplate", opt("jsonrequestobject", O)),
    rpc("getlocalsolps", "getlocalsolps"),
    rpc("getmininginfo", "getmininginfo"),
    rpc(
        "getnetworkhashps",
        "getnetworkhashps",
        opt("blocks", N, default=120),
        opt("height", N, default=-1),
    ),
    rpc(
        "getnetworksolps",
        "getnetworksolps",
        opt("blocks", N, default=120),
        opt("height", N, default=-1),
    ),
    rpc(
        "prioritisetransaction",
        "prioritisetransaction",
        req("txid"),
        req("prioritydelta", N),
        req("feedelta", N),
    ),
    rpc("submitblock", "submitblock", req("hexdata"), opt("jsonparametersobject", O), post=True),
    # -- network (§3.4) ---------------------------------------------------------------------
    rpc("getconnectioncount", "getconnectioncount"),
    rpc("getdeprecationinfo", "getdeprecationinfo"),
    rpc("getnettotals", "getnettotals"),
    rpc("getnetworkinfo", "getnetworkinfo"),
    rpc("getpeerinfo", "getpeerinfo"),
    rpc("listbanned", "listbanned"),
    rpc("addnode", "addnode", req("node"), req("command")),
    rpc("clearbanned", "clearbanned"),
    rpc("disconnectnode", "disconnectnode", opt("node")),
    rpc("getaddednodeinfo", "getaddednodeinfo", opt("dns", B), opt("node")),
    rpc(
        "setban",
        "setban",
        req("ip"),
        req("command"),
        opt("bantime", N),
        opt("absolute", B),
    ),
    # -- raw transactions and utilities (§3.5) ----------------------------------------------
    # upstream meant a default expiry of tip + 20 but added 20 to its response object (NaN)
    rpc(
        "createrawtransaction",
        "createrawtransaction",
        req("transactions", O),
        req("addresses", O),
        opt("locktime", N, default=0),
        opt("expiryheight", N, default=TipOffset(20)),
        post=True,
    ),
    rpc("decoderawtransaction", "decoderawtransaction", opt("hexstring"), post=True),
    rpc("decodescript", "decodescript", opt("hex"), post=True),
    rpc("fundrawtransaction", "fundrawtransaction", opt("hexstring"), post=True),
    rpc("getrawtransaction", "getrawtransaction", req("txid"), opt("verbose", N, default=0)),
    rpc(
        "sendrawtransaction",
        "sendrawtransaction",
        req("hexstring"),
        opt("allowhighfees", B, default=False),
        post=True,
    ),
    rpc(
        "signrawtransaction",
        "signrawtransaction",
        req("hexstring"),
        opt("prevtxs", O),
        opt("privatekeys", O),
        opt("sighashtype", default="ALL"),
        opt("branchid"),
        post=True,
    ),
    rpc("createmultisig", "createmultisig", req("n", N), req("keys", O), post=True),
    rpc("estimatefee", "estimatefee", opt("nblocks", N)),
    rpc("estimatepriority", "estimatepriority", opt("nblocks", N)),
    rpc(
        "validateaddress",
        "validateaddress",
        opt("fluxaddress"),
        admin_fields=("ismine", "iswatchonly"),
    ),
    rpc(
        "verifymessage",
        "verifymessage",
        req("fluxaddress"),
        req("signature"),
        req("message"),
        post=True,
    ),
    rpc("zvalidateaddress", "z_validateaddress", opt("zaddr")),
    rpc("gettransaction", "gettransaction", req("txid"), opt("includewatchonly", B, default=False)),
    # -- address index (§3.6): public, as live nodes serve them (the seed says admin) -------
    address_index("getaddresstxids", opt("start", N), opt("end", N)),
    address_index("getaddressbalance"),
    address_index(
        "getaddressdeltas",
        opt("start", N),
        opt("end", N),
        opt("chaininfo", B, aliases=("chainInfo",), key="chainInfo"),
    ),
    # upstream passed chainInfo through as text, which fluxd rejects as "not a boolean"
    address_index("getaddressutxos", opt("chaininfo", B, aliases=("chainInfo",), key="chainInfo")),
    address_index("getaddressmempool"),
    # -- transparent wallet (§3.7) -----------------------------------------------------------
    rpc(
        "addmultisigaddress",
        "addmultisigaddress",
        req("n", N),
        req("keysobject", O),
        post=True,
    ),
    rpc("backupwallet", "backupwallet", opt("destination")),
    rpc("dumpprivkey", "dumpprivkey", opt("taddr")),
    rpc(
        "getbalance",
        "getbalance",
        Const(""),
        opt("minconf", N, default=1),
        opt("includewatchonly", B, default=False),
    ),
    rpc("getnewaddress", "getnewaddress"),
    rpc("getrawchangeaddress", "getrawchangeaddress"),
    rpc(
        "getreceivedbyaddress",
        "getreceivedbyaddress",
        req("fluxaddress"),
        opt("minconf", N, default=1),
    ),
    rpc("getunconfirmedbalance", "getunconfirmedbalance"),
    rpc("getwalletinfo", "getwalletinfo"),
    rpc(
        "importaddress",
        "importaddress",
        req("address"),
        opt("label", default=""),
        opt("rescan", B, default=True),
    ),
    rpc(
        "importprivkey",
        "importprivkey",
        req("fluxprivkey"),
        opt("label", default=""),
        opt("rescan", B, default=True),
    ),
    rpc("importwallet", "importwallet", opt("filename")),
    rpc("keypoolrefill", "keypoolrefill", opt("newsize", N, default=100)),
    rpc("listaddressgroupings", "listaddressgroupings"),
    rpc("listlockunspent", "listlockunspent"),
    rpc(
        "listreceivedbyaddress",
        "listreceivedbyaddress",
        opt("minconf", N, default=1),
        opt("includeempty", B, default=False),
        opt("includewatchonly", B, default=False),
    ),
    rpc(
        "listsinceblock",
        "listsinceblock",
        opt("blockhash", default=""),
        opt("targetconfirmations", N, default=1),
        opt("includewatchonly", B, default=False),
    ),
    rpc(
        "listtransactions",
        "listtransactions",
        Const("*"),
        opt("count", N, default=10),
        opt("from", N, default=0),
        opt("includewatchonly", B, default=False),
    ),
    rpc(
        "listunspent",
        "listunspent",
        opt("minconf", N, default=1),
        opt("maxconf", N, default=WALLET_MAXCONF),
        opt("addresses", O),
    ),
    rpc("lockunspent", "lockunspent", req("unlock", B), req("transactions", O)),
    rpc("rescanblockchain", "rescanblockchain", opt("startheight", N, default=0)),
    rpc(
        "sendfrom",
        "sendfrom",
        Const(""),
        req("tofluxaddress"),
        req("amount", N),
        opt("minconf", N, default=1),
        opt("comment", default=""),
        opt("commentto", default=""),
        post=True,
    ),
    rpc(
        "sendmany",
        "sendmany",
        Const(""),
        req("amounts", O),
        opt("minconf", N, default=1),
        opt("comment", default=""),
        opt("substractfeefromamount", O),
        post=True,
    ),
    rpc(
        "sendtoaddress",
        "sendtoaddress",
        req("fluxaddress"),
        req("amount", N),
        opt("comment", default=""),
        opt("commentto", default=""),
        opt("substractfeefromamount", B, default=False),
        post=True,
    ),
    rpc("settxfee", "settxfee", opt("amount", N)),
    rpc("signmessage", "signmessage", req("taddr"), req("message"), post=True),
    # -- shielded (§3.8): the devnet refuses these; a real fluxd answers -------------------
    rpc("zexportkey", "z_exportkey", opt("zaddr")),
    rpc("zexportviewingkey", "z_exportviewingkey", opt("zaddr")),
    rpc("zgetbalance", "z_getbalance", req("address"), opt("minconf", N, default=1)),
    rpc("zgetmigrationstatus", "z_getmigrationstatus"),
    rpc("zgetnewaddress", "z_getnewaddress", opt("type", default="sapling")),
    # a JSON array of operation ids, or (our addition) comma-separated ids
    rpc("zgetoperationresult", "z_getoperationresult", opt("operationid", comma_list, default=[])),
    rpc("zgetoperationstatus", "z_getoperationstatus", opt("operationid", comma_list, default=[])),
    rpc(
        "zgettotalbalance",
        "z_gettotalbalance",
        opt("minconf", N, default=1),
        opt("includewatchonly", B, default=False),
    ),
    rpc(
        "zimportkey",
        "z_importkey",
        req("zkey"),
        opt("rescan", default="whenkeyisnew"),
        opt("startheight", N, default=0),
    ),
    rpc(
        "zimportviewingkey",
        "z_importviewingkey",
        req("vkey"),
        opt("rescan", default="whenkeyisnew"),
        opt("startheight", N, default=0),
    ),
    rpc("zimportwallet", "z_importwallet", opt("filename")),
    rpc("zlistaddresses", "z_listaddresses", opt("includewatchonly", B, default=False)),
    rpc("zlistoperationids", "z_listoperationids"),
    rpc(
        "zlistreceivedbyaddress",
        "z_listreceivedbyaddress",
        req("address"),
        opt("minconf", N, default=1),
    ),
    # upstream's path segment is misspelled `maxonf`; both spellings work here
    rpc(
        "zlistunspent",
        "z_listunspent",
        opt("minconf", N, default=1),
        opt("maxonf", N, default=WALLET_MAXCONF, aliases=("maxconf",)),
        opt("includewatchonly", B, default=False),
        opt("addresses", O),
    ),
    rpc(
        "zmergetoaddress",
        "z_mergetoaddress",
        req("fromaddresses", O),
        req("toaddress"),
        opt("fee", N, default=Z_FEE),
        opt("transparentlimit", N, default=50),
        opt("shieldedlimit", N, default=20),
        opt("memo", default=""),
    ),
    rpc(
        "zsendmany",
        "z_sendmany",
        req("fromaddress"),
        req("amounts", O),
        opt("minconf", N, default=1),
        opt("fee", N, default=Z_FEE),
        post=True,
    ),
    rpc("zsetmigration", "z_setmigration", opt("enabled", B)),
    rpc(
        "zshieldcoinbase",
        "z_shieldcoinbase",
        req("fromaddress"),
        req("toaddress"),
        opt("fee", N, default=Z_FEE),
        opt("limit", N, default=50),
    ),
    rpc(
        "zcrawjoinsplit",
        "zcrawjoinsplit",
        req("rawtx"),
        req("inputs", O),
        req("outputs", O),
        req("vpubold"),
        req("vpubnew"),
        post=True,
    ),
    rpc("zcrawkeygen", "zcrawkeygen"),
    rpc("zcrawreceive", "zcrawreceive", req("zcsecretkey"), req("encryptednote"), post=True),
    rpc("zcsamplejoinsplit", "zcsamplejoinsplit"),
    # -- fluxbenchd (§4.2) ------------------------------------------------------------------
    bench(("/benchmark/getstatus",), "getstatus"),
    bench(("/benchmark/help",), "help", opt("command", default="")),
    bench(("/benchmark/getbenchmarks",), "getbenchmarks", stores_benchmark=True),
    bench(("/benchmark/getinfo",), "getinfo"),
    bench(("/benchmark/restartnodebenchmarks",), "restartnodebenchmarks"),
    bench(
        ("/benchmark/signfluxnodetransaction", "/benchmark/signzelnodetransaction"),
        "signzelnodetransaction",
        opt("hexstring"),
        post=True,
    ),
    bench(("/benchmark/stop",), "stop", stops="fluxbench"),
)


def rows_by_path() -> dict[str, RpcRoute]:
    """Every served base path → its row (a row may serve several, e.g. zel* aliases)."""
    return {path: row for row in RPC_ROUTES for path in row.paths}
