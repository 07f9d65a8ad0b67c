import random

from fluxos.network.nodelist import FluxnodeList


def entries() -> list[dict]:
    return [
        {"ip": "5.5.5.5", "pubkey": "k1", "added_height": 30, "collateral": "c1"},
        {"ip": "1.1.1.1:16137", "pubkey": "k2", "added_height": 10, "collateral": "c2"},
        {"ip": "", "pubkey": "k3", "added_height": 5, "collateral": "c3"},
        {"ip": "3.3.3.3", "pubkey": "k1", "added_height": 10, "collateral": "c4"},
        {"ip": "2.2.2.2", "pubkey": "k4", "added_height": 20, "collateral": "c5"},
    ]


def test_sorted_by_height_keeping_fluxd_order_for_ties() -> None:
    nodes = FluxnodeList(entries())
    assert nodes.sorted_addresses == (
        "1.1.1.1:16137",
        "3.3.3.3:16127",
        "2.2.2.2:16127",
        "5.5.5.5:16127",
    )


def test_lookups() -> None:
    nodes = FluxnodeList(entries())
    assert len(nodes) == 4  # the entry without an ip is skipped
    assert nodes.at("5.5.5.5").pubkey == "k1"
    assert nodes.at("5.5.5.5:16127").collateral == "c1"
    assert nodes.at("1.1.1.1") is None
    assert nodes.owns_node("k1") and not nodes.owns_node("k3")
    assert {n.address for n in nodes.nodes_of("k1")} == {"5.5.5.5:16127", "3.3.3.3:16127"}
    assert [n.address for n in nodes.with_collateral("c5")] == ["2.2.2.2:16127"]


def test_random_address_never_returns_our_own() -> None:
    nodes = FluxnodeList(entries())
    rng = random.Random(7)
    seen = {nodes.random_address(rng, "3.3.3.3:16127") for _ in range(300)}
    assert "3.3.3.3:16127" not in seen
    assert seen == {"5.5.5.5:16127", "1.1.1.1:16137", "2.2.2.2:16127"}
    alone = FluxnodeList([entries()[0]])
    assert alone.random_address(rng, "5.5.5.5:16127") is None
