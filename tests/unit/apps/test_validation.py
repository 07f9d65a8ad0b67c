from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.apps.spec_samples import (
    component,
    json_values,
    mutated_specs,
    seed_spec,
    v3_spec,
    v8_spec,
    vector_id,
    vectors,
)

from fluxos.apps.errors import AppSpecError
from fluxos.apps.formatter import format_spec
from fluxos.apps.params import DEVELOPMENT, MAINNET
from fluxos.apps.validation import verify_app_specifications

POST_PON = 2_200_000


def rejection(spec: Any, height: int = POST_PON, **kwargs: Any) -> str:
    with pytest.raises(AppSpecError) as error:
        verify_app_specifications(spec, height, **kwargs)
    return error.value.message


@pytest.mark.parametrize("vector", vectors("validation.verifyAppSpecifications"), ids=vector_id)
def test_validation_vectors(vector: dict[str, Any]) -> None:
    given_, expected = vector["input"], vector["expected"]
    if expected["ok"]:
        verify_app_specifications(given_["spec"], given_["height"])
    else:
        assert rejection(given_["spec"], given_["height"]) == expected["error"]


def test_seed_sample_spec_validates_formatted_and_raw() -> None:
    verify_app_specifications(seed_spec(), POST_PON)
    verify_app_specifications(format_spec(seed_spec()), POST_PON)
    verify_app_specifications(format_spec(seed_spec()), MAINNET.spec_enforcement_heights[7])


def test_development_mode_activates_v7_earlier() -> None:
    height = DEVELOPMENT.spec_enforcement_heights[7]
    assert height < MAINNET.spec_enforcement_heights[7]
    verify_app_specifications(seed_spec(), height, DEVELOPMENT)
    assert (
        rejection(seed_spec(), height) == "Flux apps specifications of version 7 not yet supported"
    )


@pytest.mark.parametrize(
    ("name", "version", "message"),
    [
        ("zelapp", 8, "Flux App name can not start with zel"),
        ("WatchTower", 8, "Flux App name is conflicting with another application"),
        ("Fluxy", 8, None),  # the prefix check is case-sensitive
        ("my-app", 8, None),
        ("my-app-", 8, "hyphens cannot be first or last character"),
        ("my_app", 8, "Only a-z, A-Z, 0-9 and hyphens are allowed"),
        ("app\n", 7, "Only a-z, A-Z and 0-9 are allowed"),
        ("é", 8, "special characters"),
    ],
)
def test_app_names(name: str, version: int, message: str | None) -> None:
    spec = v8_spec(name=name) if version == 8 else dict(seed_spec(), name=name)
    if message is None:
        verify_app_specifications(spec, POST_PON)
    else:
        assert message in rejection(spec)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "Please provide a valid Flux App Component name"),
        ({"name": "fluxdb"}, "Flux App Component name can not start with flux"),
        ({"name": "a-b"}, "Flux App component name contains special characters"),
        (
            {"description": "x" * 257},
            "Description is too long. Maximum of 256 characters is allowed.",
        ),
        (
            {"repotag": "r" * 201},
            "Flux App Repository is too long. Maximum of 200 characters is allowed.",
        ),
        ({"environmentParameters": ["e"] * 21}, "App component web environment invalid."),
        ({"commands": ["c" * 401]}, "App component web command " + "c" * 401 + " is too long."),
        ({"ports": [31000], "containerPorts": [80], "domains": ["d" * 254]}, "domain"),
        (
            {"ports": [31000], "containerPorts": [], "domains": [""]},
            "Ports specifications in web do not match",
        ),
        (
            {"ports": [31000], "containerPorts": [80], "domains": []},
            "Domains specifications in web do not match",
        ),
        (
            {"ports": [22], "containerPorts": [22], "domains": [""]},
            "Assigned port 22 is not allowed for Flux Apps",
        ),
        (
            {"ports": [70000], "containerPorts": [1], "domains": [""]},
            "not within Flux Apps range 1-65535",
        ),
        (
            {"ports": [1.5], "containerPorts": [1], "domains": [""]},
            "Ports for Flux App component web are invalid decimals",
        ),
        ({"containerData": "x" * 201}, "Flux App Container Data is too long."),
        ({"cpu": "1"}, "Invalid HW specifications"),
        ({"cpu": 0.123456789}, "Invalid HW specifications decimal limits"),
    ],
)
def test_component_rules(fields: dict[str, Any], message: str) -> None:
    assert message in rejection(v8_spec(compose=[component(**fields)]))


def test_component_without_repotag_is_rejected_not_crashed() -> None:
    comp = component()
    del comp["repotag"]
    assert "repotag" in rejection(v8_spec(compose=[comp]))


@pytest.mark.parametrize(
    ("top", "message"),
    [
        (
            {"description": "d" * 257},
            "Description is too long. Maximum of 256 characters is allowed",
        ),
        ({"contacts": ["a"] * 6}, "Too many contacts defined. Maximum of 5 allowed."),
        ({"contacts": ["c" * 76]}, "Contact " + "c" * 76 + " is too long."),
        ({"geolocation": ["acEU"] * 11}, "Invalid geolocation submited."),
        ({"geolocation": ["g" * 51]}, "is not valid."),
        ({"expire": 1_056_001}, "Maximum expiration of application is 1056000 blocks ~ 1 year"),
        ({"instances": 1.5}, "Invalid instances specified"),
        ({"instances": "3"}, "Invalid instances specification"),
        (
            {"staticip": 1},
            "Invalid static ip value obtained. Only boolean as true or false allowed.",
        ),
        (
            {"datacenter": None},
            "Invalid datacenter value obtained. Only undefined, true, or false allowed.",
        ),
        ({"version": 9}, "Flux App message version specification is invalid"),
        ({"version": "8"}, "Invalid Flux App version"),
        ({"compose": []}, "Flux App does not contain any composition"),
        ({"compose": [None]}, "Invalid Flux App Specifications"),
        ({"compose": [5]}, "Invalid Flux App component name"),
        ({"compose": {}}, "Invalid Flux App Specifications"),
    ],
)
def test_top_level_rules(top: dict[str, Any], message: str) -> None:
    assert message in rejection(v8_spec(**top))


@pytest.mark.parametrize(
    ("height", "expire", "message"),
    [
        (1_630_039, 4000, "Minimum expiration of application is 5000 blocks ~ 1 week"),
        (1_630_040, 99, "Minimum expiration of application is 100 blocks ~ 3 hours"),
        (1_964_447, 0.5, "Invalid expire specified"),
        (1_624_999, 5500, "Expiration of application has to be a multiple of 1000 blocks ~ 1 day"),
        (1_625_000, 5500, None),
    ],
)
def test_expire_rules_move_with_height(height: int, expire: float, message: str | None) -> None:
    spec = dict(seed_spec(), expire=expire)
    if message is None:
        verify_app_specifications(spec, height)
    else:
        assert rejection(spec, height) == message


def test_unique_ports_across_components() -> None:
    comps = [
        component(name="a", ports=[31000], containerPorts=[80], domains=[""]),
        component(name="b", ports=[31000], containerPorts=[81], domains=[""]),
    ]
    assert rejection(v8_spec(compose=comps)) == (
        "Flux App myapp must have unique ports specified accross all composition"
    )
    assert rejection(
        v3_spec(ports=["31000", "31000"], containerPorts=["1", "2"], domains=["", ""])
    ) == ("Flux App oldapp must have unique ports specified")


def test_legacy_v3_rules() -> None:
    verify_app_specifications(v3_spec(), POST_PON)
    assert rejection(v3_spec(ports=[31000])) == "Port of Flux App is invalid"
    assert rejection(v3_spec(ports=["31000.5"])) == "Ports for Flux App are invalid decimals"
    assert rejection(v3_spec(containerData="/")) == (
        "Flux App container data folder not specified. If no data folder is whished, use /tmp"
    )
    assert rejection(v3_spec(hdd=821)) == "SSD badly assigned for oldapp"
    assert rejection(v3_spec(ports=["100"]), 1_000_000) == (
        "Assigned port 100 is not within Flux Apps range 31000-39999"
    )
    assert rejection(v3_spec(foo=1)) == "Unsupported parameter for v3 app specifications"


def test_v7_secrets_need_node_scoping() -> None:
    spec = seed_spec()
    spec["compose"][0]["secrets"] = "-----BEGIN PGP MESSAGE-----"
    assert rejection(spec) == "Secrets can not be defined for non Enterprise Applications"
    spec["nodes"] = ["1.2.3.4"]
    verify_app_specifications(spec, POST_PON)
    spec["compose"][0]["secrets"] = "s" * 15001
    assert "Maximum length of secrets is 15000." in rejection(spec)
    spec["compose"][0]["foo"] = 1
    spec["compose"][0]["secrets"] = ""
    assert rejection(spec) == "Unsupported parameter for v7 app specifications"


def test_tiered_compose_checks_each_tier_total() -> None:
    spec = seed_spec()
    spec["compose"][0].update(
        tiered=True, cpubasic=3.5, cpusuper=1, cpubamf=1, rambasic=1000, ramsuper=1000,
        rambamf=1000, hddbasic=10, hddsuper=10, hddbamf=10,
    )  # fmt: skip
    assert rejection(spec) == "Too much CPU for Cumulus resources assigned for blockbookneurai"
    spec["compose"][0]["cpubasic"] = 3
    verify_app_specifications(spec, POST_PON)


def test_datacenter_is_for_enterprise_owners() -> None:
    spec = v8_spec(datacenter=True)
    assert "enterprise app owners" in rejection(spec)
    verify_app_specifications(spec, POST_PON, enterprise_owners={spec["owner"]})


def test_v8_single_instance_from_its_fork() -> None:
    verify_app_specifications(v8_spec(instances=1), MAINNET.minimum_instances_v8_block)
    verify_app_specifications(format_spec(v8_spec(instances=1)), POST_PON)


# --- only our error, whatever the input ------------------------------------------


@settings(max_examples=500)
@given(st.one_of(json_values, mutated_specs()), st.integers(0, 3_000_000))
def test_arbitrary_json_fails_only_with_app_spec_error(value: Any, height: int) -> None:
    for check in (
        lambda: verify_app_specifications(value, height),
        lambda: verify_app_specifications(format_spec(value), height),
    ):
        try:
            check()
        except AppSpecError as error:
            assert error.message
