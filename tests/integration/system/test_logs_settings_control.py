"""Log files, settings adjustments and software control over HTTP, with permissions."""

from __future__ import annotations

import tomllib

import httpx
import pytest

from tests.integration.system.conftest import SystemNode, start_system_node, succeeds
from tests.support.processes import wait_until

LOG_NAMES = ("debug", "info", "warn", "error")
ADMIN_ROUTES = (
    "/flux/debuglog",
    "/flux/taildebuglog",
    "/flux/adjustkadena/acc/1",
    "/flux/adjustrouterip/192.168.1.1",
    "/flux/adjustapiport/16137",
    "/flux/restart",
    "/flux/updateflux",
    "/flux/updatedaemon",
    "/flux/rebuildui",
)


def _message(reply: httpx.Response) -> tuple[str, str]:
    body = reply.json()
    return body["status"], body["data"]["message"]


def test_protected_routes_refuse_other_callers(system_node: SystemNode) -> None:
    node = system_node.node
    for path in ADMIN_ROUTES:
        reply = node.get(path).json()
        assert reply["status"] == "error" and reply["data"]["code"] == 401, path
    reply = node.post("/flux/adjustblockedports", json={"blockedPorts": [1]}).json()
    assert reply["data"]["code"] == 401
    # nothing was changed by the refused calls
    assert succeeds(node, "/flux/routerip") == ""


def test_log_downloads_and_tails(system_node: SystemNode) -> None:
    node, headers = system_node.node, system_node.headers
    for name in ("debug", "info"):
        reply = node.get(f"/flux/{name}log", headers=headers)
        assert reply.status_code == 200
        assert reply.headers["content-disposition"] == f'attachment; filename="{name}.log"'
        assert "node started" in reply.text
        status, tail = _message(node.get(f"/flux/tail{name}log", headers=headers))
        assert status == "success" and tail.endswith("\n")
        assert len(tail.splitlines()) <= 100
    # nothing was warned about yet on a clean node, or it was: either way an envelope
    for name in ("warn", "error"):
        reply = node.get(f"/flux/{name}log", headers=headers)
        if reply.headers["content-type"].startswith("application/json"):
            assert reply.json()["status"] == "error"
            assert f"{name}.log not found" in reply.json()["data"]["message"]
            status, message = _message(node.get(f"/flux/tail{name}log", headers=headers))
            assert status == "error" and message.startswith("Error obtaining Flux log file")


def test_adjustments_validate_write_and_apply(system_node: SystemNode) -> None:
    node, headers = system_node.node, system_node.headers
    get = lambda path: _message(node.get(path, headers=headers))  # noqa: E731
    assert get("/flux/adjustkadena") == ("error", "No Kadena Account provided")
    assert get("/flux/adjustkadena/acc") == ("error", "No Kadena Chain ID provided")
    assert get("/flux/adjustkadena/acc/21") == ("error", "Invalid Chain ID 21 provided.")
    assert get("/flux/adjustkadena/acc/x") == ("error", "Invalid Chain ID x provided.")
    assert get("/flux/adjustkadena/k:abc/5") == ("success", "Kadena account adjusted")
    assert succeeds(node, "/flux/kadena") == "kadena:k:abc?chainid=5"  # live, no restart
    assert get("/flux/adjustrouterip?routerip=300.1.1.1")[0] == "error"
    assert "routerip must be empty or an IPv4 address" in get("/flux/adjustrouterip/1.2.3")[1]
    assert get("/flux/adjustrouterip/192.168.0.1") == ("success", "Router IP adjusted")
    assert succeeds(node, "/flux/routerip") == "192.168.0.1"
    assert get("/flux/adjustapiport/16128") == ("error", "API Port not valid")
    assert get("/flux/adjustapiport/16137") == (
        "success",
        "API Port adjusted. A restart of FluxOS is necessary",
    )
    assert succeeds(node, "/flux/apiport") == 16127  # the listener keeps its port

    post = lambda path, **kw: _message(node.post(path, headers=headers, **kw))  # noqa: E731
    assert post("/flux/adjustblockedports") == ("error", "Missing Blocked Ports Information.")
    assert post("/flux/adjustblockedports", json={"blockedPorts": 5}) == (
        "error",
        "Blocked Ports is not a valid array",
    )
    status, message = post("/flux/adjustblockedports", json={"blockedPorts": [0, 70000]})
    assert status == "error" and "between 1 and 65535" in message
    status, message = post("/flux/adjustblockedports", json={"blockedPorts": list(range(1, 102))})
    assert status == "error" and "at most 100" in message
    assert post("/flux/adjustblockedports", json={"blockedPorts": [8080, 9000]}) == (
        "success",
        "User Blocked Ports adjusted",
    )
    assert succeeds(node, "/flux/blockedports") == [8080, 9000]
    assert post("/flux/adjustblockedrepositories", json={"blockedRepositories": [1]}) == (
        "error",
        "Blocked Repositories are invalid",
    )
    assert post("/flux/adjustblockedrepositories", json={"blockedRepositories": "a"}) == (
        "error",
        "Blocked Repositories is not a valid array",
    )
    assert post(
        "/flux/adjustblockedrepositories", json={"blockedRepositories": ["evil/image"]}
    ) == ("success", "User Blocked Repositories adjusted")
    assert succeeds(node, "/flux/blockedrepositories") == ["evil/image"]

    text = (node.data_dir / "fluxos.toml").read_text()
    assert text.startswith("# the operator's own comment survives adjustments")
    document = tomllib.loads(text)
    assert document["kadena"] == "kadena:k:abc?chainid=5"
    assert document["router_ip"] == "192.168.0.1"
    assert document["apiport"] == 16137
    assert document["blocked_ports"] == [8080, 9000]
    assert document["blocked_repositories"] == ["evil/image"]
    assert document["pgpPublicKey"].startswith("-----BEGIN PGP")  # upstream spelling kept
    # put the port back so the restart test below finds the node where it is
    assert get("/flux/adjustapiport/16127")[0] == "success"


def test_software_actions_without_hooks_name_the_hook(system_node: SystemNode) -> None:
    node, headers = system_node.node, system_node.headers
    for path, hook in (
        ("/flux/updateflux", "update_flux"),
        ("/flux/softupdateflux", "soft_update_flux"),
        ("/flux/softupdatefluxinstall", "soft_update_flux_install"),
        ("/flux/hardupdateflux", "hard_update_flux"),
        ("/flux/entermaster", "enter_master"),
        ("/flux/enterdevelopment", "enter_development"),
    ):
        status, message = _message(node.get(path, headers=headers))
        assert status == "error", path
        assert "managed by the package/installer" in message and f"[hooks] {hook}" in message
    # the UI rebuild needs no hook: it installs the latest release, from no source here
    for path in ("/flux/rebuildhome", "/flux/rebuildui"):
        status, message = _message(node.get(path, headers=headers))
        assert status == "error", path
        assert message.startswith("Error rebuilding Flux UI: no UI release source")


def test_daemon_and_bench_updates_restart_the_embedded_children(system_node: SystemNode) -> None:
    node, headers = system_node.node, system_node.headers
    assert _message(node.get("/flux/updatedaemon", headers=headers)) == (
        "success",
        "Daemon successfully updated",
    )
    assert isinstance(succeeds(node, "/daemon/getblockcount"), int)
    assert _message(node.get("/flux/updatebenchmark", headers=headers)) == (
        "success",
        "Benchmark successfully updated",
    )
    assert wait_until(lambda: succeeds(node, "/benchmark/getstatus"), timeout=60)


def test_restart_answers_first_then_restarts_with_the_settings(system_node: SystemNode) -> None:
    node, headers = system_node.node, system_node.headers
    before = succeeds(node, "/flux/uptime")
    assert isinstance(before, int)
    assert node.process is not None
    pid = node.process.pid
    reply = node.get("/flux/restart", headers=headers).json()
    assert reply == {"status": "success", "data": "Restarting FluxOS"}

    probes = iter(range(1_000_000))

    def restarted() -> bool:
        try:  # a fresh query string each time: /flux/uptime answers are cached 30 s
            uptime = succeeds(node, f"/flux/uptime?probe={next(probes)}")
        except httpx.HTTPError:
            return False
        return isinstance(uptime, int) and uptime <= 1

    wait_until(restarted, timeout=120, interval=0.1)
    assert node.process.pid == pid and node.process.poll() is None  # same process, exec'd
    # the adjusted settings were read back from fluxos.toml by the new start
    assert succeeds(node, "/flux/kadena") == "kadena:k:abc?chainid=5"
    assert succeeds(node, "/flux/blockedports") == [8080, 9000]


@pytest.mark.slow
def test_configured_hooks_run_without_a_shell(tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "updated"
    node, admin = start_system_node(
        tmp_path,
        "[hooks]\n"
        f'update_flux = "touch {marker}"\n'
        # a shell would expand this; argv passes it through verbatim
        'soft_update_flux = "false $(touch /tmp/never)"\n',
    )
    try:
        headers = admin.login(node.url)
        assert _message(node.get("/flux/updateflux", headers=headers)) == (
            "success",
            "Flux successfully updated",
        )
        assert marker.exists()
        status, message = _message(node.get("/flux/softupdateflux", headers=headers))
        assert status == "error" and message.startswith("Error soft updating Flux")
    finally:
        node.stop()
