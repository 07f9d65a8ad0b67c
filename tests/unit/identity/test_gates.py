"""The login-phrase gates of identity.md §3.2, each over a small source."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from fluxos.errors import FluxError
from fluxos.identity.gates import (
    AppsDosGate,
    DatabaseGate,
    DockerGate,
    DosState,
    HardwareFacts,
    HardwareGate,
    LoginGates,
    NodeDosGate,
    SyncthingGate,
    meets_tier,
)
from fluxos.storage.identity import IdentityStore


class Probe:
    """Answers a scripted sequence; raises the ones that are exceptions."""

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)

    def _next(self) -> object:
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def is_running(self) -> object:
        return self._next()

    async def list_images(self) -> object:
        return self._next()

    async def hardware(self) -> object:
        return self._next()

    async def dos_state(self) -> object:
        return self._next()

    async def ping(self) -> None:
        self._next()


async def refusal(gate: object) -> dict:
    with pytest.raises(FluxError) as raised:
        await gate.check()  # type: ignore[attr-defined]
    return raised.value.to_data()


async def test_database_gate(store: IdentityStore) -> None:
    await DatabaseGate(store).check()
    async with store.database.transaction() as conn:
        await conn.execute(text("DROP TABLE identity_login_phrases"))
    assert await refusal(DatabaseGate(store)) == {
        "name": "OperationalError",
        "message": "no such table: identity_login_phrases",
    }
    assert await refusal(DatabaseGate(Probe(ConnectionError("database is locked")))) == {
        "name": "ConnectionError",
        "message": "database is locked",
    }


async def test_syncthing_gate_forgives_one_failure() -> None:
    gate = SyncthingGate(Probe(False, False, True, False, False, False))
    await gate.check()  # the first check ever passes
    await gate.check()  # the first pass counted as working: one failure is forgiven
    await gate.check()  # running again
    await gate.check()  # one failure forgiven
    assert await refusal(gate) == {"name": "Error", "message": "Syncthing is not running properly"}
    assert await refusal(gate) == {"name": "Error", "message": "Syncthing is not running properly"}


async def test_docker_gate_reports_the_driver_error() -> None:
    await DockerGate(Probe([])).check()
    assert await refusal(DockerGate(Probe(OSError("connect ENOENT /var/run/docker.sock")))) == {
        "name": "OSError",
        "message": "connect ENOENT /var/run/docker.sock",
    }


@pytest.mark.parametrize(
    ("tier", "collateral", "ram", "threads", "good"),
    [
        ("bamf", 100000, 30, 8, True),
        ("bamf", 100000, 29.9, 8, False),
        ("super", 25000, 7, 3, False),
        ("basic", 10000, 3, 2, True),
        ("bamf", 40000, 61, 15, False),
        ("super", 12500, 30, 8, True),
        ("basic", 1000, 3, 2, False),
        ("basic", 1000, 3, 4, True),
        (None, None, 1, 1, True),  # unknown tier: upstream passes it
    ],
)
def test_hardware_tiers(tier, collateral, ram, threads, good) -> None:  # type: ignore[no-untyped-def]
    assert meets_tier(HardwareFacts(tier, collateral, ram, threads)) is good


async def test_hardware_gate() -> None:
    await HardwareGate(Probe(HardwareFacts("basic", 1000, 8, 4))).check()
    message = {"name": "Error", "message": "Node hardware requirements not met"}
    assert await refusal(HardwareGate(Probe(HardwareFacts("basic", 1000, 2, 4)))) == message
    assert await refusal(HardwareGate(Probe(RuntimeError("no daemon")))) == message


async def test_node_dos_gate() -> None:
    await NodeDosGate(Probe(DosState(10, None))).check()
    assert await refusal(NodeDosGate(Probe(DosState(100, "Flux IP detection failed")))) == {
        "code": 100,
        "name": "DOS",
        "message": "Flux IP detection failed",
    }
    assert await refusal(NodeDosGate(Probe(DosState(2, "Peers unreachable")))) == {
        "code": 2,
        "name": "CONNERROR",
        "message": "Peers unreachable",
    }
    assert await refusal(NodeDosGate(Probe(RuntimeError("boom")))) == {
        "message": "Unable to check DOS state"
    }


async def test_apps_dos_gate() -> None:
    await AppsDosGate(Probe(DosState(99, None))).check()
    assert await refusal(AppsDosGate(Probe(DosState(100, "Apps spawn errors")))) == {
        "code": 100,
        "name": "DOS",
        "message": "Apps spawn errors",
    }


async def test_gates_run_in_order_and_name_the_missing_ones(store: IdentityStore) -> None:
    ran: list[str] = []

    class Recording:
        def __init__(self, name: str, fail: bool = False) -> None:
            self.name, self.fail = name, fail

        async def check(self) -> None:
            ran.append(self.name)
            if self.fail:
                raise FluxError(f"{self.name} refused")

    gates = LoginGates(
        database=Recording("database"),
        docker=Recording("docker", fail=True),
        apps_dos=Recording("apps_dos"),
    )
    assert gates.missing() == ["syncthing", "hardware", "node_dos"]
    with pytest.raises(FluxError, match="docker refused"):
        await gates.check()
    assert ran == ["database", "docker"]
    assert LoginGates(database=DatabaseGate(store)).missing() == [
        "syncthing",
        "docker",
        "hardware",
        "node_dos",
        "apps_dos",
    ]
