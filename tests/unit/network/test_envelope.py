import json
from pathlib import Path

import pytest

from fluxos.crypto import PrivateKey, verify_message
from fluxos.network.envelope import Envelope, Verdict, signed_text
from fluxos.network.nodelist import FluxnodeList

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "p2p.json").read_text())
KEYS = VECTORS["keys"]
NOW = 1700000000123 + 1000


def listed(*entries: tuple[str, str]) -> FluxnodeList:
    return FluxnodeList(
        {"ip": ip, "pubkey": pubkey, "added_height": i, "collateral": f"COutPoint({i:064x}, 0)"}
        for i, (ip, pubkey) in enumerate(entries)
    )


NODES = listed(
    ("1.2.3.4", KEYS["K1"]["pubkey"]),  # a bare IP is listed as ip:16127
    ("5.6.7.8:16127", KEYS["K2"]["pubkey"]),
)


def test_upstream_signature_of_test_by_k1() -> None:
    assert verify_message("test", KEYS["K1"]["pubkey"], KEYS["K1"]["signature_of_test"])


@pytest.mark.parametrize("vector", VECTORS["envelopes"], ids=lambda v: v["name"])
def test_vectors_verify(vector: dict) -> None:
    envelope = Envelope(json.loads(vector["wire"]))
    assert signed_text(envelope.data, envelope.timestamp) == vector["signed_text"]
    assert envelope.to_json() == vector["wire"]
    assert envelope.verify(NODES, NOW) is Verdict.OK


@pytest.mark.parametrize("vector", VECTORS["envelopes"], ids=lambda v: v["name"])
def test_changed_data_breaks_the_signature(vector: dict) -> None:
    message = json.loads(vector["wire"])
    message["data"]["version"] += 1
    assert Envelope(message).verify(NODES, NOW) is Verdict.BAD_SIGNATURE


def test_origin_bound_type_needs_the_listed_key_at_its_ip() -> None:
    v1 = json.loads(VECTORS["envelopes"][0]["wire"])
    elsewhere = listed(("1.2.3.4", KEYS["K2"]["pubkey"]), ("9.9.9.9", KEYS["K1"]["pubkey"]))
    assert Envelope(v1).verify(elsewhere, NOW) is Verdict.PUBKEY_MISMATCH
    assert Envelope(v1).verify(listed(("9.9.9.9", KEYS["K1"]["pubkey"])), NOW) is (
        Verdict.NODE_NOT_FOUND
    )


def test_other_types_need_a_key_that_owns_a_node() -> None:
    v2 = json.loads(VECTORS["envelopes"][1]["wire"])
    assert Envelope(v2).verify(listed(("1.2.3.4", KEYS["K1"]["pubkey"])), NOW) is (
        Verdict.NODE_NOT_FOUND
    )


@pytest.mark.parametrize(
    "change",
    [
        {"version": "1"},
        {"version": 2},
        {"data": {"version": 1}},
        {"data": "text"},
        {"timestamp": NOW + 120_001},
        {"timestamp": "1700000000123"},
    ],
)
def test_malformed_envelopes(change: dict) -> None:
    message = json.loads(VECTORS["envelopes"][1]["wire"])
    message.update(change)
    assert Envelope(message).verify(NODES, NOW) is Verdict.MALFORMED


def test_two_minutes_of_future_skew_is_tolerated() -> None:
    key = PrivateKey.from_wif(KEYS["K2"]["wif"])
    envelope = Envelope.sign({"type": "fluxapprequest", "version": 1, "hash": "ab"}, key, NOW)
    assert envelope.verify(NODES, NOW - 120_000) is Verdict.OK
    assert envelope.verify(NODES, NOW - 120_001) is Verdict.MALFORMED


@pytest.mark.parametrize("key_name", ["K1", "K2"])
def test_signing_round_trip_with_upstream_key_order(key_name: str) -> None:
    key = PrivateKey.from_wif(KEYS[key_name]["wif"])
    data = {"type": "fluxapprequest", "version": 1, "hash": "ab", "n": 0.5, "u": "ü"}
    envelope = Envelope.sign(data, key, NOW)
    wire = envelope.to_json()
    assert list(json.loads(wire)) == ["version", "timestamp", "pubKey", "signature", "data"]
    assert json.loads(wire)["pubKey"] == KEYS[key_name]["pubkey"]
    assert Envelope(json.loads(wire)).verify(NODES, NOW) is Verdict.OK
