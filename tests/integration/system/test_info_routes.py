"""The node's informational routes over HTTP on a running embedded-devnet node."""

from __future__ import annotations

import subprocess
from pathlib import Path

import fluxos
from tests.integration.system.conftest import SystemNode, succeeds
from tests.support.processes import wait_until

REPO = Path(__file__).resolve().parents[3]


def test_info_has_every_part_and_names_the_failing_ones(system_node: SystemNode) -> None:
    node = system_node.node
    info = wait_until(
        lambda: (data := succeeds(node, "/flux/info")) and data["benchmark"]["bench"] and data,
        timeout=240,  # the bench measures first; a loaded machine takes a while
        interval=1,
    )
    assert set(info) >= {
        "daemon",
        "node",
        "benchmark",
        "flux",
        "apps",
        "geolocation",
        "appsHashesTotal",
        "hashesPresent",
    }
    assert info["daemon"]["info"]["blocks"] > 0 and "balance" not in info["daemon"]["info"]
    assert info["daemon"]["zmqEnabled"] is False
    assert info["node"]["status"]["status"] in ("CONFIRMED", "STARTED", "EXPIRED")
    assert info["benchmark"]["status"]["status"]
    flux = info["flux"]
    assert flux["version"] == "8.17.0"
    assert flux["nodeJsVersion"] == flux["pythonVersion"] and flux["pythonVersion"].startswith("3.")
    assert flux["mongoDbVersion"].startswith("SQLite ")
    assert flux["os"] and flux["osPrettyName"]
    assert flux["zelid"] == system_node.admin.zelid
    assert flux["ip"] == "127.0.0.1:16127"  # the bench reports the configured address
    assert flux["dos"] == {"dosState": 0, "dosMessage": None}
    assert flux["numberOfConnectionsOut"] == 0 and flux["numberOfConnectionsIn"] == 0
    assert (
        flux["explorerScannedHeigth"] is None
        or "generalScannedHeight" in (flux["explorerScannedHeigth"])
    )
    # what this node does not run yet is null and named, never a whole-reply error
    parts = {error["part"]: error["message"] for error in info.get("errors", [])}
    assert info["apps"]["runningapps"] is None and "apps.runningapps" in parts
    assert "apps runtime" in parts["apps.runningapps"]
    for part, message in parts.items():
        assert message, part
    if flux["dockerVersion"] is None:
        assert "Docker" in parts["flux.dockerVersion"]
    if flux["syncthingVersion"] is None:
        assert "Syncthing" in parts["flux.syncthingVersion"]


def test_ip_geolocation_and_static_ip_on_a_devnet(system_node: SystemNode) -> None:
    node = system_node.node
    assert wait_until(lambda: succeeds(node, "/flux/ip"), timeout=60) == "127.0.0.1:16127"
    # a devnet asks no internet service: it reports its configured location
    location = wait_until(lambda: succeeds(node, "/flux/geolocation"), timeout=60)
    assert location["ip"] == "127.0.0.1"
    assert location["country"] == "Local devnet" and location["static"] is True
    assert isinstance(succeeds(node, "/flux/staticip"), bool)


def test_pgp_clockdrift_and_source(system_node: SystemNode) -> None:
    node = system_node.node
    assert succeeds(node, "/flux/pgp") == "-----BEGIN PGP PUBLIC KEY BLOCK-----"
    drift = succeeds(node, "/flux/clockdrift")
    assert drift["source"] in ("chrony", "timesyncd", "none")
    assert drift["offset"] is None or isinstance(drift["offset"], float)
    assert isinstance(drift["time"], int) and drift["time"] > 1_700_000_000
    branch = succeeds(node, "/flux/currentbranch")
    commit = succeeds(node, "/flux/currentcommitid")
    git = ["git", "-C", str(REPO)]
    expected_commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if expected_commit:  # run from a checkout: its branch and commit
        expected_branch = subprocess.run(
            [*git, "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        assert commit == expected_commit
        assert branch == (expected_branch if expected_branch != "HEAD" else fluxos.__version__)
    else:
        assert branch == commit


def test_chain_streaming_is_not_available_on_the_devnet(system_node: SystemNode) -> None:
    prep = system_node.node.get("/flux/streamchainpreparation")
    assert prep.status_code == 422
    assert prep.text == "Chain streaming is not available on the embedded devnet."
    stream = system_node.node.post("/flux/streamchain", json={})
    assert stream.status_code == 422 and "embedded devnet" in stream.text
