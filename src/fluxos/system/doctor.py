"""`fluxos doctor`: what a running node needs, checked, and said in plain words.

The doctor asks the node over its own API (`/flux/info`, `/daemon/...`, `/flux/clockdrift`)
the way an operator's dashboard would, and looks at the machine for what the API cannot
tell (free disk under the data dir). Each check gives one `Finding`: ok, warn (the node
works but something wants attention) or fail (the node cannot do its job). A failure makes
the command exit non-zero.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import httpx

from fluxos.config import Settings

TIERS = ("CUMULUS", "NIMBUS", "STRATUS")
GIB = 1024**3
DISK_FAIL_BYTES = 2 * GIB
DISK_WARN_BYTES = 20 * GIB
DRIFT_WARN_SECONDS = 1.0
DRIFT_FAIL_SECONDS = 30.0
EXPLORER_WARN_BLOCKS = 10
EXPLORER_FAIL_BLOCKS = 100
SYNC_SLACK_BLOCKS = 2
REQUEST_TIMEOUT = 20.0


class Level(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    check: str
    level: Level
    text: str

    def line(self) -> str:
        return f"{self.level.value:<5} {self.check:<10} {self.text}"


class NodeUnreachable(Exception):
    """The node's API did not answer at all."""


class NodeApi:
    """The node's API as the doctor reads it: the `data` of a success envelope, or the
    error message of any other answer (as a `str` in `DoctorAnswer.problem`)."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url.rstrip("/")

    async def get(self, path: str) -> tuple[Any, str | None]:
        try:
            reply = await self.client.get(self.url + path, timeout=REQUEST_TIMEOUT)
        except httpx.HTTPError as error:
            why = str(error) or type(error).__name__
            raise NodeUnreachable(f"{self.url} does not answer: {why}") from error
        try:
            body = reply.json()
        except ValueError:
            return None, f"{path} answered HTTP {reply.status_code} without JSON"
        if isinstance(body, dict) and body.get("status") == "success":
            return body.get("data"), None
        data = body.get("data") if isinstance(body, dict) else None
        message = data.get("message") if isinstance(data, dict) else None
        return None, str(message or f"{path} answered HTTP {reply.status_code}")


def node_url(settings: Settings) -> str:
    host = settings.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - the wildcard the node listens on
        host = "127.0.0.1"
    return f"http://{host}:{settings.apiport}"


def _errors(info: dict[str, Any]) -> dict[str, str]:
    return {error["part"]: error["message"] for error in info.get("errors", [])}


def check_fluxd(info: dict[str, Any], chain: Any, chain_problem: str | None) -> list[Finding]:
    daemon = info.get("daemon", {}).get("info")
    if not daemon:
        why = _errors(info).get("daemon.info", "no answer")
        return [Finding("fluxd", Level.FAIL, f"not reachable: {why}")]
    blocks = daemon.get("blocks")
    if chain_problem or not isinstance(chain, dict):
        return [
            Finding("fluxd", Level.WARN, f"height {blocks}; sync state unknown: {chain_problem}")
        ]
    headers, height = chain.get("headers", 0), chain.get("blocks", 0)
    if headers - height > SYNC_SLACK_BLOCKS:
        return [
            Finding(
                "fluxd",
                Level.FAIL,
                f"not synced: at height {height} of {headers} ({headers - height} to go)",
            )
        ]
    return [Finding("fluxd", Level.OK, f"reachable, synced at height {height}")]


def check_bench(info: dict[str, Any]) -> list[Finding]:
    bench = info.get("benchmark", {})
    if not bench.get("status"):
        why = _errors(info).get("benchmark.status", "no answer")
        return [Finding("bench", Level.FAIL, f"the benchmark daemon is not reachable: {why}")]
    result = bench.get("bench") or {}
    status = str(result.get("status", ""))
    if status in TIERS:
        assumed = " (assumed, not measured)" if result.get("tier_assumed") else ""
        return [Finding("bench", Level.OK, f"tier {status}{assumed}")]
    if status == "running":
        return [Finding("bench", Level.WARN, "the first benchmark is still running")]
    why = result.get("error") or "no tier"
    return [Finding("bench", Level.FAIL, f"benchmark {status or 'unknown'}: {why}")]


def check_components(info: dict[str, Any]) -> list[Finding]:
    flux = info.get("flux", {})
    errors = _errors(info)
    findings = []
    for check, key, part in (
        ("docker", "dockerVersion", "flux.dockerVersion"),
        ("syncthing", "syncthingVersion", "flux.syncthingVersion"),
    ):
        version = flux.get(key)
        if version:
            findings.append(Finding(check, Level.OK, f"version {version}"))
        else:
            findings.append(Finding(check, Level.FAIL, errors.get(part, "not found")))
    return findings


def check_peers(info: dict[str, Any], settings: Settings, fluxnodes: int | None) -> list[Finding]:
    flux = info.get("flux", {})
    outbound = int(flux.get("numberOfConnectionsOut") or 0)
    inbound = int(flux.get("numberOfConnectionsIn") or 0)
    want_out, want_in = settings.min_outgoing_peers, settings.min_incoming_peers
    text = f"{outbound} out (minimum {want_out}), {inbound} in (minimum {want_in})"
    if outbound >= want_out and inbound >= want_in:
        return [Finding("peers", Level.OK, text)]
    others = None if fluxnodes is None else max(fluxnodes - 1, 0)
    if others is not None and others < max(want_out, want_in):
        # a network smaller than the minimums cannot meet them (a devnet of one node)
        return [Finding("peers", Level.WARN, f"{text}; the network has only {others} other nodes")]
    return [Finding("peers", Level.FAIL, f"too few peers: {text}")]


def check_explorer(info: dict[str, Any]) -> list[Finding]:
    scanned = info.get("flux", {}).get("explorerScannedHeigth")
    daemon = info.get("daemon", {}).get("info") or {}
    if not isinstance(scanned, dict) or "generalScannedHeight" not in scanned:
        why = _errors(info).get("flux.explorerScannedHeigth", "the explorer has not scanned yet")
        return [Finding("explorer", Level.WARN, why)]
    if "blocks" not in daemon:
        return [Finding("explorer", Level.WARN, "lag unknown: fluxd's height is unknown")]
    lag = int(daemon["blocks"]) - int(scanned["generalScannedHeight"])
    text = f"scanned to {scanned['generalScannedHeight']}, {max(lag, 0)} blocks behind fluxd"
    if lag > EXPLORER_FAIL_BLOCKS:
        return [Finding("explorer", Level.FAIL, text)]
    return [Finding("explorer", Level.WARN if lag > EXPLORER_WARN_BLOCKS else Level.OK, text)]


def check_clock(drift: Any, problem: str | None) -> list[Finding]:
    if problem or not isinstance(drift, dict) or drift.get("offset") is None:
        return [Finding("clock", Level.WARN, f"drift unknown: {problem or 'no NTP source'}")]
    offset = abs(float(drift["offset"]))
    text = f"{offset:.3f} s off ({drift.get('source') or 'NTP'})"
    if offset > DRIFT_FAIL_SECONDS:
        return [Finding("clock", Level.FAIL, text)]
    return [Finding("clock", Level.WARN if offset > DRIFT_WARN_SECONDS else Level.OK, text)]


def check_disk(data_dir: Path) -> list[Finding]:
    where = data_dir if data_dir.exists() else data_dir.parent
    try:
        free = shutil.disk_usage(where).free
    except OSError as error:
        return [Finding("disk", Level.FAIL, f"cannot read free space of {where}: {error}")]
    text = f"{free / GIB:.1f} GiB free under {where}"
    if free < DISK_FAIL_BYTES:
        return [Finding("disk", Level.FAIL, text)]
    return [Finding("disk", Level.WARN if free < DISK_WARN_BYTES else Level.OK, text)]


async def check_api_port(
    client: httpx.AsyncClient, info: dict[str, Any], settings: Settings
) -> list[Finding]:
    """The API at the address the node announces to its peers (what a peer dials)."""
    announced = info.get("flux", {}).get("ip")
    if not announced:
        return [Finding("api port", Level.FAIL, "the node does not know its public address")]
    address = announced if ":" in str(announced) else f"{announced}:{settings.apiport}"
    try:
        reply = await client.get(f"http://{address}/flux/version", timeout=REQUEST_TIMEOUT)
    except httpx.HTTPError as error:
        text = f"not reachable at its public address {address}: {error or type(error).__name__}"
        return [Finding("api port", Level.FAIL, text)]
    if reply.status_code != 200:
        return [Finding("api port", Level.FAIL, f"{address} answered HTTP {reply.status_code}")]
    return [Finding("api port", Level.OK, f"reachable at {address}")]


async def examine(settings: Settings, url: str | None = None) -> list[Finding]:
    """Every check against the node at `url` (default: its own address from settings)."""
    findings: list[Finding] = []
    async with httpx.AsyncClient() as client:
        api = NodeApi(client, url or node_url(settings))
        try:
            info, problem = await api.get("/flux/info")
        except NodeUnreachable as error:
            down = Finding("api", Level.FAIL, f"{error}: is the node running?")
            return [down, *check_disk(settings.data_dir)]
        if not isinstance(info, dict):
            return [Finding("api", Level.FAIL, f"/flux/info failed: {problem}")]
        findings.append(Finding("api", Level.OK, f"FluxOS {info['flux'].get('version')} answers"))
        chain, chain_problem = await api.get("/daemon/getblockchaininfo")
        count, _ = await api.get("/daemon/getfluxnodecount")
        drift, drift_problem = await api.get("/flux/clockdrift")
        fluxnodes = count.get("total") if isinstance(count, dict) else None
        findings += check_fluxd(info, chain, chain_problem)
        findings += check_bench(info)
        findings += check_components(info)
        findings += await check_api_port(client, info, settings)
        findings += check_peers(info, settings, fluxnodes)
        findings += check_explorer(info)
        findings += check_clock(drift, drift_problem)
        findings += check_disk(settings.data_dir)
    return findings


def failed(findings: list[Finding]) -> bool:
    return any(finding.level is Level.FAIL for finding in findings)
