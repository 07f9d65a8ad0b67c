import json
from pathlib import Path

import pytest

from fluxos.network.objecthash import object_hash

VECTORS = json.loads((Path(__file__).parents[2] / "vectors" / "p2p.json").read_text())


@pytest.mark.parametrize(("text", "expected"), VECTORS["object_hash"])
def test_object_hash_vectors(text: str, expected: str) -> None:
    assert object_hash(json.loads(text)) == expected


@pytest.mark.parametrize("envelope", VECTORS["envelopes"], ids=lambda e: e["name"])
def test_envelope_data_hash_vectors(envelope: dict) -> None:
    assert object_hash(json.loads(envelope["wire"])["data"]) == envelope["object_hash"]


def test_key_order_does_not_change_the_hash_but_values_do() -> None:
    a = object_hash({"type": "t", "a": 1, "b": [1, 2]})
    assert a == object_hash({"b": [1, 2], "a": 1, "type": "t"})
    assert a != object_hash({"type": "t", "a": 1, "b": [2, 1]})
    assert a != object_hash({"type": "t", "a": "1", "b": [1, 2]})
