"""The fluxd answer caches: what may be kept, for how long, and under which key."""

from fluxos.chain.rpccache import (
    BLOCK_ENTRIES,
    BLOCK_TTL,
    SHORT_TTL,
    RpcCaches,
    cache_key,
    storable,
)
from fluxos.clock import ManualClock

HASH = "00052461a5006c2e3b74ce48992a08695607912d5604c3eb8da25749b0900444"


def test_key_is_method_and_canonical_params() -> None:
    assert cache_key("getblock", ["5", 2]) == 'getblock ["5",2]'
    assert cache_key("getaddressutxos", [{"b": 1, "a": 2}]) == cache_key(
        "getaddressutxos", [{"a": 2, "b": 1}]
    )
    assert cache_key("getblock", ["5", 1]) != cache_key("getblock", ["5", 2])


def test_only_buried_blocks_and_transactions_are_kept() -> None:
    assert storable("getblock", ["5", 1], {"height": 5, "confirmations": 2})
    assert not storable("getblock", ["5", 1], {"height": 5, "confirmations": 1})
    assert not storable("getblock", ["5", 1], {"height": 5, "confirmations": -1})
    assert storable("getblock", [HASH, 0], "0400…")
    assert not storable("getblock", ["5", 0], "0400…")  # by height: a reorg may change it
    assert storable("getrawtransaction", ["ab", 1], {"txid": "ab", "confirmations": 3})
    assert not storable("getrawtransaction", ["ab", 1], {"txid": "ab"})  # in the mempool
    assert not storable("getrawtransaction", ["ab", 0], "0400…")


def test_wallet_and_mutating_calls_are_never_kept() -> None:
    assert storable("getblockcount", [], 5)
    assert storable("getinfo", [], {"balance": 1})
    for method in ("getnewaddress", "sendtoaddress", "getbalance", "getfluxnodestatus", "stop"):
        assert not storable(method, [], "x")


def test_entries_expire_with_the_clock() -> None:
    clock = ManualClock()
    caches = RpcCaches(clock)
    caches.put("getblockcount", [], 7)
    caches.put("getblock", ["5", 1], {"confirmations": 9})
    assert caches.get("getblockcount", []) == (True, 7)
    clock.advance(SHORT_TTL + 0.1)
    assert caches.get("getblockcount", []) == (False, None)
    assert caches.get("getblock", ["5", 1]) == (True, {"confirmations": 9})
    clock.advance(BLOCK_TTL)
    assert caches.get("getblock", ["5", 1]) == (False, None)


def test_full_cache_drops_the_oldest_entry() -> None:
    caches = RpcCaches(ManualClock())
    for height in range(BLOCK_ENTRIES + 1):
        caches.put("getblock", [str(height), 1], {"confirmations": 10})
    assert caches.get("getblock", ["0", 1]) == (False, None)
    assert caches.get("getblock", [str(BLOCK_ENTRIES), 1])[0]


def test_none_is_a_cacheable_result() -> None:
    caches = RpcCaches(ManualClock())
    caches.put("gettxout", ["ab", 0, True], None)  # fluxd's answer for a spent output
    assert caches.get("gettxout", ["ab", 0, True]) == (True, None)


def test_equal_python_values_of_other_json_types_keep_their_own_entries() -> None:
    caches = RpcCaches(ManualClock())
    caches.put("getblockheader", ["ab", 1], "one")
    caches.put("getblockheader", ["ab", True], "true")
    caches.put("getblockheader", ["ab", 1.0], "float")
    assert caches.get("getblockheader", ["ab", 1]) == (True, "one")
    assert caches.get("getblockheader", ["ab", True]) == (True, "true")
    assert caches.get("getblockheader", ["ab", 1.0]) == (True, "float")
