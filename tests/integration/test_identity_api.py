"""The /id routes and websockets over real HTTP, against a node whose clock the test drives.

The node runs under uvicorn in the test's event loop on a loopback address, with real
SQLite and keys made in the test.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from fluxos.clock import ManualClock
from fluxos.config import load_settings
from fluxos.identity import Credentials
from fluxos.identity.phrases import DAY_MS
from fluxos.identity.phrases import js_iso as _iso
from fluxos.node import Node
from fluxos.wire.bodies import parse_qs, stringify_qs
from tests.support.identity import Person
from tests.support.inprocess import serving

UNAUTHORIZED = {"code": 401, "name": "Unauthorized", "message": "Unauthorized. Access denied."}
NO_LONGER_VALID = "Signed message is no longer valid. Please request a new one."


@dataclass
class World:
    node: Node
    clock: ManualClock
    url: str
    http: httpx.AsyncClient
    owner: Person
    team: Person

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")

    async def get(self, path: str, caller: Credentials | None = None, **kw: Any) -> Any:
        headers = {"zelidauth": caller.header_qs()} if caller else {}
        reply = await self.http.get(path, headers=headers, **kw)
        assert reply.status_code == 200, reply.text
        return reply.json()

    async def post(self, path: str, body: Any, caller: Credentials | None = None, **kw: Any) -> Any:
        headers = {"zelidauth": caller.header_json()} if caller else {}
        content = body if isinstance(body, str | bytes) else json.dumps(body)
        reply = await self.http.post(path, content=content, headers={**headers, **kw})
        assert reply.status_code == 200, reply.text
        return reply.json()

    async def phrase(self) -> str:
        reply = await self.get("/id/loginphrase")
        assert reply["status"] == "success", reply
        self.clock.advance(1)  # a phrase is usable once strictly older than now
        return str(reply["data"])

    async def login(self, person: Person) -> Credentials:
        phrase = await self.phrase()
        reply = await self.post("/id/verifylogin", person.login_body(phrase))
        assert reply["status"] == "success", reply
        return person.credentials(phrase)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    owner, team = Person(), Person()
    settings = load_settings(
        tmp_path, {"zelid": owner.zelid, "flux_team_zelid": team.zelid}, environ={}
    )
    clock = ManualClock(start=1_750_000_000.0)
    node = Node(settings, clock=clock)
    node.identity.recheck_seconds = 0.05  # websocket waits notice clock jumps quickly
    async with serving(node) as url, httpx.AsyncClient(base_url=url, timeout=10) as http:
        yield World(node, clock, url, http, owner, team)


async def test_login_round_trip(world: World) -> None:
    person = Person()
    phrase = await world.phrase()
    assert re.fullmatch(r"\d{13}[0-9a-z]{43}", phrase)
    assert int(phrase[:13]) == world.clock.millis() - 1000
    body = person.login_body(phrase)
    reply = await world.post("/id/verifylogin", body)
    stamp = int(phrase[:13])
    assert reply == {
        "status": "success",
        "data": {
            "message": "Successfully logged in",
            "zelid": person.zelid,
            "loginPhrase": phrase,
            "signature": body["signature"],
            "privilage": "user",
            "createdAt": _iso(stamp),
            "expireAt": _iso(stamp + 14 * DAY_MS),
        },
    }
    assert list(reply["data"]) == [
        "message",
        "zelid",
        "loginPhrase",
        "signature",
        "privilage",
        "createdAt",
        "expireAt",
    ]
    caller = person.credentials(phrase)
    row = {
        "zelid": person.zelid,
        "loginPhrase": phrase,
        "createdAt": _iso(stamp),
        "expireAt": _iso(stamp + 14 * DAY_MS),
    }
    assert await world.get("/id/loggedsessions", caller) == {"status": "success", "data": [row]}
    # the JSON header form, and the deprecated alias
    json_header = {"zelidauth": caller.header_json()}
    alias = await world.http.get("/zelid/loggedsessions", headers=json_header)
    assert alias.json() == {"status": "success", "data": [row]}


async def test_body_forms_and_no_hang_on_application_json(world: World) -> None:
    forms = {
        "application/json": json.dumps,
        "text/plain": json.dumps,
        "application/x-www-form-urlencoded": stringify_qs,  # what the Flux UI sends
    }
    for content_type, encode in forms.items():
        person = Person()
        phrase = await world.phrase()
        body = encode(person.login_body(phrase))
        reply = await world.post("/id/verifylogin", body, **{"content-type": content_type})
        assert reply["status"] == "success", (content_type, reply)


async def test_replayed_phrase_is_refused(world: World) -> None:
    person = Person()
    phrase = await world.phrase()
    body = person.login_body(phrase)
    assert (await world.post("/id/verifylogin", body))["status"] == "success"
    replay = await world.post("/id/verifylogin", body)
    assert replay == {"status": "error", "data": {"name": "Error", "message": NO_LONGER_VALID}}
    # nor may someone else sign the used phrase
    other = await world.post("/zelid/verifylogin", Person().login_body(phrase))
    assert other["data"]["message"] == NO_LONGER_VALID


async def test_validation_messages(world: World) -> None:
    phrase = await world.phrase()
    cases = [
        ({}, "No Flux ID is specified"),
        ({"zelid": "2Z123434"}, "Flux ID is not valid"),
        ({"zelid": world.owner.zelid}, "No message is specified"),
        ({"zelid": world.owner.zelid, "loginPhrase": "short"}, "Signed message is not valid"),
        ({"zelid": world.owner.zelid, "loginPhrase": phrase}, "No signature is specified"),
        (
            {"zelid": world.owner.zelid, "loginPhrase": phrase, "signature": "AAAA"},
            "Invalid signature",
        ),
    ]
    for body, message in cases:
        reply = await world.post("/id/verifylogin", body)
        assert reply == {"status": "error", "data": {"name": "Error", "message": message}}
    null_body = await world.post("/id/verifylogin", "null")
    assert null_body["status"] == "error" and "body" in null_body["data"]["message"]


async def test_ethereum_login(world: World) -> None:
    person = Person(eth=True)
    assert person.zelid.startswith("0x")
    caller = await world.login(person)
    assert caller.signature.startswith("0x") and len(caller.signature) == 132
    sessions = await world.get("/id/loggedsessions", caller)
    assert [s["zelid"] for s in sessions["data"]] == [person.zelid]


async def test_labels_and_checkprivilege(world: World) -> None:
    user = Person()
    callers = {
        "admin": await world.login(world.owner),
        "fluxteam": await world.login(world.team),
        "user": await world.login(user),
    }
    for label, caller in callers.items():
        reply = await world.post("/id/checkprivilege", caller.as_object())
        assert reply == {"status": "success", "data": {"message": label}}
    forged = {**callers["admin"].as_object(), "signature": callers["user"].signature}
    none = await world.post("/zelid/checkprivilege", forged)
    assert none == {"status": "error", "data": {"message": "none"}}
    missing = await world.post("/id/checkprivilege", {"zelid": user.zelid})
    assert missing == {
        "status": "error",
        "data": {"name": "Error", "message": "No user loginPhrase specificed"},
    }


async def test_logout_routes(world: World) -> None:
    admin = await world.login(world.owner)
    second_admin = await world.login(world.owner)
    user = Person()
    first, second, third = [await world.login(user) for _ in range(3)]
    assert len((await world.get("/id/loggedusers", admin))["data"]) == 5

    reply = await world.get("/id/logoutcurrentsession", first)
    assert reply == {"status": "success", "data": {"message": "Successfully logged out"}}
    assert _phrases(await world.get("/id/loggedsessions", second)) == [
        second.login_phrase,
        third.login_phrase,
    ]
    specific = await world.post(
        "/id/logoutspecificsession", {"loginPhrase": third.login_phrase}, second
    )
    assert specific == {"status": "success", "data": {"message": "Session successfully logged out"}}
    again = await world.post(
        "/id/logoutspecificsession", {"loginPhrase": third.login_phrase}, second
    )
    assert again == {
        "status": "warning",
        "data": {"message": "Specified user was already logged out"},
    }
    everything = await world.get("/zelid/logoutallsessions", second)
    assert everything == {
        "status": "success",
        "data": {"message": "Successfully logged out all sessions"},
    }
    # the user's phrases are still fresh, so user level still admits them statelessly
    assert (await world.get("/id/loggedsessions", second))["data"] == []

    # the admin level needs a session: after logging out, the header is worthless
    await world.get("/id/logoutcurrentsession", admin)
    assert (await world.get("/id/loggedusers", admin))["data"] == UNAUTHORIZED
    users = await world.get("/id/logoutallusers", second_admin)
    assert users == {"status": "success", "data": {"message": "Successfully logged out all users"}}
    assert (await world.get("/id/loggedusers", second_admin))["data"] == UNAUTHORIZED


async def test_per_caller_answers_are_never_cached(world: World) -> None:
    alice, bob = Person(), Person()
    alice_1 = await world.login(alice)
    bob_1 = await world.login(bob)
    assert _zelids(await world.get("/id/loggedsessions", alice_1)) == [alice.zelid]
    # the same URL a moment later: Bob gets his own sessions, not Alice's cached answer
    assert _zelids(await world.get("/id/loggedsessions", bob_1)) == [bob.zelid]
    await world.login(alice)
    assert len((await world.get("/id/loggedsessions", alice_1))["data"]) == 2
    # a logout repeated within 30 s really runs (upstream answered it from cache)
    await world.get("/id/logoutallsessions", alice_1)
    bob_2 = await world.login(bob)
    await world.get("/id/logoutallsessions", bob_2)
    assert (await world.get("/id/loggedsessions", bob_1))["data"] == []
    # the UI's cache-busting parameter is accepted and ignored
    busted = await world.get("/id/loggedsessions", alice_1, params={"timestamp": "1"})
    assert busted == {"status": "success", "data": []}


async def test_expiry_follows_the_clock(world: World) -> None:
    admin = await world.login(world.owner)
    user = await world.login(Person())
    stamp = int(admin.login_phrase[:13])
    world.clock.set((stamp + 14 * DAY_MS - 2000) / 1000)
    assert (await world.get("/id/loggedusers", admin))["status"] == "success"
    world.clock.set((stamp + 14 * DAY_MS) / 1000)
    assert (await world.get("/id/loggedusers", admin))["data"] == UNAUTHORIZED
    world.clock.set((int(user.login_phrase[:13]) + 14 * DAY_MS) / 1000)
    assert (await world.get("/id/loggedsessions", user))["data"] == UNAUTHORIZED

    # a phrase minted by the client, never logged in: user level for 16 hours
    person = Person()
    minted = person.credentials(f"{world.clock.millis()}" + "k" * 43)
    world.clock.advance(16 * 3600)
    assert (await world.get("/id/loggedsessions", minted))["status"] == "success"
    world.clock.advance(1)
    assert (await world.get("/id/loggedsessions", minted))["data"] == UNAUTHORIZED


async def test_phrases_expire_after_fifteen_minutes(world: World) -> None:
    admin = await world.login(world.owner)
    emergency = await world.get("/id/emergencyphrase")
    phrase = emergency["data"]
    listed = await world.get("/id/activeloginphrases", admin)
    assert [p["loginPhrase"] for p in listed["data"]] == [phrase]
    assert listed["data"][0]["expireAt"] == _iso(int(phrase[:13]) + 15 * 60_000)
    world.clock.advance(15 * 60)
    assert (await world.get("/id/activeloginphrases", admin))["data"] == []
    # at 15 minutes the phrase is gone; a millisecond later it is also too old
    late = await world.post("/id/verifylogin", Person().login_body(phrase))
    assert late["data"]["message"] == NO_LONGER_VALID
    world.clock.advance(0.001)
    later = await world.post("/id/verifylogin", Person().login_body(phrase))
    assert later["data"]["message"] == "Signed message is not valid"


async def test_websocket_login_notification(world: World) -> None:
    person = Person()
    phrase = await world.phrase()
    async with connect(f"{world.ws_url}/ws/id/{phrase}") as socket:
        body = person.login_body(phrase)
        assert (await world.post("/id/verifylogin", body))["status"] == "success"
        frame, code = await _last_frame(socket)
    assert code == 4012
    assert frame.startswith("status=success&data%5Bmessage%5D=Successfully%20logged%20in&")
    stamp = int(phrase[:13])
    assert parse_qs(frame) == {
        "status": "success",
        "data": {
            "message": "Successfully logged in",
            "zelid": person.zelid,
            "loginPhrase": phrase,
            "signature": body["signature"],
            "privilage": "user",
            "createdAt": _iso(stamp),
            "expireAt": _iso(stamp + 14 * DAY_MS),
        },
    }


async def test_websocket_after_login_and_after_the_signature_is_dropped(world: World) -> None:
    admin = await world.login(world.owner)
    async with connect(f"{world.ws_url}/ws/id/{admin.login_phrase}") as socket:
        frame, code = await _last_frame(socket)
    data = parse_qs(frame)["data"]
    assert code == 4012 and data["privilage"] == "admin" and data["signature"] == admin.signature
    world.clock.advance(61)
    async with connect(f"{world.ws_url}/ws/id/{admin.login_phrase}") as socket:
        frame, code = await _last_frame(socket)
    assert code == 4012 and "signature" not in parse_qs(frame)["data"]


async def test_websocket_for_a_dead_phrase(world: World) -> None:
    async with connect(f"{world.ws_url}/ws/id/1750000000000notissued{'x' * 30}") as socket:
        frame, code = await _last_frame(socket)
    assert parse_qs(frame) == {"status": "error", "data": {"message": NO_LONGER_VALID}}
    assert code == 1000
    # a phrase that expires while the browser waits
    phrase = await world.phrase()
    async with connect(f"{world.ws_url}/ws/id/{phrase}") as socket:
        world.clock.advance(15 * 60)
        frame, _code = await _last_frame(socket)
    assert parse_qs(frame)["data"]["message"] == NO_LONGER_VALID


async def test_websocket_signature_hand_over(world: World) -> None:
    person = Person()
    message = await world.phrase()
    identifier = person.zelid + message[-13:]
    async with connect(f"{world.ws_url}/ws/sign/{identifier}") as socket:
        signature = person.sign(message)
        reply = await world.post(
            "/id/providesign", {"address": person.zelid, "message": message, "signature": signature}
        )
        frame, code = await _last_frame(socket)
    parked = reply["data"]
    assert list(parked) == ["signature", "identifier", "createdAt", "expireAt", "_id"]
    assert parked["identifier"] == identifier and re.fullmatch(r"[0-9a-f]{24}", parked["_id"])
    assert code == 4015
    assert parse_qs(frame) == {
        "status": "success",
        "data": {
            "_id": parked["_id"],
            **{k: parked[k] for k in ("signature", "identifier", "createdAt", "expireAt")},
        },
    }


async def _last_frame(socket: ClientConnection) -> tuple[str, int | None]:
    """The frame the server sends before closing, and its close code."""
    frame = await socket.recv()
    assert isinstance(frame, str)
    with pytest.raises(ConnectionClosed):
        await socket.recv()
    return frame, socket.close_code


def _phrases(reply: dict[str, Any]) -> list[str]:
    return [row["loginPhrase"] for row in reply["data"]]


def _zelids(reply: dict[str, Any]) -> list[str]:
    return [row["zelid"] for row in reply["data"]]


async def test_websockets_report_a_failing_store(world: World) -> None:
    phrase = await world.phrase()
    person = Person()
    async with (
        connect(f"{world.ws_url}/ws/id/{phrase}") as login_socket,
        connect(f"{world.ws_url}/ws/sign/{person.zelid}{phrase[-13:]}") as sign_socket,
    ):
        # the tables vanish while both browsers wait
        async with world.node.database.transaction() as conn:
            await conn.execute(text("DROP TABLE identity_sessions"))
            await conn.execute(text("DROP TABLE identity_signatures"))
        login_frame, login_code = await _last_frame(login_socket)
        sign_frame, sign_code = await _last_frame(sign_socket)
    assert login_code == 4011
    assert parse_qs(login_frame) == {
        "status": "error",
        "data": {"name": "OperationalError", "message": "no such table: identity_sessions"},
    }
    assert sign_code == 4014
    assert parse_qs(sign_frame) == {
        "status": "error",
        "data": {"name": "OperationalError", "message": "no such table: identity_signatures"},
    }
    # the login phrase gate still finds its table, so phrases are still issued
    assert (await world.get("/id/loginphrase"))["status"] == "success"
