"""POST /flux/dosstate with `testEventStream` on: the Flux team sets the DOS state and
GET /flux/dosstate and the login gate see it (a node process, real logins)."""

from __future__ import annotations

from pathlib import Path

from tests.support.daemons import Admin
from tests.support.processes import running_node


def test_the_flux_team_sets_the_dos_state(tmp_path: Path) -> None:
    team, owner = Admin(), Admin()
    (tmp_path / "fluxos.toml").write_text(
        f'zelid = "{owner.zelid}"\nfluxTeamFluxID = "{team.zelid}"\ntestEventStream = true\n'
        "[daemon]\nembedded = false\n"
    )
    with running_node(tmp_path) as node:
        owner_headers = owner.login(node.url)
        refused = node.post("/flux/dosstate", json={"dosState": 5}, headers=owner_headers)
        assert refused.json()["data"]["code"] == 401  # the owner is not the Flux team
        headers = team.login(node.url)
        bad = node.post("/flux/dosstate", json={"dosState": "many"}, headers=headers).json()
        assert bad == {
            "status": "error",
            "data": {"name": "Error", "message": "dosState must be a number"},
        }
        reply = node.post(
            "/flux/dosstate", json={"dosState": 11, "dosMessage": "testing"}, headers=headers
        ).json()
        assert reply == {
            "status": "success",
            "data": {"message": {"dosState": 11, "dosMessage": "testing"}},
        }
        phrase = node.get("/id/loginphrase").json()
        assert phrase["status"] == "error"  # above 10 with a message: no new logins
        cleared = node.post("/flux/dosstate", json={"dosState": "0"}, headers=headers).json()
        assert cleared["data"]["message"] == {"dosState": 0, "dosMessage": None}
