"""Inputs shared by the apps tests: upstream's vectors, the seed's sample spec, spec builders."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

VECTORS = Path(__file__).parents[2] / "vectors" / "apps.json"
SEED = Path(__file__).parent / "data" / "seed_sample.json"


def vectors(kind: str) -> list[dict[str, Any]]:
    """The vectors of one kind, computed by running upstream FluxOS."""
    return [v for v in json.loads(VECTORS.read_text()) if v["kind"] == kind]


def vector_id(vector: dict[str, Any]) -> str:
    return str(vector["input"].get("label", vector["kind"]))


def seed_data() -> dict[str, Any]:
    return json.loads(SEED.read_text())


def seed_spec() -> dict[str, Any]:
    """The seed's v7 request sample (blockbookneurai), a fresh copy."""
    return copy.deepcopy(seed_data()["spec"])


def v8_spec(**top: Any) -> dict[str, Any]:
    """A valid small v8 spec; keyword arguments replace top-level fields."""
    spec: dict[str, Any] = {
        "version": 8,
        "name": "myapp",
        "description": "test",
        "owner": "1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC",
        "compose": [component()],
        "instances": 3,
        "contacts": [],
        "geolocation": [],
        "expire": 88000,
        "nodes": [],
        "staticip": False,
        "enterprise": "",
    }
    spec.update(top)
    return spec


def component(**fields: Any) -> dict[str, Any]:
    """A valid v8 component; keyword arguments replace fields."""
    comp: dict[str, Any] = {
        "name": "web",
        "description": "d",
        "repotag": "nginx:latest",
        "ports": [],
        "domains": [],
        "environmentParameters": [],
        "commands": [],
        "containerPorts": [],
        "containerData": "/data",
        "cpu": 1,
        "ram": 1000,
        "hdd": 10,
        "repoauth": "",
    }
    comp.update(fields)
    return comp


def v3_spec(**top: Any) -> dict[str, Any]:
    """A valid v3 single-container spec."""
    spec: dict[str, Any] = {
        "version": 3,
        "name": "oldapp",
        "description": "x",
        "owner": "1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC",
        "repotag": "a/b:c",
        "ports": ["31000"],
        "domains": [""],
        "enviromentParameters": [],
        "commands": [],
        "containerPorts": ["80"],
        "containerData": "/d",
        "cpu": 1,
        "ram": 1000,
        "hdd": 10,
        "tiered": False,
        "instances": 3,
    }
    spec.update(top)
    return spec


# --- hypothesis strategies --------------------------------------------------------

json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6)
json_values = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=24,
)
KEYS = sorted({*v8_spec(), *component(), *v3_spec(), "port", "containerPort", "secrets", "tiered",
               "cpubamf", "datacenter"})  # fmt: skip


@st.composite
def mutated_specs(draw: st.DrawFn) -> Any:
    """A valid spec of some version with a few fields replaced by arbitrary JSON."""
    spec = copy.deepcopy(draw(st.sampled_from([v8_spec(), seed_spec(), v3_spec()])))
    for _ in range(draw(st.integers(1, 3))):
        target = spec
        if draw(st.booleans()) and isinstance(spec.get("compose"), list) and spec["compose"]:
            target = spec["compose"][0]
        if isinstance(target, dict):
            target[draw(st.sampled_from(KEYS))] = draw(json_values)
    return spec
