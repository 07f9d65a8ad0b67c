"""Every route above public refuses callers who lack its level (issue 3, part 5).

One running node, one login per role. The test walks the route table the server is built
from, so a route added later is covered without touching this file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fluxos.api.app import all_routes
from fluxos.api.routetable import RouteRow, load_route_table
from fluxos.identity import Credentials
from fluxos.identity.phrases import DAY_MS, new_login_phrase
from fluxos.wire.permissions import Permission
from tests.support.identity import Person
from tests.support.processes import NodeProcess, running_node

UNAUTHORIZED = {
    "status": "error",
    "data": {"code": 401, "name": "Unauthorized", "message": "Unauthorized. Access denied."},
}
P = Permission
# The levels each role holds on this node. No app has an owner yet (the apps registry is
# not wired), so nobody holds `appowner`; the owner and the team hold `appownerabove`,
# the team `appownerorfluxteam` (upstream 8.18: not the node's owner).
HOLDS = {
    "admin": {P.USER, P.ADMIN, P.ADMINANDFLUXTEAM, P.APPOWNERABOVE},
    "team": {P.USER, P.FLUXTEAM, P.ADMINANDFLUXTEAM, P.APPOWNERABOVE, P.APPOWNERORFLUXTEAM},
    "user": {P.USER},
}
# Routes whose router deliberately serves them below the table's level, with the reason
# in the declaration. Anything else found below its table level fails the sweep.
PUBLIC_BY_DESIGN = {
    ("POST", "/id/checkprivilege"),
    ("POST", "/zelid/checkprivilege"),
    ("POST", "/flux/checkappavailability"),  # or a listed node's signature (p2p.md §15)
    ("POST", "/flux/keepupnpportsopen"),  # the same (system.md §7.1)
    # the owner downloads any file, anyone else a shared one with its token
    ("GET", "/apps/fluxshare/getfile"),
}


@pytest.fixture(scope="module")
def people() -> dict[str, Person]:
    return {role: Person() for role in HOLDS}


@pytest.fixture(scope="module")
def node(
    tmp_path_factory: pytest.TempPathFactory, people: dict[str, Person]
) -> Iterator[NodeProcess]:
    data_dir: Path = tmp_path_factory.mktemp("sweep")
    (data_dir / "fluxos.toml").write_text(
        f'zelid = "{people["admin"].zelid}"\nfluxTeamFluxID = "{people["team"].zelid}"\n'
    )
    with running_node(data_dir) as process:
        yield process


def log_in(http: httpx.Client, person: Person) -> Credentials:
    phrase = http.get("/id/loginphrase").json()["data"]
    reply = http.post("/id/verifylogin", content=json.dumps(person.login_body(phrase))).json()
    assert reply["status"] == "success", reply
    return person.credentials(phrase)


def sample_path(row: RouteRow) -> str:
    """The path form with a dummy value in every parameter segment."""
    values = ["dummyapp" if name == "appname" else f"dummy{name}" for name in row.params]
    return "/".join([row.base, *values])


def test_every_protected_route_refuses_the_wrong_caller(
    node: NodeProcess, people: dict[str, Person]
) -> None:
    with httpx.Client(base_url=node.url, timeout=30) as http:
        sessions = {role: log_in(http, person) for role, person in people.items()}
        labels = {"admin": "admin", "team": "fluxteam", "user": "user"}
        for role, credentials in sessions.items():
            # the headers are good: each one holds exactly what its role should
            reply = http.post("/id/checkprivilege", content=credentials.header_json()).json()
            assert reply["data"]["message"] == labels[role]
        admin_only = http.get(
            "/id/loggedusers", headers={"zelidauth": sessions["admin"].header_qs()}
        )
        assert admin_only.json()["status"] == "success"

        stale_ms = int(sessions["user"].login_phrase[:13]) - 15 * DAY_MS
        stale_phrase = new_login_phrase(stale_ms)
        outsider = Person()

        def forged(role: str) -> Credentials:
            real = sessions[role]
            return Credentials(real.zelid, outsider.sign(real.login_phrase), real.login_phrase)

        def expired(role: str) -> Credentials:
            return people[role].credentials(stale_phrase)

        declared = {(route.method, route.base): route.row for route in all_routes()}
        failures: list[str] = []
        below_table: set[tuple[str, str]] = set()
        checked = 0
        for key, row in load_route_table().items():
            if row.permission is P.PUBLIC:
                continue
            served = declared.get(key, row)
            if served.permission is P.PUBLIC:
                below_table.add(key)
                continue
            holders = [role for role in HOLDS if HOLDS[role] & set(served.permissions)]
            too_low = [role for role in HOLDS if role not in holders]
            # forge and expire the credentials of someone who would otherwise pass
            subject = holders[0] if holders else "user"
            callers: dict[str, str | None] = {
                "no header": None,
                f"forged {subject}": forged(subject).header_qs(),
                f"expired {subject}": expired(subject).header_json(),
                **{f"valid {role} (too low)": sessions[role].header_qs() for role in too_low},
            }
            path = sample_path(served)
            for label, header in callers.items():
                headers = {"zelidauth": header} if header else {}
                if row.method == "POST":
                    headers["content-type"] = "application/json"
                    reply = http.post(path, content=b"{}", headers=headers)
                else:
                    reply = http.get(path, headers=headers)
                checked += 1
                if reply.status_code != 200 or reply.json() != UNAUTHORIZED:
                    failures.append(
                        f"{row.method} {path} [{served.permission}] {label}: {reply.text[:200]}"
                    )
    assert below_table == PUBLIC_BY_DESIGN
    assert not failures, f"{len(failures)} of {checked} calls were not refused:\n" + "\n".join(
        failures
    )
    assert checked > 1000  # every protected row of the table, several callers each
