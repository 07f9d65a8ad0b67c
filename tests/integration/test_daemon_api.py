"""Every /daemon and /benchmark route over real HTTP: a node using a real devnet (through
its flux.conf) and a real bench, called anonymously and as the logged-in admin."""

from __future__ import annotations

import json
import signal
from typing import Any

import httpx
import pytest

from tests.integration.conftest import DaemonStack
from tests.integration.daemon_sweep import (
    Request,
    chain_values,
    expected_error,
    requests_for,
    sweep_routes,
)
from tests.support.processes import wait_until

UNAUTHORIZED = {"code": 401, "name": "Unauthorized", "message": "Unauthorized. Access denied."}
NOT_MANAGED = "is not managed by this node"
FORM = "application/x-www-form-urlencoded"


def send(stack: DaemonStack, request: Request, headers: dict[str, str]) -> httpx.Response:
    if request.method == "GET":
        return stack.node.get(request.path, headers=headers)
    return stack.node.post(request.path, json=request.body, headers=headers)


def problem(reply: httpx.Response, base: str) -> str | None:
    """Why `reply` is not success or the fluxd error the route declares; None when it is."""
    if reply.status_code != 200:
        return f"HTTP {reply.status_code}: {reply.text[:200]}"
    if "Traceback" in reply.text:
        return "a traceback reached the client"
    try:
        body = reply.json()
    except ValueError:
        return f"not JSON: {reply.text[:200]}"
    if body.get("status") == "success":
        return None
    data = body.get("data") or {}
    code, message = data.get("code"), str(data.get("message", ""))
    if isinstance(code, int) and code < 0 and expected_error(base, code, message):
        return None  # fluxd's (or fluxbenchd's) own error for these values, as declared
    if NOT_MANAGED in message:
        return None  # process control of a fluxd this node does not run
    return f"unexpected error {json.dumps(data)[:300]}"


def test_every_route_in_every_form(daemon_stack: DaemonStack) -> None:
    values = chain_values(daemon_stack.devnet, daemon_stack.tmp)
    failures: list[str] = []
    calls = 0
    for row in sweep_routes():
        public = row.permission.value == "public"
        for request in requests_for(row, values):
            anonymous = send(daemon_stack, request, {})
            as_admin = send(daemon_stack, request, daemon_stack.admin_headers)
            calls += 2
            if public:
                reason = problem(anonymous, row.base)
                if reason:
                    failures.append(f"{request} anonymous: {reason}")
            elif anonymous.json() != {"status": "error", "data": UNAUTHORIZED}:
                failures.append(f"{request} anonymous was not refused: {anonymous.text[:200]}")
            reason = problem(as_admin, row.base)
            if reason:
                failures.append(f"{request} admin: {reason}")
    assert failures == []
    assert calls > 500


def test_path_query_and_body_forms_agree(daemon_stack: DaemonStack) -> None:
    devnet = daemon_stack.devnet
    height = devnet.rpc("getblockcount") - 3
    block_hash = devnet.rpc("getblockhash", height)
    txid = devnet.rpc("getblock", block_hash, 1)["tx"][0]
    pairs = [
        (f"/daemon/getblock/{height}/1", f"/daemon/getblock?hashheight={height}&verbosity=1"),
        (f"/daemon/getblockhash/{height}", f"/daemon/getblockhash?index={height}"),
        (f"/daemon/getrawtransaction/{txid}/1", f"/daemon/getrawtransaction?txid={txid}&verbose=1"),
    ]
    for path_form, query_form in pairs:
        by_path = daemon_stack.node.get(path_form).json()
        assert by_path["status"] == "success", by_path
        assert by_path == daemon_stack.node.get(query_form).json()
    block = daemon_stack.node.get(f"/daemon/getblock/{block_hash}/1").json()["data"]
    assert (block["hash"], block["height"]) == (block_hash, height)
    script = "76a914" + "11" * 20 + "88ac"
    decoded = daemon_stack.node.get(f"/daemon/decodescript/{script}").json()
    for body in (
        {"json": {"hex": script}},
        {"content": json.dumps({"hex": script}), "headers": {"content-type": "text/plain"}},
        {"content": f"hex={script}", "headers": {"content-type": FORM}},
    ):
        assert daemon_stack.node.post("/daemon/decodescript", **body).json() == decoded


def test_admin_fields_never_leak_through_a_cache(daemon_stack: DaemonStack) -> None:
    admin = daemon_stack.admin_headers
    address = daemon_stack.devnet.rpc("getnewaddress")
    for url, hidden in (
        ("/daemon/getinfo", "balance"),
        (f"/daemon/validateaddress/{address}", "ismine"),
    ):
        anonymous_first = daemon_stack.node.get(url).json()["data"]
        admin_after = daemon_stack.node.get(url, headers=admin).json()["data"]
        anonymous_again = daemon_stack.node.get(url).json()["data"]
        assert hidden not in anonymous_first and hidden not in anonymous_again
        assert hidden in admin_after
        # and the other way round, on a URL no one asked for yet
        fresh = url + "?fresh=1"
        assert hidden in daemon_stack.node.get(fresh, headers=admin).json()["data"]
        assert hidden not in daemon_stack.node.get(fresh).json()["data"]
    assert (
        daemon_stack.node.get(f"/daemon/validateaddress/{address}", headers=admin).json()["data"][
            "ismine"
        ]
        is True
    )


def test_list_limit_and_filter(daemon_stack: DaemonStack) -> None:
    full = daemon_stack.node.get("/daemon/viewdeterministicfluxnodelist").json()["data"]
    assert len(full) == daemon_stack.devnet.nodes == 2
    limited = daemon_stack.node.get("/daemon/listfluxnodes?limit=1").json()["data"]
    assert limited == full[:1]
    ip = full[1]["ip"].split(":")[0]
    filtered = daemon_stack.node.get(f"/daemon/listzelnodes/{ip}").json()["data"]
    assert [entry["ip"] for entry in filtered] == [full[1]["ip"]]


def test_default_expiry_is_the_tip_plus_20(daemon_stack: DaemonStack) -> None:
    devnet = daemon_stack.devnet
    address = devnet.rpc("getnewaddress")
    utxo = devnet.rpc("listunspent", 1, 9999999, [])[0]
    inputs = json.dumps([{"txid": utxo["txid"], "vout": utxo["vout"]}])
    outputs = json.dumps({address: 0.25})
    reply = daemon_stack.node.post(
        "/daemon/createrawtransaction", json={"transactions": inputs, "addresses": outputs}
    ).json()
    assert reply["status"] == "success", reply
    decoded = devnet.rpc("decoderawtransaction", reply["data"])
    assert decoded["expiryheight"] == devnet.rpc("getblockcount") + 20
    assert decoded["vout"][0]["scriptPubKey"]["addresses"] == [address]


def test_daemon_errors_pass_through(daemon_stack: DaemonStack) -> None:
    out_of_range = daemon_stack.node.get("/daemon/getblock/99999999").json()
    assert out_of_range["status"] == "error"
    assert out_of_range["data"]["code"] == -8
    usage = daemon_stack.node.get("/daemon/getblock").json()["data"]
    assert usage["code"] == -1 and usage["message"].startswith("getblock")
    bad_value = daemon_stack.node.get("/daemon/getblockheader/00/maybe").json()["data"]
    assert bad_value["message"] == "verbose must be true or false (or 1 or 0), got 'maybe'"


def test_benchmarks_are_stored(daemon_stack: DaemonStack) -> None:
    wait_until(
        lambda: daemon_stack.bench.rpc("getbenchmarks").get("status") == "CUMULUS", timeout=60
    )
    live = daemon_stack.node.get("/benchmark/getbenchmarks?refresh=1").json()
    assert live["data"]["status"] == "CUMULUS"
    stored = daemon_stack.node.get("/benchmark/getstoredbenchmark?after=1").json()
    assert stored["status"] == "success"
    assert stored["data"]["tier"] == "CUMULUS"
    assert stored["data"]["benchmark"]["cores"] == live["data"]["cores"]
    status = daemon_stack.node.get("/benchmark/getstatus").json()["data"]
    assert status["status"] == "online"


@pytest.mark.parametrize("target", ["fluxd", "fluxbench"])
def test_stopped_and_restarted_under_a_running_node(daemon_stack: DaemonStack, target: str) -> None:
    """The admin stops the daemon through the API; the node keeps serving and says the
    daemon is down; once the daemon is back, the node uses it again."""
    node, admin = daemon_stack.node, daemon_stack.admin_headers
    daemon: Any = daemon_stack.devnet if target == "fluxd" else daemon_stack.bench
    stop_path, probe = (
        # getfluxnodestatus is never answered from the RPC cache (getblockcount would be,
        # for up to 20 s after fluxd went away)
        ("/daemon/stop", "/daemon/getfluxnodestatus?probe={}")
        if target == "fluxd"
        else ("/benchmark/stop", "/benchmark/getinfo?probe={}")
    )
    assert node.get(stop_path).json()["data"] == UNAUTHORIZED
    stopped = node.get(stop_path, headers=admin).json()
    assert stopped["status"] == "success", stopped
    daemon.process.wait(timeout=30)
    down = node.get(probe.format("down")).json()
    assert down["status"] == "error"
    assert down["data"]["code"] == "ECONNREFUSED"
    assert down["data"]["message"].startswith(f"{target} is not reachable at {daemon.url}")
    assert node.get("/flux/version").json()["status"] == "success"
    daemon.start()
    back = wait_until(
        lambda: node.get(probe.format("back")).json()["status"] == "success", timeout=30
    )
    assert back
    if target == "fluxd":
        daemon.process.send_signal(signal.SIGKILL)  # a crash, not a clean stop
        daemon.process.wait()
        assert node.get(probe.format("crashed")).json()["status"] == "error"
        daemon.start()
        wait_until(lambda: node.get(probe.format("again")).json()["status"] == "success")
