"""The RPC route table: it covers every /daemon and /benchmark route of routes.tsv, and it
turns request values into the RPC params of spec daemon.md §3–§4."""

from typing import Any

import pytest

from fluxos.api.app import ROUTERS
from fluxos.api.routetable import load_route_table
from fluxos.api.rpcroutes import RpcRoute, TipOffset
from fluxos.api.rpctable import RPC_ROUTES, rows_by_path
from fluxos.chain.rpcmethods import FLUXBENCH_METHODS, FLUXD_METHODS
from fluxos.daemon.service import Daemon
from fluxos.errors import BadParameter

ROWS = rows_by_path()
# routes that are not a passthrough: process control and the stored benchmark
OWN_HANDLERS = {
    "/daemon/start",
    "/daemon/restart",
    "/daemon/reindex",
    "/benchmark/start",
    "/benchmark/restart",
    "/benchmark/getstoredbenchmark",
}


def section_routes() -> dict[tuple[str, str], Any]:
    return {
        key: row
        for key, row in load_route_table().items()
        if key[1].startswith(("/daemon/", "/benchmark/"))
    }


def params(path: str, **values: Any) -> list[Any]:
    return ROWS[path].build_params(values.get)


def test_every_daemon_and_benchmark_route_of_the_table_is_served() -> None:
    expected = section_routes()
    assert len(expected) == 175
    declared = {(route.method, route.base): route for router in ROUTERS for route in router.routes}
    missing = sorted(key for key in expected if key not in declared)
    assert missing == []
    for (method, base), _row in expected.items():
        if base in OWN_HANDLERS:
            assert method == "GET" and base not in ROWS
            continue
        row = ROWS[base]
        assert method == "GET" or row.post, f"{method} {base} is not a POST row"


def test_post_rows_match_the_route_table() -> None:
    table_posts = {base for (method, base) in section_routes() if method == "POST"}
    row_posts = {path for row in RPC_ROUTES if row.post for path in row.paths}
    assert row_posts == table_posts


def test_every_path_segment_of_a_route_is_read_by_its_row() -> None:
    table = section_routes()
    shaped_names = {"high", "low", "noorphans", "logicaltimes"}  # getblockhashes' shaper
    for row in RPC_ROUTES:
        names = {arg.name for arg in row.args if hasattr(arg, "name")}
        names |= {alias for arg in row.args for alias in getattr(arg, "aliases", ())}
        if row.shape is not None:
            names |= shaped_names
        for path in row.paths:
            segments = set(table[("GET", path)].params)
            assert segments <= names, f"{path}: {segments - names} ignored"


def test_every_rpc_is_on_its_daemons_allow_list() -> None:
    for row in RPC_ROUTES:
        allowed = FLUXD_METHODS if row.target is Daemon.FLUXD else FLUXBENCH_METHODS
        assert row.rpc in allowed, row.rpc


def test_paths_are_unique() -> None:
    paths = [path for row in RPC_ROUTES for path in row.paths]
    assert len(paths) == len(set(paths))


# -- parameter shaping, one behaviour each ------------------------------------------------
def test_defaults_and_coercions() -> None:
    assert params("/daemon/getblock", hashheight="5") == ["5", 2]
    assert params("/daemon/getblock", hashheight="5", verbosity="1") == ["5", 1]
    assert params("/daemon/help") == [""]
    assert params("/daemon/getblockheader", hash="ab") == ["ab", True]
    assert params("/daemon/gettxout", txid="ab", n="1") == ["ab", 1, True]
    assert params("/daemon/verifychain") == [3, 288]
    assert params("/daemon/getnetworkhashps") == [120, -1]
    assert params("/daemon/getrawtransaction", txid="ab") == ["ab", 0]
    assert params("/daemon/gettxoutproof", txids="a,b") == [["a", "b"]]
    assert params("/daemon/getbalance") == ["", 1, False]
    assert params("/daemon/listtransactions", count="5") == ["*", 5, 0, False]
    assert params("/daemon/zgetoperationstatus") == [[]]
    assert params("/daemon/zgetoperationstatus", operationid="opid-1,opid-2") == [
        ["opid-1", "opid-2"]
    ]


def test_missing_required_values_send_no_params_so_fluxd_answers_its_usage() -> None:
    assert params("/daemon/getblock") == []
    assert params("/daemon/gettxout", txid="ab") == []
    assert params("/daemon/sendtoaddress", amount="1") == []
    assert params("/daemon/sendfrom", tofluxaddress="t1x") == []
    assert params("/daemon/verifymessage", fluxaddress="t1", signature="s") == []


def test_optional_values_end_the_list_as_upstream_nests_them() -> None:
    assert params("/daemon/setban", ip="1.2.3.4", command="add") == ["1.2.3.4", "add"]
    assert params("/daemon/setban", ip="1.2.3.4", command="add", absolute="true") == [
        "1.2.3.4",
        "add",
    ]
    assert params("/daemon/setban", ip="1.2.3.4", command="add", bantime="60", absolute="1") == [
        "1.2.3.4",
        "add",
        60,
        True,
    ]
    assert params("/daemon/signrawtransaction", hexstring="00") == ["00"]
    assert params("/daemon/signrawtransaction", hexstring="00", privatekeys='["k"]') == ["00"]
    assert params(
        "/daemon/signrawtransaction", hexstring="00", prevtxs="[]", privatekeys='["k"]'
    ) == ["00", [], ["k"], "ALL"]
    assert params("/daemon/getaddednodeinfo", node="n") == []
    assert params("/daemon/getaddednodeinfo", dns="0", node="n") == [False, "n"]
    assert params("/daemon/listfluxnodes") == []
    assert params("/daemon/listfluxnodes", filter="abc") == ["abc"]


def test_packed_address_index_params() -> None:
    assert params("/daemon/getaddressbalance", address="t1a") == [{"addresses": ["t1a"]}]
    assert params("/daemon/getaddresstxids", addresses=["t1a", "t1b"], start=5) == [
        {"addresses": ["t1a", "t1b"], "start": 5}
    ]
    assert params("/daemon/getaddressdeltas", address="t1a", chaininfo="true") == [
        {"addresses": ["t1a"], "chainInfo": True}
    ]
    assert params("/daemon/getaddressutxos", address="t1a", chainInfo="false") == [
        {"addresses": ["t1a"], "chainInfo": False}
    ]
    assert params("/daemon/getaddressmempool") == []
    assert params("/daemon/getspentinfo", txid="ab", index="0") == [{"txid": "ab", "index": 0}]
    assert params("/daemon/getspentinfo", index="0") == [{"index": 0}]


def test_block_hashes_accepts_both_flag_spellings() -> None:
    assert params("/daemon/getblockhashes", high="20", low="10") == [20, 10]
    assert params("/daemon/getblockhashes", high="20", low="10", noorphans="true") == [
        20,
        10,
        {"noOrphans": True},
    ]
    assert params("/daemon/getblockhashes", high="20", low="10", logicalTimes="0") == [
        20,
        10,
        {"logicalTimes": False},
    ]
    assert params("/daemon/getblockhashes", high=20, low=10, options={"noOrphans": True}) == [
        20,
        10,
        {"noOrphans": True},
    ]


def test_quirks_fixed() -> None:
    # lockwallet goes out as text: fluxd reads it with get_str
    assert params("/daemon/startdeterministicfluxnode", alias="a") == ["a", "false"]
    assert params("/daemon/startdeterministicfluxnode", alias="a", lockwallet="1") == ["a", "true"]
    # startfluxnode's lockwallet is compared with "true" by fluxd and sent as given
    assert params("/daemon/startfluxnode", set="alias", lockwallet="true") == [
        "alias",
        "true",
    ]
    # misspelled maxonf segment and the maxconf query name both count
    assert params("/daemon/zlistunspent", maxonf="5") == [1, 5, False]
    assert params("/daemon/zlistunspent", maxconf="6") == [1, 6, False]
    # the default expiry is the tip + 20, resolved per call
    assert params("/daemon/createrawtransaction", transactions="[]", addresses="{}") == [
        [],
        {},
        0,
        TipOffset(20),
    ]


def test_bad_values_name_the_parameter() -> None:
    with pytest.raises(BadParameter, match=r"^verbosity must be a number"):
        params("/daemon/getblock", hashheight="5", verbosity="two")
    with pytest.raises(BadParameter, match=r"^includemempool must be true or false"):
        params("/daemon/gettxout", txid="ab", n="0", includemempool="maybe")
    with pytest.raises(BadParameter, match=r"^transactions must be a JSON object or array"):
        params("/daemon/createrawtransaction", transactions="abc", addresses="{}")


def test_rows_with_flags() -> None:
    assert ROWS["/daemon/getinfo"].admin_fields == ("balance",)
    assert ROWS["/daemon/validateaddress"].admin_fields == ("ismine", "iswatchonly")
    assert ROWS["/daemon/viewdeterministiczelnodelist"].limit
    assert ROWS["/daemon/getzelnodestatus"].fresh
    assert ROWS["/benchmark/getbenchmarks"].stores_benchmark
    assert ROWS["/daemon/stop"].stops == "fluxd"
    assert ROWS["/benchmark/stop"].stops == "fluxbench"
    assert all(isinstance(row, RpcRoute) for row in RPC_ROUTES)
