"""`GET /metrics` on a running node: Prometheus text that promtool accepts, with the
node's figures in it."""

from __future__ import annotations

import shutil
import subprocess

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.system.conftest import SystemNode, succeeds
from tests.support.processes import wait_until

PROMTOOL_MISSING = "promtool is missing: apt-get install -y prometheus"


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _fluxd_height(text: str) -> float:
    heights = _samples(text).get("fluxos_block_height", [])
    return next((value for labels, value in heights if labels["source"] == "fluxd"), 0.0)


def test_metrics_pass_promtool_and_carry_the_node(system_node: SystemNode) -> None:
    node = system_node.node
    promtool = shutil.which("promtool")
    assert promtool, PROMTOOL_MISSING
    # some traffic to count: a cached public route twice, a daemon call, a refused call
    for _ in range(2):
        assert succeeds(node, "/flux/version")
    assert succeeds(node, "/daemon/getblockcount")
    assert node.get("/flux/taildebuglog").json()["status"] == "error"
    wait_until(lambda: succeeds(node, "/daemon/getblockcount"), timeout=30)
    # the node polls fluxd's height every 30 s: the first poll may predate the devnet's blocks
    wait_until(lambda: _fluxd_height(node.get("/metrics").text) > 0, timeout=75, interval=1)

    reply = node.get("/metrics")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=reply.text, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    samples = _samples(reply.text)
    requests = {
        (labels["family"], labels["status"]): value
        for labels, value in samples["fluxos_http_requests_total"]
    }
    assert requests[("flux", "200")] >= 3 and requests[("daemon", "200")] >= 1
    assert any(
        labels["family"] == "flux"
        for labels, _ in samples["fluxos_http_request_duration_seconds_count"]
    )
    cache = {labels["result"]: value for labels, value in samples["fluxos_response_cache_total"]}
    assert cache["hit"] >= 1 and cache["miss"] >= 1
    rpc = [labels for labels, _ in samples["fluxos_rpc_duration_seconds_count"]]
    assert {"daemon": "fluxd", "method": "getblockcount"} in rpc
    peers = {labels["direction"]: value for labels, value in samples["fluxos_peers"]}
    assert peers == {"outbound": 0.0, "inbound": 0.0}
    dropped = {labels["reason"] for labels, _ in samples["fluxos_gossip_dropped_total"]}
    assert dropped >= {"duplicate", "stale", "bad_signature", "unknown_origin", "rate_limited"}
    assert "fluxos_gossip_received_total" in samples and "fluxos_gossip_relayed_total" in samples
    heights = {labels["source"]: value for labels, value in samples["fluxos_block_height"]}
    assert heights["fluxd"] > 0
    states = {
        labels["loop"]: labels["state"]
        for labels, value in samples["fluxos_loop_state"]
        if value == 1
    }
    assert states["explorer"] in ("running", "waiting", "backing off")
    assert "geolocation" in states
    assert "fluxos_apps_running" in samples
