"""Privilege resolution, identity.md §8.2: the pure conditions and the authorizer over a
real session store, with time driven by a manual clock."""

from __future__ import annotations

import pytest

from fluxos.clock import ManualClock
from fluxos.identity import Credentials, IdentityAuthorizer, LoginGates, PrivilegedIds, app_of
from fluxos.identity.gates import DatabaseGate
from fluxos.identity.phrases import DAY_MS, HOUR_MS, new_login_phrase
from fluxos.identity.privileges import (
    identity_holds,
    login_label,
    session_condition_holds,
)
from fluxos.identity.service import IdentityService
from fluxos.storage.identity import IdentityStore, PhraseRecord
from fluxos.wire.permissions import Permission
from tests.support.identity import OwnerTable, Person, load_vectors

P = Permission
OWNER, TEAM, SUPPORT, APP_OWNER, USER = "1Owner", "1Team", "1Support", "1AppOwner", "1User"
IDS = PrivilegedIds(owner=OWNER, flux_team=TEAM, flux_support_team=SUPPORT)

# Who may hold each level at all, with APP_OWNER owning the app in question.
IDENTITY_TABLE = {
    P.USER: {OWNER, TEAM, SUPPORT, APP_OWNER, USER},
    P.ADMIN: {OWNER},
    P.FLUXTEAM: {TEAM, SUPPORT},
    P.ADMINANDFLUXTEAM: {OWNER, TEAM, SUPPORT},
    P.APPOWNER: {APP_OWNER},
    P.APPOWNERABOVE: {APP_OWNER, OWNER, TEAM, SUPPORT},
    P.APPOWNERORFLUXTEAM: {APP_OWNER, TEAM, SUPPORT},  # upstream 8.18: not the node's owner
}


@pytest.mark.parametrize("level", list(IDENTITY_TABLE))
def test_identity_condition_table(level: Permission) -> None:
    for zelid in (OWNER, TEAM, SUPPORT, APP_OWNER, USER):
        assert identity_holds(level, zelid, IDS, APP_OWNER) is (zelid in IDENTITY_TABLE[level])


def test_identity_condition_edges() -> None:
    assert not identity_holds(P.APPOWNER, USER, IDS, None)  # no such app
    assert not identity_holds(P.APPOWNER, "", IDS, "")
    assert not identity_holds(P.ADMIN, "", PrivilegedIds("", TEAM, SUPPORT), None)  # no owner set
    assert not identity_holds(P.ADMIN, OWNER.lower(), IDS, None)  # exact, case-sensitive


def test_session_condition_windows() -> None:
    now = 1_700_000_000_000
    phrase_16h = f"{now - 16 * HOUR_MS}" + "a" * 43
    phrase_2h = f"{now - 2 * HOUR_MS}" + "a" * 43
    older_2h = f"{now - 2 * HOUR_MS - 1}" + "a" * 43
    for level in (P.ADMIN, P.FLUXTEAM, P.ADMINANDFLUXTEAM):
        assert session_condition_holds(level, phrase_2h, True, now)
        assert not session_condition_holds(level, phrase_2h, False, now)
    assert session_condition_holds(P.USER, phrase_16h, False, now)
    assert not session_condition_holds(P.APPOWNER, phrase_16h, False, now)
    assert session_condition_holds(P.APPOWNER, phrase_2h, False, now)
    assert session_condition_holds(P.APPOWNERABOVE, phrase_2h, False, now)
    assert not session_condition_holds(P.APPOWNERABOVE, older_2h, False, now)


def test_labels_and_app_names() -> None:
    assert login_label(TEAM, IDS) == "fluxteam"
    assert login_label(SUPPORT, IDS) == "fluxteam"
    assert login_label(OWNER, IDS) == "admin"
    # a team member who owns the node is labelled fluxteam at login (checked first)
    assert login_label(TEAM, PrivilegedIds(TEAM, TEAM, SUPPORT)) == "fluxteam"
    assert login_label(USER, IDS) == "user"
    assert app_of("web_PolkadotNode") == "PolkadotNode"
    assert app_of("PolkadotNode") == "PolkadotNode"
    assert app_of("") is None and app_of(None) is None and app_of("web_") is None


# -- the authorizer over a real store ----------------------------------------------------
def service_for(
    store: IdentityStore, clock: ManualClock, ids: PrivilegedIds, owners: OwnerTable
) -> IdentityService:
    return IdentityService(store, ids, clock, LoginGates(database=DatabaseGate(store)), owners)


async def log_in(service: IdentityService, clock: ManualClock, person: Person) -> Credentials:
    phrase = await service.emergency_phrase()
    clock.advance(1)
    credentials = person.credentials(phrase)
    await service.verify_login(credentials.as_object())
    return credentials


@pytest.fixture
def people() -> dict[str, Person]:
    return {name: Person() for name in ("owner", "team", "support", "appowner", "user")}


@pytest.fixture
def world(
    store: IdentityStore, clock: ManualClock, people: dict[str, Person]
) -> tuple[IdentityService, IdentityAuthorizer]:
    ids = PrivilegedIds(people["owner"].zelid, people["team"].zelid, people["support"].zelid)
    owners = OwnerTable({"PolkadotNode": people["appowner"].zelid})
    service = service_for(store, clock, ids, owners)
    return service, service.authorizer


async def test_logged_in_roles_against_every_level(
    world: tuple[IdentityService, IdentityAuthorizer], clock: ManualClock, people: dict[str, Person]
) -> None:
    service, authorizer = world
    sessions = {name: await log_in(service, clock, person) for name, person in people.items()}
    expected = {
        P.USER: {"owner", "team", "support", "appowner", "user"},
        P.ADMIN: {"owner"},
        P.FLUXTEAM: {"team", "support"},
        P.ADMINANDFLUXTEAM: {"owner", "team", "support"},
        P.APPOWNER: {"appowner"},
        P.APPOWNERABOVE: {"appowner", "owner", "team", "support"},
        P.APPOWNERORFLUXTEAM: {"appowner", "team", "support"},
    }
    for level, holders in expected.items():
        for name, credentials in sessions.items():
            granted = await authorizer.holds(level, credentials, "PolkadotNode")
            assert granted is (name in holders), (level, name)
    # app levels need the app; the component form names the app after its first '_'
    appowner = sessions["appowner"]
    assert await authorizer.holds(P.APPOWNER, appowner, "frontend_PolkadotNode")
    assert await authorizer.holds(P.APPOWNER, appowner, "polkadotnode")  # registry ignores case
    assert not await authorizer.holds(P.APPOWNER, appowner, None)
    assert not await authorizer.holds(P.APPOWNERABOVE, sessions["owner"], None)
    assert not await authorizer.holds(P.APPOWNER, appowner, "OtherApp")
    assert await authorizer.holds(P.PUBLIC, None)


async def test_session_expires_fourteen_days_after_the_phrase(
    world: tuple[IdentityService, IdentityAuthorizer], clock: ManualClock, people: dict[str, Person]
) -> None:
    service, authorizer = world
    phrase_ms = clock.millis()
    owner = await log_in(service, clock, people["owner"])
    user = await log_in(service, clock, people["user"])
    clock.set((phrase_ms + 14 * DAY_MS - 1) / 1000)
    assert await authorizer.holds(P.ADMIN, owner)
    clock.set((phrase_ms + 14 * DAY_MS + 1000) / 1000)  # user's phrase was 1 s later
    assert not await authorizer.holds(P.ADMIN, owner)
    assert not await authorizer.holds(P.USER, user)  # past the session and the 16 h window
    assert await service.sessions_of(owner) == []


async def test_stateless_fresh_phrases(
    world: tuple[IdentityService, IdentityAuthorizer], clock: ManualClock, people: dict[str, Person]
) -> None:
    _service, authorizer = world
    now = clock.millis()

    def minted(person: Person, age_ms: int) -> Credentials:
        # a client may mint its own phrase; no session holds it
        return person.credentials(new_login_phrase(now - age_ms))

    user, appowner, owner = people["user"], people["appowner"], people["owner"]
    assert await authorizer.holds(P.USER, minted(user, 16 * HOUR_MS))
    assert not await authorizer.holds(P.USER, minted(user, 16 * HOUR_MS + 1))
    assert not await authorizer.holds(P.USER, minted(user, -1))  # from the future
    assert await authorizer.holds(P.APPOWNER, minted(appowner, 2 * HOUR_MS), "PolkadotNode")
    assert not await authorizer.holds(P.APPOWNER, minted(appowner, 2 * HOUR_MS + 1), "PolkadotNode")
    assert await authorizer.holds(P.APPOWNERABOVE, minted(owner, HOUR_MS), "PolkadotNode")
    # admin, fluxteam, adminandfluxteam need a session
    assert not await authorizer.holds(P.ADMIN, minted(owner, 0))
    assert not await authorizer.holds(P.ADMINANDFLUXTEAM, minted(owner, 0))
    assert not await authorizer.holds(P.FLUXTEAM, minted(people["team"], 0))


async def test_forged_and_borrowed_credentials(
    world: tuple[IdentityService, IdentityAuthorizer], clock: ManualClock, people: dict[str, Person]
) -> None:
    service, authorizer = world
    owner = await log_in(service, clock, people["owner"])
    thief = people["user"]
    forged = Credentials(owner.zelid, thief.sign(owner.login_phrase), owner.login_phrase)
    assert not await authorizer.holds(P.ADMIN, forged)
    assert not await authorizer.holds(P.USER, forged)
    # a valid signature over the owner's phrase by someone else does not carry the session
    borrowed = Credentials(thief.zelid, thief.sign(owner.login_phrase), owner.login_phrase)
    assert not await authorizer.holds(P.ADMIN, borrowed)
    await service.logout_current(owner)
    assert not await authorizer.holds(P.ADMIN, owner)


async def test_header_is_parsed_by_authorize(
    world: tuple[IdentityService, IdentityAuthorizer], clock: ManualClock, people: dict[str, Person]
) -> None:
    service, authorizer = world
    owner = await log_in(service, clock, people["owner"])
    assert await authorizer.authorize(P.ADMIN, owner.header_qs())
    assert await authorizer.authorize(P.ADMIN, owner.header_json())
    assert not await authorizer.authorize(P.ADMIN, None)
    assert not await authorizer.authorize(P.ADMIN, "garbage")
    assert await authorizer.authorize(P.PUBLIC, None)


async def test_ethereum_owner_compared_exactly(store: IdentityStore, clock: ManualClock) -> None:
    owner = Person(eth=True)
    service = service_for(
        store, clock, PrivilegedIds(owner.zelid, "1Team", "1Support"), OwnerTable({})
    )
    credentials = await log_in(service, clock, owner)
    assert await service.authorizer.holds(P.ADMIN, credentials)
    # the signature check ignores case, the identity comparison does not (upstream's rule)
    lowered = Credentials(owner.zelid.lower(), credentials.signature, credentials.login_phrase)
    assert not await service.authorizer.holds(P.ADMIN, lowered)


async def test_upstream_scenario_b6_b7_b9_b11(store: IdentityStore, clock: ManualClock) -> None:
    """identity.md §13: owner B7, team B11, app PolkadotNode owned by B9's address."""
    vectors = load_vectors()
    scenario = vectors["privilege_scenario"]
    by_id = {v["id"]: v for v in vectors["signatures"]}
    service = service_for(
        store,
        clock,
        PrivilegedIds(
            scenario["owner"], scenario["flux_team"], "16iJqiVbHptCx87q6XQwNpKdgEZnFtKcyP"
        ),
        OwnerTable(scenario["app_owners"]),
    )
    credentials = {}
    for vector_id in scenario["sessions"]:
        vector = by_id[vector_id]
        stamp = int(vector["message"][:13])
        # issue the phrase at its own time and log in a second later, as the node would
        await store.add_phrase(PhraseRecord(vector["message"], stamp, stamp + 15 * 60_000))
        clock.set(stamp / 1000 + 1)
        await service.verify_login(
            {
                "zelid": vector["address"],
                "loginPhrase": vector["message"],
                "signature": vector["signature"],
            }
        )
        credentials[vector_id] = Credentials(
            vector["address"], vector["signature"], vector["message"]
        )
    for expectation in scenario["expect"]:
        held = credentials[expectation["session"]]
        # Each session lives 14 days from its phrase; judge it a day into its life.
        clock.set(int(held.login_phrase[:13]) / 1000 + 86400)
        granted = await service.authorizer.holds(
            Permission(expectation["level"]), held, expectation.get("app")
        )
        assert granted is expectation["holds"], expectation
