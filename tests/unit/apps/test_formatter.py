from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.apps.spec_samples import (
    component,
    seed_data,
    seed_spec,
    v3_spec,
    v8_spec,
    vector_id,
    vectors,
)

from fluxos.apps.errors import AppSpecError
from fluxos.apps.formatter import canonical_json, format_spec, legacy_orderings
from fluxos.apps.validation import verify_app_specifications
from fluxos.wire.jsvalues import parse_json

TIERS = {
    "cpubasic": 0.5, "cpusuper": 1, "cpubamf": 2, "rambasic": 500, "ramsuper": 1000,
    "rambamf": 2000, "hddbasic": 5, "hddsuper": 10, "hddbamf": 20,
}  # fmt: skip


@pytest.mark.parametrize("vector", vectors("validation.specificationFormatter"), ids=vector_id)
def test_formatter_vectors(vector: dict[str, Any]) -> None:
    expected = vector["expected"]
    if expected["ok"]:
        format_spec(vector["input"]["spec"])
    else:
        with pytest.raises(AppSpecError) as error:
            format_spec(vector["input"]["spec"])
        assert error.value.message == expected["error"]


@pytest.mark.parametrize("vector", vectors("message.signedString"), ids=vector_id)
def test_canonical_json_is_what_owners_sign(vector: dict[str, Any]) -> None:
    given_ = vector["input"]
    text = canonical_json(format_spec(given_["appSpecifications"]))
    signed = f"{given_['type']}{given_['version']}{text}{given_['timestamp']}"
    assert signed == vector["expected"]["messageToVerify"]


def test_seed_doc_example_is_the_legacy_v7_order() -> None:
    data = seed_data()
    example = data["doc_signed_message_example"]
    spec_text = example[len("fluxappregister1") : -len("1692605469050")]
    formatted = format_spec(parse_json(spec_text))
    assert canonical_json(formatted) != spec_text  # today repoauth precedes secrets
    assert [canonical_json(s) for s in legacy_orderings(formatted)] == [spec_text]


def test_key_order_of_every_version() -> None:
    v1 = {
        "tiered": "true", **TIERS, "hdd": 10, "ram": 1000, "cpu": 1, "containerData": "/d",
        "containerPort": "80", "commands": [], "enviromentParameters": [], "port": "31000",
        "repotag": "a/b:c", "owner": "o", "description": "d", "name": "n", "version": "1",
    }  # fmt: skip
    assert list(format_spec(v1)) == [
        "version", "name", "description", "owner", "repotag", "port", "enviromentParameters",
        "commands", "containerPort", "containerData", "cpu", "ram", "hdd", "tiered", *TIERS,
    ]  # fmt: skip
    assert list(format_spec(dict(reversed(v3_spec().items())))) == [
        "version", "name", "description", "owner", "repotag", "ports", "domains",
        "enviromentParameters", "commands", "containerPorts", "containerData", "cpu", "ram",
        "hdd", "tiered", "instances",
    ]  # fmt: skip
    v7 = seed_spec()
    v7["compose"][0] = dict(reversed(v7["compose"][0].items()))
    formatted = format_spec(dict(reversed(v7.items())))
    assert list(formatted) == [
        "version", "name", "description", "owner", "compose", "instances", "contacts",
        "geolocation", "expire", "nodes", "staticip",
    ]  # fmt: skip
    assert list(formatted["compose"][0]) == [
        "name", "description", "repotag", "ports", "domains", "environmentParameters",
        "commands", "containerPorts", "containerData", "cpu", "ram", "hdd", "tiered",
        "repoauth", "secrets",
    ]  # fmt: skip
    v8 = format_spec(dict(reversed(v8_spec(datacenter="false").items())))
    assert list(v8)[-3:] == ["staticip", "datacenter", "enterprise"]
    assert list(v8["compose"][0])[-1] == "repoauth"


def test_coercions_follow_upstream() -> None:
    spec = v8_spec(
        version="8",
        instances="5",
        expire="22000",
        staticip="1",
        contacts='["a@b.c"]',
        nodes=[],
        compose=[
            component(
                ports=["443"], containerPorts=["80"], cpu="2.5", environmentParameters=[1, None]
            )
        ],
    )
    formatted = format_spec(spec)
    assert (
        formatted["version"] == 8 and formatted["instances"] == 5 and formatted["expire"] == 22000
    )
    assert formatted["staticip"] is True and formatted["contacts"] == ["a@b.c"]
    comp = formatted["compose"][0]
    assert comp["ports"] == [443] and comp["cpu"] == 2.5
    assert comp["environmentParameters"] == ["1", "null"]
    # consensus quirk: container ports are not coerced, so validation rejects them
    assert comp["containerPorts"] == ["80"]
    with pytest.raises(
        AppSpecError, match="Container Ports for Flux App component web are invalid"
    ):
        verify_app_specifications(formatted, 2_200_000)


def test_v2_ports_become_strings_and_names_become_json() -> None:
    formatted = format_spec(v3_spec(ports=[31000], containerPorts=[80.0], name=12345))
    assert formatted["ports"] == ["31000"] and formatted["containerPorts"] == ["80"]
    assert formatted["name"] == "12345"


def test_enterprise_and_datacenter_presence() -> None:
    absent = format_spec({k: v for k, v in v8_spec().items() if k != "enterprise"})
    assert "enterprise" not in absent and '"enterprise"' not in canonical_json(absent)
    assert format_spec(v8_spec(datacenter="maybe")).get("datacenter") is None
    assert format_spec(v8_spec(enterprise=5))["enterprise"] == "5"
    with pytest.raises(AppSpecError, match="Missing enterprise property"):
        verify_app_specifications(absent, 2_200_000)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 0}, "Missing Flux App specification parameter version"),
        (
            {"owner": ""},
            "Missing Flux App specification parameter name and/or description and/or owner",
        ),
        ({"compose": []}, None),  # an empty array is present (truthy) for the formatter
        ({"compose": "not json"}, "Flux App compose parameter is not valid"),
        ({"instances": 0}, "Missing Flux App specification parameter instances"),
        ({"instances": 2.5}, "Invalid instances specified"),
        ({"instances": 101}, "Maximum number of instances is 100"),
        (
            {"contacts": None},
            "Missing Flux App specification parameter contacts and/or geolocation",
        ),
        ({"geolocation": 5}, "Geolocation for Flux App is invalid"),
        ({"expire": 1.5}, "Invalid expire specified"),
        ({"nodes": 0}, "Missing Flux App specification parameter nodes"),
        (
            {"staticip": "yes"},
            "Invalid staticip specification. Only boolean as true or false allowed.",
        ),
        ({"compose": [{"name": "x", "ports": 5}]}, "Ports for Flux App component x are invalid"),
        ({"compose": ["oops"]}, "Ports for Flux App component undefined are invalid"),
    ],
)
def test_formatter_errors(change: dict[str, Any], message: str | None) -> None:
    if message is None:
        format_spec(v8_spec(**change))
        return
    with pytest.raises(AppSpecError) as error:
        format_spec(v8_spec(**change))
    assert error.value.message == message


def test_tiered_component_needs_all_tiers() -> None:
    spec = seed_spec()
    spec["compose"][0]["tiered"] = True
    with pytest.raises(AppSpecError, match="component blockbookneurai was requested as tiered"):
        format_spec(spec)
    spec["compose"][0].update({key: str(value) for key, value in TIERS.items()})
    assert format_spec(spec)["compose"][0]["cpubamf"] == 2


# --- properties -------------------------------------------------------------------


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Valid v8 specs whose fields arrive in the representations the formatter accepts."""
    comps = []
    for index in range(draw(st.integers(1, 3))):
        ports = draw(st.lists(st.integers(31000, 31999), max_size=2, unique=True))
        comps.append(
            component(
                name=f"c{index}",
                ports=[draw(st.sampled_from([p, str(p)])) for p in ports],
                containerPorts=list(ports),
                domains=[""] * len(ports),
                cpu=draw(st.sampled_from([0.5, "0.5", 1, "1.5"])),
                ram=draw(st.sampled_from([500, "1000"])),
                environmentParameters=draw(st.lists(st.text(max_size=5), max_size=2)),
                description=draw(st.text(max_size=10)),
            )
        )
    ports = [p for c in comps for p in c["ports"]]
    if len({int(p) for p in ports}) != len(ports):
        for c in comps:
            c["ports"], c["containerPorts"], c["domains"] = [], [], []
    return v8_spec(
        compose=comps,
        instances=draw(st.sampled_from([3, "3", 4, "5", 1])),
        staticip=draw(st.sampled_from([True, False, "true", 0, "1"])),
        description=draw(st.text(min_size=1, max_size=20)),
    )


@settings(max_examples=200)
@given(valid_specs())
def test_formatting_is_idempotent(spec: dict[str, Any]) -> None:
    once = format_spec(spec)
    verify_app_specifications(once, 2_200_000)
    again = format_spec(parse_json(canonical_json(once)))
    assert canonical_json(again) == canonical_json(once)
    assert format_spec(once) == once
