"""The identity service on a real store: §13 vectors, verifylogin's rules in order,
providesign, checkprivilege, logouts and the websocket waits."""

from __future__ import annotations

import asyncio
import re

import pytest

from fluxos.clock import ManualClock
from fluxos.errors import FluxError
from fluxos.identity import Credentials, IdentityService, LoginGates, PrivilegedIds
from fluxos.identity.gates import DatabaseGate
from fluxos.identity.phrases import DAY_MS, MINUTE_MS
from fluxos.identity.service import NO_LONGER_VALID
from fluxos.storage.identity import IdentityStore, PhraseRecord
from tests.support.asyncwait import eventually
from tests.support.identity import OwnerTable, Person, load_vectors

VECTORS = load_vectors()
SCENARIO = VECTORS["privilege_scenario"]
LOGIN_VECTORS = [v for v in VECTORS["signatures"] if len(v["message"]) >= 40]
SHORT_VECTORS = [v for v in VECTORS["signatures"] if len(v["message"]) < 40]
SUPPORT = "16iJqiVbHptCx87q6XQwNpKdgEZnFtKcyP"


@pytest.fixture
def service(store: IdentityStore, clock: ManualClock) -> IdentityService:
    ids = PrivilegedIds(SCENARIO["owner"], SCENARIO["flux_team"], SUPPORT)
    gates = LoginGates(database=DatabaseGate(store))
    return IdentityService(store, ids, clock, gates, OwnerTable({}), recheck_seconds=0.05)


async def issue(store: IdentityStore, clock: ManualClock, phrase: str) -> None:
    """Put `phrase` in the store as if issued at its timestamp; move the clock 1 s later."""
    stamp = int(phrase[:13])
    await store.add_phrase(PhraseRecord(phrase, stamp, stamp + 15 * MINUTE_MS))
    clock.set(stamp / 1000 + 1)


@pytest.mark.parametrize("vector", LOGIN_VECTORS, ids=[v["id"] for v in LOGIN_VECTORS])
async def test_login_vectors(
    service: IdentityService, store: IdentityStore, clock: ManualClock, vector: dict
) -> None:
    await issue(store, clock, vector["message"])
    body = {
        "zelid": vector["address"],
        "loginPhrase": vector["message"],
        "signature": vector["signature"],
    }
    if not vector["valid"]:
        with pytest.raises(FluxError, match=r"^Invalid signature$"):
            await service.verify_login(body)
        return
    login = await service.verify_login(body)
    stamp = int(vector["message"][:13])
    assert login.session.zelid == vector["address"]
    assert login.session.created_ms == stamp
    assert login.session.expire_ms == stamp + 14 * DAY_MS
    assert login.session.signature == vector["signature"]
    expected = {SCENARIO["owner"]: "admin", SCENARIO["flux_team"]: "fluxteam"}
    assert login.privilege == expected.get(vector["address"], "user")


@pytest.mark.parametrize("vector", SHORT_VECTORS, ids=[v["id"] for v in SHORT_VECTORS])
async def test_signature_vectors_through_the_authorizer(
    service: IdentityService, vector: dict
) -> None:
    credentials = Credentials(vector["address"], vector["signature"], vector["message"])
    assert service.authorizer.signature_valid(credentials) is vector["valid"]
    # none can log in: a public key (B2) or a bad address (B4) is no ZelID, and "test" or
    # "testmessage123" is too short for a login phrase
    refusal = (
        "Flux ID is not valid" if vector["id"] in ("B2", "B4") else "Signed message is not valid"
    )
    with pytest.raises(FluxError) as raised:
        await service.verify_login(credentials.as_object())
    assert raised.value.message == refusal


@pytest.mark.parametrize("case", VECTORS["verifylogin_address_format"], ids=lambda c: c["zelid"])
async def test_address_format_vectors(service: IdentityService, case: dict) -> None:
    body = {"zelid": case["zelid"], "loginPhrase": "short", "signature": "x"}
    with pytest.raises(FluxError) as raised:
        await service.verify_login(body)
    # a well-formed address gets past the format check to the message check
    assert raised.value.message == (case["message"] or "Signed message is not valid")


@pytest.mark.parametrize("message", VECTORS["verifylogin_bad_messages"])
async def test_phrase_timestamp_out_of_window(service: IdentityService, message: str) -> None:
    body = {"zelid": SCENARIO["owner"], "loginPhrase": message, "signature": "x"}
    with pytest.raises(FluxError, match=r"^Signed message is not valid$"):
        await service.verify_login(body)


async def test_verifylogin_rules_in_order(
    service: IdentityService, store: IdentityStore, clock: ManualClock
) -> None:
    person = Person()
    phrase = await service.emergency_phrase()
    clock.advance(1)
    good = person.login_body(phrase)

    async def refused(body: dict, message: str) -> None:
        with pytest.raises(FluxError) as raised:
            await service.verify_login(body)
        assert raised.value.message == message
        assert raised.value.to_data() == {"name": "Error", "message": message}

    await refused({}, "No Flux ID is specified")
    await refused({**good, "zelid": ""}, "No Flux ID is specified")
    await refused({**good, "zelid": "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"}, "Flux ID is not valid")
    await refused({**good, "zelid": "t1abc"}, "Flux ID is not valid")
    await refused({**good, "zelid": "0x12"}, "Flux ID is not valid")
    await refused({**good, "zelid": 12345}, "Flux ID is not valid")
    await refused({**good, "loginPhrase": ""}, "No message is specified")
    await refused({**good, "loginPhrase": phrase[:39]}, "Signed message is not valid")
    await refused({**good, "loginPhrase": "x" + phrase[1:]}, "Signed message is not valid")
    await refused({**good, "signature": ""}, "No signature is specified")
    unknown = phrase[:13] + "0" * 43
    await refused({**good, "loginPhrase": unknown}, NO_LONGER_VALID)
    await refused({**good, "signature": Person().sign(phrase)}, "Invalid signature")
    await refused({**good, "signature": ["not", "text"]}, "Invalid signature")
    # aliases: address for zelid, message for loginPhrase
    login = await service.verify_login(
        {"address": person.zelid, "message": phrase, "signature": good["signature"]}
    )
    assert login.privilege == "user"
    await refused(good, NO_LONGER_VALID)  # single use


async def test_phrase_lifetime(service: IdentityService, clock: ManualClock) -> None:
    person = Person()
    same_ms = await service.emergency_phrase()
    # not strictly older than now: upstream refuses a login in the phrase's own millisecond
    with pytest.raises(FluxError, match=re.escape(NO_LONGER_VALID)):
        await service.verify_login(person.login_body(same_ms))
    stale = await service.emergency_phrase()
    clock.advance(15 * 60 + 0.001)
    with pytest.raises(FluxError, match=r"^Signed message is not valid$"):
        await service.verify_login(person.login_body(stale))
    assert await service.active_phrases() == []


async def test_concurrent_replays_log_in_once(service: IdentityService, clock: ManualClock) -> None:
    person = Person()
    phrase = await service.emergency_phrase()
    clock.advance(1)
    body = person.login_body(phrase)
    results = await asyncio.gather(
        *(service.verify_login(body) for _ in range(5)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(
        isinstance(r, FluxError) and r.message == NO_LONGER_VALID
        for r in results
        if isinstance(r, BaseException)
    )
    assert len(await service.sessions_of(person.credentials(phrase))) == 1


async def test_session_signature_is_dropped_after_sixty_seconds(
    service: IdentityService, store: IdentityStore, clock: ManualClock
) -> None:
    person = Person()
    phrase = await service.emergency_phrase()
    clock.advance(1)
    await service.verify_login(person.login_body(phrase))
    assert (await store.session_by_phrase(phrase, clock.millis())).signature is not None
    clock.advance(60)
    assert (await store.session_by_phrase(phrase, clock.millis())).signature is None
    await service.purge_expired()
    clock.set(0)  # even read "before" the window, the purged row has no signature left
    assert (await store.session_by_phrase(phrase, clock.millis())).signature is None


async def test_provide_sign_parks_without_verifying(
    service: IdentityService, clock: ManualClock
) -> None:
    message = "1575012988077darschvve5ag82g8e8sgeij4sn61842ya7ovxi9r3kba"
    record = await service.provide_sign(
        {"address": SCENARIO["owner"], "message": message, "signature": "anything"}
    )
    assert record.identifier == SCENARIO["owner"] + message[-13:]
    assert re.fullmatch(r"[0-9a-f]{24}", record.id)
    assert record.expire_ms - record.created_ms == 15 * MINUTE_MS
    assert record.created_ms == clock.millis()
    with pytest.raises(FluxError, match=r"^No signature is specified$"):
        await service.provide_sign({"zelid": SCENARIO["owner"], "loginPhrase": message})
    with pytest.raises(FluxError, match=r"^Flux ID is not valid$"):
        await service.provide_sign({"zelid": "bc1qxyz", "loginPhrase": message, "signature": "s"})


async def test_check_privilege(
    service: IdentityService, store: IdentityStore, clock: ManualClock
) -> None:
    by_id = {v["id"]: v for v in VECTORS["signatures"]}
    answers = {}
    for vector_id in ("B7", "B11", "B6"):
        vector = by_id[vector_id]
        await issue(store, clock, vector["message"])
        body = {
            "zelid": vector["address"],
            "loginPhrase": vector["message"],
            "signature": vector["signature"],
        }
        await service.verify_login(body)
        clock.advance(3600)
        answers[vector_id] = await service.check_privilege(body)
        forged = {**body, "signature": by_id["B8"]["signature"]}
        assert await service.check_privilege(forged) is None
    assert answers == {"B7": "admin", "B11": "fluxteam", "B6": "user"}
    for missing, message in (
        ("zelid", "No user Flux ID specificed"),
        ("loginPhrase", "No user loginPhrase specificed"),
        ("signature", "No user Flux ID signature specificed"),
    ):
        body = {"zelid": "1a", "loginPhrase": "p", "signature": "s"}
        del body[missing]
        with pytest.raises(FluxError, match=f"^{message}$"):
            await service.check_privilege(body)


async def test_logouts(service: IdentityService, clock: ManualClock) -> None:
    alice, bob = Person(), Person()
    sessions = []
    for person in (alice, alice, bob):
        phrase = await service.emergency_phrase()
        clock.advance(1)
        await service.verify_login(person.login_body(phrase))
        sessions.append(person.credentials(phrase))
    first, second, bobs = sessions
    assert [s.login_phrase for s in await service.sessions_of(first)] == [
        first.login_phrase,
        second.login_phrase,
    ]
    await service.logout_current(first)
    await service.logout_current(first)  # nothing left to delete is fine
    assert [s.login_phrase for s in await service.sessions_of(first)] == [second.login_phrase]
    # knowing a phrase is the capability, whoever owns the session
    assert await service.logout_phrase(bobs.login_phrase) is True
    assert await service.logout_phrase(bobs.login_phrase) is False
    with pytest.raises(FluxError, match="loginPhrase is required"):
        await service.logout_phrase(None)
    assert await service.logout_all(second) == 1
    assert await service.all_sessions() == []


async def test_login_phrase_runs_the_gates(store: IdentityStore, clock: ManualClock) -> None:
    class Refusing:
        async def check(self) -> None:
            raise FluxError("Syncthing is not running properly")

    gates = LoginGates(database=DatabaseGate(store), syncthing=Refusing())
    service = IdentityService(store, PrivilegedIds("", "", ""), clock, gates, OwnerTable({}))
    with pytest.raises(FluxError, match="Syncthing is not running properly"):
        await service.login_phrase()
    assert await service.active_phrases() == []
    emergency = await service.emergency_phrase()
    assert [p.login_phrase for p in await service.active_phrases()] == [emergency]


async def test_await_login_wakes_on_login(service: IdentityService, clock: ManualClock) -> None:
    person = Person()
    phrase = await service.emergency_phrase()
    clock.advance(1)
    waiter = asyncio.create_task(service.await_login(phrase))
    await eventually(lambda: service.notifier.listening("login:" + phrase) == 1)
    await service.verify_login(person.login_body(phrase))
    session = await asyncio.wait_for(waiter, 5)
    assert session is not None and session.zelid == person.zelid
    assert service.notifier.listening("login:" + phrase) == 0


async def test_await_login_ends_when_the_phrase_expires(
    service: IdentityService, clock: ManualClock
) -> None:
    phrase = await service.emergency_phrase()
    waiter = asyncio.create_task(service.await_login(phrase))
    await eventually(lambda: service.notifier.listening("login:" + phrase) == 1)
    assert not waiter.done()
    clock.advance(15 * 60)
    assert await asyncio.wait_for(waiter, 5) is None
    assert await service.await_login("1700000000000" + "z" * 43) is None  # never issued


async def test_await_signature(service: IdentityService, clock: ManualClock) -> None:
    message = "1700000000000" + "q" * 43
    identifier = SCENARIO["owner"] + message[-13:]
    waiter = asyncio.create_task(service.await_signature(identifier))
    await eventually(lambda: service.notifier.listening("sign:" + identifier) == 1)
    await service.provide_sign({"zelid": SCENARIO["owner"], "message": message, "signature": "sig"})
    record = await asyncio.wait_for(waiter, 5)
    assert record is not None and record.signature == "sig"
    # nobody provides this one: the wait ends after a parked signature's lifetime
    lonely = asyncio.create_task(service.await_signature("1nobody" + "x" * 13))
    await eventually(lambda: service.notifier.listening("sign:1nobody" + "x" * 13) == 1)
    clock.advance(15 * 60)
    assert await asyncio.wait_for(lonely, 5) is None
