"""Parameter binding, the envelope and error mapping, through the real ASGI application."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from fluxos.api.app import create_app
from fluxos.api.envelope import Message, warning
from fluxos.api.routing import Call, FluxRouter
from fluxos.clock import ManualClock
from fluxos.config import load_settings
from fluxos.errors import FluxError
from fluxos.node import Node
from fluxos.wire.permissions import Permission

router: FluxRouter[None] = FluxRouter("Test", lambda node: None)  # no service to serve
TestCall = Call[None]
calls = {"cached": 0}


@router.get("/test/echo/:first?/:second?", permission=Permission.PUBLIC)
async def echo(call: TestCall) -> dict[str, object]:
    return {"first": call.param("first"), "second": call.param("second")}


@router.post("/test/echo", permission=Permission.PUBLIC, params=())
async def echo_post(call: TestCall) -> object:
    return call.body


@router.get("/test/typed/:height?/:flag?", permission=Permission.PUBLIC)
async def typed(call: TestCall) -> dict[str, object]:
    return {
        "height": call.integer("height", required=True, minimum=0),
        "flag": call.boolean("flag", default=False),
    }


@router.get("/test/message", permission=Permission.PUBLIC, params=())
async def message(call: TestCall) -> Message:
    return Message("done")


@router.get("/test/warning", permission=Permission.PUBLIC, params=())
async def warn(call: TestCall) -> Message:
    return warning("careful")


@router.get("/test/fail", permission=Permission.PUBLIC, params=())
async def fail(call: TestCall) -> None:
    raise FluxError("daemon said no", code=-8)


@router.get("/test/crash", permission=Permission.PUBLIC, params=())
async def crash(call: TestCall) -> None:
    raise ZeroDivisionError("secret internals")


@router.get("/test/admin", permission=Permission.ADMIN, params=())
async def admin_only(call: TestCall) -> str:
    return "secret"


@router.get("/test/cached", permission=Permission.PUBLIC, params=(), cache_seconds=30)
async def cached(call: TestCall) -> int:
    calls["cached"] += 1
    return calls["cached"]


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, ManualClock]]:
    clock = ManualClock()
    node = Node(load_settings(tmp_path, environ={}), clock=clock)
    app = create_app(node, routers=(router,), manage_node=False)
    async with node.running():
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://node") as http:
            yield http, clock


async def test_path_and_query_forms_bind_the_same_values(client) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    by_path = (await http.get("/test/echo/5/1")).json()
    by_query = (await http.get("/test/echo?first=5&second=1")).json()
    assert by_path == by_query == {"status": "success", "data": {"first": "5", "second": "1"}}
    mixed = (await http.get("/test/echo/5?second=1")).json()
    assert mixed["data"] == {"first": "5", "second": "1"}
    assert (await http.get("/test/echo/")).json()["data"] == {"first": None, "second": None}
    assert (await http.get("/test/echo/a%20b")).json()["data"]["first"] == "a b"


async def test_routes_match_without_regard_to_case_but_values_keep_theirs(client) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    reply = (await http.get("/TEST/Echo/AbC/x%2FY")).json()
    assert reply == {"status": "success", "data": {"first": "AbC", "second": "x/Y"}}
    assert (await http.get("/Test/ECHO?first=Q")).json()["data"]["first"] == "Q"
    assert (await http.post("/test/ECHO", content=b'{"A":1}')).json()["data"] == {"A": 1}


async def test_too_many_segments_is_an_unknown_route(client) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    reply = await http.get("/test/echo/1/2/3")
    assert reply.status_code == 404
    assert reply.json()["status"] == "error"
    assert "/test/echo/1/2/3" in reply.json()["data"]["message"]


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "text/plain", "application/x-www-form-urlencoded", None],
)
async def test_post_body_in_every_content_type(client, content_type) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    headers = {"content-type": content_type} if content_type else {}
    as_json = await http.post("/test/echo", content=b'{"a":"1","b":[1,2]}', headers=headers)
    assert as_json.json() == {"status": "success", "data": {"a": "1", "b": [1, 2]}}
    as_qs = await http.post("/test/echo", content=b"a=1&b%5B0%5D=x", headers=headers)
    assert as_qs.json()["data"] == {"a": "1", "b": ["x"]}


async def test_typed_values_name_the_parameter_and_rule(client) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    assert (await http.get("/test/typed/7/true")).json()["data"] == {"height": 7, "flag": True}
    missing = (await http.get("/test/typed")).json()
    assert missing == {
        "status": "error",
        "data": {"name": "Error", "message": "height is required"},
    }
    bad = (await http.get("/test/typed/abc")).json()
    assert bad["data"]["message"] == "height must be an integer, got 'abc'"
    low = (await http.get("/test/typed/-1")).json()
    assert low["data"]["message"] == "height must be at least 0, got -1"
    flag = (await http.get("/test/typed/1/maybe")).json()
    assert flag["data"]["message"] == "flag must be true or false, got 'maybe'"


async def test_envelope_shapes(client) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    assert (await http.get("/test/message")).json() == {
        "status": "success",
        "data": {"message": "done"},
    }
    assert (await http.get("/test/warning")).json() == {
        "status": "warning",
        "data": {"message": "careful"},
    }
    failed = await http.get("/test/fail")
    assert failed.status_code == 200
    assert failed.json() == {
        "status": "error",
        "data": {"code": -8, "name": "Error", "message": "daemon said no"},
    }


async def test_unexpected_exception_is_an_envelope_without_internals(client) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    reply = await http.get("/test/crash")
    assert reply.status_code == 200
    assert reply.json() == {
        "status": "error",
        "data": {"name": "Error", "message": "Internal error"},
    }
    assert "secret" not in reply.text


async def test_protected_route_without_privilege(client) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    reply = await http.get("/test/admin")
    assert reply.status_code == 200
    assert reply.json() == {
        "status": "error",
        "data": {"code": 401, "name": "Unauthorized", "message": "Unauthorized. Access denied."},
    }


async def test_public_answers_are_cached_for_their_lifetime(client) -> None:  # type: ignore[no-untyped-def]
    http, clock = client
    first = (await http.get("/test/cached")).json()["data"]
    assert (await http.get("/test/cached")).json()["data"] == first
    assert (await http.get("/test/cached?timestamp=1")).json()["data"] == first + 1
    clock.advance(31)
    assert (await http.get("/test/cached")).json()["data"] == first + 2


async def test_cors_and_preflight(client) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    reply = await http.get("/test/message", headers={"origin": "http://ui"})
    assert reply.headers["access-control-allow-origin"] == "*"
    unknown = await http.get("/test/nothing", headers={"origin": "http://ui"})
    wrong_method = await http.post("/test/message", headers={"origin": "http://ui"})
    assert (unknown.status_code, wrong_method.status_code) == (404, 405)
    for envelope in (unknown, wrong_method):
        assert envelope.headers["access-control-allow-origin"] == "*"
        assert envelope.json()["status"] == "error"
    preflight = await http.options(
        "/test/echo",
        headers={"origin": "http://ui", "access-control-request-headers": "zelidauth"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-headers"] == "zelidauth"


async def test_unknown_method_and_route_are_envelopes(client) -> None:  # type: ignore[no-untyped-def]
    http, _ = client
    reply = await http.delete("/nothing/here")
    assert reply.json()["status"] == "error"
    assert reply.headers["content-type"].startswith("application/json")
