"""v1-3 specs field by field, as upstream's formatter and validator answer them.

Each case changes one field of a valid spec; the expected message is what upstream's
`specificationFormatter` + `verifyAppSpecifications` (appUtilities.js, appValidator.js)
answer for the same JSON, run side by side when these cases were written. None means
the spec is accepted.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.apps.spec_samples import v3_spec

from fluxos.apps.enterprise import NOT_ARCANE
from fluxos.apps.errors import AppSpecError
from fluxos.apps.formatter import format_spec
from fluxos.apps.params import MAINNET
from fluxos.apps.registration import AppSpecChecker
from fluxos.apps.validation import verify_app_specifications
from fluxos.wire.bodies import ensure_object
from fluxos.wire.jsvalues import UNDEFINED, as_parsed_json, stringify

HEIGHT = 2_000_000
TIERS = {
    "cpubasic": 0.5, "cpusuper": 1, "cpubamf": 1, "rambasic": 500, "ramsuper": 1000,
    "rambamf": 1000, "hddbasic": 5, "hddsuper": 10, "hddbamf": 10,
}  # fmt: skip
_MISSING_V2 = (
    "Missing Flux App specification parameter repotag and/or port and/or domains and/or"
    " enviromentParameters and/or commands and/or containerData and/or cpu and/or ram and/or hdd"
)


def legacy_spec(version: int) -> dict[str, Any]:
    spec = v3_spec()
    if version < 3:
        del spec["instances"]
    if version == 1:
        for key in ("ports", "domains", "containerPorts"):
            del spec[key]
        spec.update(port=31000, containerPort=80)
    spec["version"] = version
    return spec


CASES: list[tuple[str, int, dict[str, Any], str | None]] = [
    ("v1 port as text", 1, {"port": "31000"}, None),
    ("v1 port not a number", 1, {"port": "abc"},
     "Missing Flux App specification parameter port and/or containerPort"),
    ("v1 port with decimals", 1, {"port": 31000.5}, "Ports for Flux App are invalid decimals"),
    ("v1 containerPort as text", 1, {"containerPort": "80"}, None),
    ("v1 keys of later versions are dropped", 1, {"instances": 3, "ports": ["31000"]}, None),
    ("v2 ports as numbers", 2, {"ports": [31000], "containerPorts": [80]}, None),
    ("v2 ports as JSON text", 2, {"ports": "[31000]"}, None),
    ("v2 port text with decimals", 2, {"ports": ["31000.0"]},
     "Ports for Flux App are invalid decimals"),
    ("v2 port number with decimals", 2, {"ports": [31000.5]},
     "Ports for Flux App are invalid decimals"),
    ("v2 container port with decimals", 2, {"containerPorts": ["80.5"]},
     "Container Ports for Flux App are invalid decimals"),
    ("v2 ports not a list", 2, {"ports": 31000}, "Ports for Flux App are invalid"),
    ("v2 domains not a list", 2, {"domains": "a.com"}, "Domains for Flux App are invalid"),
    ("v2 instances dropped", 2, {"instances": 3}, None),
    ("v2 duplicate ports", 2,
     {"ports": ["31000", "31000"], "containerPorts": ["80", "81"], "domains": ["", ""]},
     "Flux App oldapp must have unique ports specified"),
    # [quirk] uniqueness compares the strings: the same port spelled twice passes
    ("v2 same port spelled twice", 2,
     {"ports": ["31000", " 31000"], "containerPorts": ["80", "81"], "domains": ["", ""]}, None),
    ("v3 instances as text", 3, {"instances": "5"}, None),
    ("v3 instances fractional", 3, {"instances": 3.5}, "Invalid instances specified"),
    ("v3 instances missing", 3, {"instances": None},
     "Missing Flux App specification parameter instances"),
    ("v3 tiered as text", 3, {"tiered": "true", **TIERS}, None),
    ("v3 tiered as 1", 3, {"tiered": 1, **TIERS}, None),
    ("v3 tiered as yes", 3, {"tiered": "yes"},
     "Invalid tiered value obtained. Only boolean as true or false allowed."),
    ("v3 tiered without tier fields", 3, {"tiered": True},
     "Flux App was requested as tiered setup but specifications are missing"),
    ("v3 tier field as text", 3, {"tiered": True, **TIERS, "cpubasic": "0.5"}, None),
    ("v3 tier fields dropped when not tiered", 3, dict(TIERS), None),
    ("v3 cpu zero", 3, {"cpu": 0}, _MISSING_V2),
    ("v3 cpu as text", 3, {"cpu": "1.5"}, None),
    ("v3 cpu 0.15", 3, {"cpu": 0.15}, "CPU badly assigned for oldapp"),
    ("v3 env as JSON text", 3, {"enviromentParameters": '["A=1", 5]'}, None),
    ("v3 commands not a list", 3, {"commands": {"a": 1}}, "Flux App commands are invalid"),
    ("v3 version as text", 3, {"version": "3"}, None),
    ("v3 hash and height dropped", 3, {"hash": "ab", "height": 5}, None),
]  # fmt: skip


def check(raw: Any) -> str | None:
    try:
        verify_app_specifications(format_spec(raw, MAINNET), HEIGHT, MAINNET)
    except AppSpecError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(("change", "expected"), [c[2:] for c in CASES], ids=[c[0] for c in CASES])
def test_one_field_changed(change: dict[str, Any], expected: str | None) -> None:
    version = next(c[1] for c in CASES if c[2] is change)
    spec = legacy_spec(version)
    for key, value in change.items():
        if value is None:
            del spec[key]
        else:
            spec[key] = value
    assert check(as_parsed_json(spec)) == expected


def test_coerced_fields_of_an_accepted_v2_spec() -> None:
    spec = legacy_spec(2)
    spec.update(ports=[31000], containerPorts="[80]", tiered="0", cpu="1.5", version="2")
    formatted = format_spec(spec, MAINNET)
    assert formatted["version"] == 2
    assert formatted["ports"] == ["31000"]  # v2-3 keep ports as strings
    assert formatted["containerPorts"] == ["80"]
    assert formatted["tiered"] is False
    assert formatted["cpu"] == 1.5
    assert "instances" not in formatted


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_body_with_a_non_json_number_is_not_json(constant: str) -> None:
    # JSON.parse refuses NaN/Infinity; upstream then reads the body as a query string,
    # so even a field the formatter drops (a tier value of an untiered spec) sinks it.
    spec = legacy_spec(3)
    assert check(spec) is None
    text = stringify(spec)[:-1] + f',"cpubasic":{constant}}}'
    body = ensure_object(text)
    assert isinstance(body, dict)
    assert "version" not in body
    assert check(as_parsed_json(body)) == "Missing Flux App specification parameter version"


@pytest.mark.parametrize("version", [UNDEFINED, "abc", [1, 2], {}])
async def test_enterprise_blob_without_a_numeric_version_goes_to_decryption(
    version: Any,
) -> None:
    # upstream's checkAndDecryptAppSpecs returns early only when `version < 8`
    spec: dict[str, Any] = {"name": "oldapp", "description": "x", "owner": "1abc"}
    if version is not UNDEFINED:
        spec["version"] = version
    spec["enterprise"] = "blob"
    with pytest.raises(AppSpecError) as caught:
        await AppSpecChecker().check_spec(spec, HEIGHT)
    assert str(caught.value) == NOT_ARCANE


@pytest.mark.parametrize(("version", "value"), [(1, 1), (3, 3), (3, "3")])
async def test_enterprise_key_of_an_old_version_is_dropped(version: int, value: Any) -> None:
    spec = legacy_spec(version) | {"version": value, "enterprise": "blob"}
    formatted = await AppSpecChecker().check_spec(spec, HEIGHT)
    assert "enterprise" not in formatted


async def test_null_version_with_enterprise_is_not_decrypted() -> None:
    spec = legacy_spec(3) | {"version": None, "enterprise": "blob"}  # Number(null) < 8
    with pytest.raises(AppSpecError, match=r"^Missing Flux App specification parameter version$"):
        await AppSpecChecker().check_spec(spec, HEIGHT)


def test_a_query_string_body_of_a_v1_spec_formats_like_its_json() -> None:
    # the UI posts qs.stringify(spec): every scalar arrives as text
    spec = legacy_spec(1) | {"enviromentParameters": ["A=1"], "commands": ["x"]}
    body = (
        "version=1&name=oldapp&description=x&owner=1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC"
        "&repotag=a%2Fb%3Ac&port=31000&containerPort=80&enviromentParameters%5B0%5D=A%3D1"
        "&commands%5B0%5D=x&containerData=%2Fd&cpu=1&ram=1000&hdd=10&tiered=false"
    )
    parsed = ensure_object(body)
    assert parsed["port"] == "31000"
    assert check(parsed) is None
    assert format_spec(parsed, MAINNET) == format_spec(spec, MAINNET)


def test_twenty_one_env_values_in_a_query_string_are_an_object() -> None:
    # qs makes an object of a 21-item array, so upstream's formatter finds no array
    # (not the "Maximum of 20 environment variables" of a JSON body)
    spec = legacy_spec(3)
    body = "&".join(
        [f"{key}={value}" for key, value in spec.items() if not isinstance(value, list)]
        + ["ports[0]=31000", "domains[0]=", "containerPorts[0]=80", "commands[0]=x"]
        + [f"enviromentParameters[{i}]=A{i}" for i in range(21)]
    )
    assert check(ensure_object(body)) == "Environmental parameters for Flux App are invalid"
    as_json = spec | {"enviromentParameters": [f"A{i}" for i in range(21)]}
    assert check(as_json) == (
        "App oldapp environment invalid. Maximum of 20 environment variables allowed."
    )
