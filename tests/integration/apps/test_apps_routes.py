"""The `/apps` spec, price and information routes over HTTP on running nodes.

Nodes run as `fluxos start` processes. One is offline (Flux's services unreachable, as
on these machines: prices use the configured fallbacks, as the vectors assume); one
reads Flux's lists and rates from a local stand-in for GitHub and the stats server.
Images live in real `docker-registry` processes (tests/integration/conftest.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fluxos.apps.formatter import canonical_json, format_spec
from fluxos.apps.params import MAINNET
from fluxos.apps.specs import public_view
from tests.support.appnodes import node_without_fluxd
from tests.support.fluxservices import WHITELIST, FluxServicesStandIn
from tests.support.processes import NodeProcess
from tests.support.registry import LocalRegistry
from tests.support.servers import serving
from tests.unit.apps.spec_samples import (
    component,
    seed_spec,
    v3_spec,
    v8_spec,
    vector_id,
    vectors,
)

INTERNAL = {"status": "error", "data": {"name": "Error", "message": "Internal error"}}
USD_PER_FLUX = 0.5  # the local rates service: 50,000 USD per BTC x 0.00001 BTC per FLUX


def envelope(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON, after checking it is a proper envelope and never a crash."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body != INTERNAL
    assert body["status"] in ("success", "error"), body
    return body


def error_message(response: httpx.Response) -> str:
    body = envelope(response)
    assert body["status"] == "error", body
    return str(body["data"]["message"])


def local_spec(repotag: str, **top: Any) -> dict[str, Any]:
    """The seed's v7 sample with its image in a local registry."""
    spec = seed_spec()
    spec["compose"][0]["repotag"] = repotag
    spec.update(top)
    return spec


@pytest.fixture(scope="module")
def offline_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    with node_without_fluxd(tmp_path_factory.mktemp("offline-node")) as node:
        yield node


@pytest.fixture(scope="module")
def services(open_registry: LocalRegistry) -> Iterator[tuple[FluxServicesStandIn, str]]:
    # Entries lose everything after their last ':' (upstream's tag stripping), so an image
    # on a registry with a port is listed with its tag.
    stand_in = FluxServicesStandIn(blocked=[open_registry.repotag("s390x")])
    with serving(stand_in.app) as url:
        yield stand_in, url


@pytest.fixture(scope="module")
def node(
    tmp_path_factory: pytest.TempPathFactory,
    open_registry: LocalRegistry,
    services: tuple[FluxServicesStandIn, str],
) -> Iterator[NodeProcess]:
    _, url = services
    env = {
        "FLUXOS_FLUX_HELPERS_URL": f"{url}/helpers",
        "FLUXOS_FLUX_STATS_URL": f"{url}/stats",
        "FLUXOS_FLUX_RATES_URL": f"{url}/rates",
        "FLUXOS_COINGECKO_URL": "",
        "FLUXOS_BLOCKED_REPOSITORIES": f"{open_registry.host}/blockedorg",
    }
    with node_without_fluxd(tmp_path_factory.mktemp("node"), env=env) as process:
        yield process


# -- prices -----------------------------------------------------------------------------
def _current_vectors() -> list[dict[str, Any]]:
    """Price vectors at heights where today's rules apply: the offline node's height is the
    latest fork height, and no price rule changes after it."""
    latest = MAINNET.latest_fork_height()
    return [
        v
        for v in vectors("price.calculatefiatandfluxprice")
        if v["input"]["daemonHeight"] >= latest
    ]


@pytest.mark.parametrize("vector", _current_vectors(), ids=vector_id)
@pytest.mark.parametrize("path", ["/apps/calculatefiatandfluxprice", "/apps/calculateprice"])
def test_price_vectors_over_http(
    offline_node: NodeProcess, vector: dict[str, Any], path: str
) -> None:
    response = offline_node.post(path, content=json.dumps(vector["input"]["spec"]))
    assert envelope(response) == vector["expected"]["response"]


def test_seed_request_sample_prices_the_same_on_both_routes(offline_node: NodeProcess) -> None:
    body = json.dumps(seed_spec(), indent=2)  # the doc sends pretty-printed text/plain
    headers = {"Content-Type": "text/plain"}
    old = envelope(offline_node.post("/apps/calculateprice", content=body, headers=headers))
    new = envelope(offline_node.post("/apps/calculatefiatandfluxprice", content=body))
    assert old == new
    assert old["status"] == "success"
    assert set(old["data"]) == {"usd", "flux", "fluxDiscount"}
    # flux = usd / 0.6 (the configured rate, stats being unreachable) x 0.95
    assert old["data"]["flux"] == round(old["data"]["usd"] / 0.6 * 0.95, 2)
    assert "using the configured rate 0.6" in offline_node.output()
    assert (
        f"app checks and prices use the latest fork height {MAINNET.latest_fork_height()}"
        in offline_node.output()
    )


def test_live_rate_and_price_table_are_used_when_reachable(
    node: NodeProcess, offline_node: NodeProcess
) -> None:
    spec = json.dumps(seed_spec())
    live = envelope(node.post("/apps/calculatefiatandfluxprice", content=spec))["data"]
    fallback = envelope(offline_node.post("/apps/calculatefiatandfluxprice", content=spec))["data"]
    assert live["usd"] == fallback["usd"]  # the stand-in serves the configured USD table
    assert live["flux"] == round(live["usd"] / USD_PER_FLUX * 0.95, 2)
    assert live["flux"] != fallback["flux"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Missing Flux App specification parameter version"),
        ("not json at all", "Missing Flux App specification parameter version"),
        (
            {"version": 7, "name": "x"},
            "Missing Flux App specification parameter name and/or description and/or owner",
        ),
        (dict(seed_spec(), instances=101), "Maximum number of instances is 100"),
        (dict(seed_spec(), priceUSD=0.01), "USD price is not valid"),
    ],
)
def test_bad_price_requests_name_the_problem(
    offline_node: NodeProcess, body: Any, message: str
) -> None:
    content = body if isinstance(body, str) else json.dumps(body)
    for path in ("/apps/calculateprice", "/apps/calculatefiatandfluxprice"):
        assert error_message(offline_node.post(path, content=content)) == message


def test_json_null_and_array_bodies_are_refused_cleanly(offline_node: NodeProcess) -> None:
    for content in ("null", "[1, 2]"):
        message = error_message(offline_node.post("/apps/calculateprice", content=content))
        assert message == "Invalid application specification provided."


# -- registration checks ----------------------------------------------------------------
def test_registration_check_answers_the_canonical_spec(
    node: NodeProcess, open_registry: LocalRegistry
) -> None:
    spec = local_spec(open_registry.repotag("multi"))
    shuffled = dict(reversed(list(spec.items())))  # key order of the request does not matter
    response = node.post("/apps/verifyappregistrationspecifications", json=shuffled)
    body = envelope(response)
    assert body["status"] == "success", body
    expected = public_view(format_spec(spec))
    assert body["data"] == expected
    assert list(body["data"]) == list(expected)
    assert json.dumps(body["data"], separators=(",", ":")) == canonical_json(expected)


def test_registration_check_of_old_versions_coerces_their_fields(
    node: NodeProcess, open_registry: LocalRegistry
) -> None:
    # v2-3 ports travel as strings: numbers are turned into text, as upstream's formatter does
    spec = v3_spec(repotag=open_registry.repotag("multi"), ports=[31000], containerPorts="[80]")
    text = json.dumps(spec)
    body = envelope(node.post("/apps/verifyappregistrationspecifications", content=text))
    assert body["status"] == "success", body
    assert body["data"]["ports"] == ["31000"]
    assert body["data"]["containerPorts"] == ["80"]
    assert body["data"] == public_view(format_spec(spec))
    # NaN is not JSON: upstream reads such a body as a query string and finds no version,
    # even though the field (a tier value of an untiered spec) would be dropped
    nan_text = text[:-1] + ', "cpubasic": NaN}'
    message = error_message(
        node.post("/apps/verifyappregistrationspecifications", content=nan_text)
    )
    assert message == "Missing Flux App specification parameter version"


def test_registration_check_of_v8_with_two_components(
    node: NodeProcess, open_registry: LocalRegistry
) -> None:
    spec = v8_spec(
        compose=[
            component(repotag=open_registry.repotag("multi")),
            component(name="db", repotag=open_registry.repotag("multi-oci")),
        ]
    )
    body = envelope(node.post("/apps/verifyappregistrationspecifications", json=spec))
    assert body == {"status": "success", "data": public_view(format_spec(spec))}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            "flux-blocked",
            "Image {registry}/flux/mainframe is blocked. Application blockbookneurai cannot"
            " be spawned.",
        ),
        (
            "operator-blocked",
            "Organisation {registry}/blockedorg is user blocked. Application blockbookneurai"
            " cannot be spawned.",
        ),
        ("s390x", "Docker image: {registry}/flux/exotic:latest does not have a valid architecture"),
        ("missing-tag", "Bad HTTP Status 404: {registry}/flux/busybox:0.0 not available"),
        (
            "share",
            "Flux App share already assigned to Flux main application. Flux App has to be"
            " registered under different name.",
        ),
        ("ports", "Assigned port 16127 is not allowed for Flux Apps"),
    ],
)
def test_registration_check_refusals(
    node: NodeProcess, open_registry: LocalRegistry, case: str, message: str
) -> None:
    registry = open_registry.host
    repotags = {
        "flux-blocked": open_registry.repotag("s390x"),
        "operator-blocked": open_registry.repotag("blocked"),
        "s390x": open_registry.repotag("exotic-list"),
        "missing-tag": f"{registry}/flux/busybox:0.0",
    }
    spec = local_spec(repotags.get(case, open_registry.repotag("amd64")))
    if case == "share":
        spec["name"] = spec["compose"][0]["name"] = "share"
    if case == "ports":
        spec["compose"][0]["ports"] = [16127, 38383]
    got = error_message(node.post("/apps/verifyappregistrationspecifications", json=spec))
    assert got.startswith(message.format(registry=registry)), got


def test_components_without_a_common_architecture(
    node: NodeProcess, open_registry: LocalRegistry
) -> None:
    spec = v8_spec(
        compose=[
            component(repotag=open_registry.repotag("amd64")),
            component(name="arm", repotag=open_registry.repotag("arm64-only")),
        ]
    )
    message = error_message(node.post("/apps/verifyappregistrationspecifications", json=spec))
    assert message.startswith("Application 'myapp' components do not share a common architecture")
    assert f"arm ({open_registry.repotag('arm64-only')}): arm64" in message


def test_seed_samples_on_the_registration_check(
    node: NodeProcess, offline_node: NodeProcess
) -> None:
    seed = json.dumps(seed_spec())
    # Docker Hub is not reachable from here: the registry error says so.
    message = error_message(node.post("/apps/verifyappregistrationspecifications", content=seed))
    assert message.startswith("Connection Error: runonflux/blockbook-docker:latest not available")
    # Without Flux's block list, upstream refuses to check registrations at all.
    message = error_message(
        offline_node.post("/apps/verifyappregistrationspecifications", content=seed)
    )
    assert message == "Unable to communicate with Flux Services! Try again later."
    # The doc's schema sample (placeholder values, version 0).
    doc_sample = {
        "appname": "string", "version": 0, "description": "string", "owner": "string",
        "port": 0, "containerPort": 0, "cpu": 0, "ram": 0, "hdd": 0, "tiered": True,
        "repotag": "string", "enviromentParameters": [], "commands": [], "domains": [],
        "compose": [],
    }  # fmt: skip
    for path in (
        "/apps/verifyappregistrationspecifications",
        "/apps/verifyappupdatespecifications",
    ):
        message = error_message(node.post(path, json=doc_sample))
        assert message == "Missing Flux App specification parameter version"


# -- update checks ----------------------------------------------------------------------
def test_update_check_of_an_unregistered_app(
    node: NodeProcess, open_registry: LocalRegistry
) -> None:
    """The previous spec comes from the registry (tests/integration/apps/test_registry_*
    check updates of paid apps); this node's registry is empty."""
    update = local_spec(open_registry.repotag("amd64"))
    message = error_message(node.post("/apps/verifyappupdatespecifications", json=update))
    assert message == "Flux App blockbookneurai does not exist and cannot be updated"
    # a bad spec is reported before the missing previous one
    message = error_message(
        node.post("/apps/verifyappupdatespecifications", json=dict(update, instances=101))
    )
    assert message == "Maximum number of instances is 100"


# -- image checks -----------------------------------------------------------------------
def test_image_check_needs_a_logged_in_user(
    node: NodeProcess, open_registry: LocalRegistry
) -> None:
    response = node.post(
        "/apps/checkdockerexistance", json={"repotag": open_registry.repotag("amd64")}
    )
    assert envelope(response) == {
        "status": "error",
        "data": {"code": 401, "name": "Unauthorized", "message": "Unauthorized. Access denied."},
    }


# -- information routes -----------------------------------------------------------------
def test_information_routes(node: NodeProcess) -> None:
    version = envelope(node.get("/apps/latestspecificationversion"))
    assert version == {"status": "success", "data": 8}
    usd = envelope(node.get("/apps/getappspecsusdprice"))["data"]
    assert usd == {
        "height": -1,
        "cpu": 0.15,
        "ram": 0.05,
        "hdd": 0.02,
        "minPrice": 0.01,
        "port": 2,
        "scope": 4,
        "staticip": 2,
        "fluxmultiplier": 0.95,
        "multiplier": 1,
        "minUSDPrice": 0.99,
    }  # fmt: skip  (spec §5.1)
    deployment = envelope(node.get("/apps/deploymentinformation"))["data"]
    assert list(deployment) == [
        "price", "appSpecsEnforcementHeights", "address", "portMin", "portMax",
        "enterprisePorts", "bannedPorts", "maxImageSize", "minimumInstances",
        "maximumInstances", "blocksLasting", "minBlocksAllowance", "maxBlocksAllowance",
        "blocksAllowanceInterval",
    ]  # fmt: skip
    assert deployment["address"] == "t3NryfAQLGeFs9jEoeqsxmBN2QLRaRKFLUX"  # after 1,670,000
    assert deployment["maxBlocksAllowance"] == 1_056_000  # post-PON
    assert [entry["height"] for entry in deployment["price"]] == [
        -1, 983000, 1004000, 1288000, 1594832, 1597156,
    ]  # fmt: skip
    assert deployment["appSpecsEnforcementHeights"]["8"] == 1_932_380
    registration = envelope(node.get("/apps/registrationinformation"))["data"]
    assert registration["usdprice"] == usd
    assert registration["price"] == deployment["price"]
    assert registration["daemonPONFork"] == 2_020_000
    assert registration["latestAppSpecification"] == 8


def test_whitelisted_repositories(
    node: NodeProcess, offline_node: NodeProcess, services: tuple[FluxServicesStandIn, str]
) -> None:
    assert envelope(node.get("/apps/whitelistedrepositories")) == {
        "status": "success",
        "data": WHITELIST,
    }
    message = error_message(offline_node.get("/apps/whitelistedrepositories"))
    assert (
        message == "Unable to fetch whitelisted repositories from Flux Services. Try again later."
    )


def test_wrong_method_is_an_envelope(node: NodeProcess) -> None:
    response = node.get("/apps/calculateprice")
    assert response.status_code == 405
    assert response.json() == {
        "status": "error",
        "data": {
            "code": 405,
            "name": "Error",
            "message": "Method GET is not allowed on /apps/calculateprice",
        },
    }


def test_no_request_crashed_the_node(node: NodeProcess, offline_node: NodeProcess) -> None:
    for process in (node, offline_node):
        assert "Traceback" not in process.output()
        assert envelope(process.get("/flux/version"))["status"] == "success"
