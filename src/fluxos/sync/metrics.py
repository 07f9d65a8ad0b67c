"""`/syncthing/metrics`, `/metrics/health` and `/metrics/history` (files-and-sync.md §1.3):
one live collection over Syncthing's REST API, its summary, and a ring of the last 100
snapshots taken every minute while Syncthing runs. Shapes follow upstream's."""

from __future__ import annotations

from collections import deque
from typing import Any

from fluxos.errors import FluxError
from fluxos.sync.client import SyncthingClient

MAX_SNAPSHOTS = 100
SYNCING_STATES = ("syncing", "sync-preparing")


Rest = SyncthingClient


async def _answer(rest: Rest, path: str, params: dict[str, str] | None = None) -> Any:
    return await rest.request("get", path, params=params)


def _percentage(in_sync: float, global_bytes: float) -> str | int:
    """Upstream: a 2-decimal string, or the number 100 when the folder holds nothing."""
    return f"{in_sync / global_bytes * 100:.2f}" if global_bytes > 0 else 100


async def collect(rest: Rest, now_ms: int) -> dict[str, Any]:
    """A full snapshot; each part that fails records its error instead of failing all."""
    issues: list[str] = []
    overall: dict[str, Any] = {"healthy": True, "syncProgress": 0, "issues": issues}
    metrics: dict[str, Any] = {
        "timestamp": now_ms,
        "health": {"status": "unknown", "error": None},
        "system": {"status": "unknown", "uptime": 0, "cpuPercent": 0, "error": None},
        "connections": {"total": 0, "connected": 0, "devices": {}, "error": None},
        "folders": {"total": 0, "syncing": 0, "idle": 0, "error": 0, "details": {}},
        "stats": {"device": None, "folder": None, "error": None},
        "errors": {"system": [], "folder": {}},
        "overall": overall,
    }
    try:
        health = await _answer(rest, "/rest/noauth/health")
        metrics["health"]["status"] = (health or {}).get("status") or "ok"
    except FluxError as error:
        metrics["health"]["error"] = error.message
        overall["healthy"] = False
        issues.append("Health check failed")
    try:
        status = await _answer(rest, "/rest/system/status")
        metrics["system"] = {
            "status": "ok",
            "uptime": status.get("uptime") or 0,
            "cpuPercent": status.get("cpuPercent") or 0,
            "goroutines": status.get("goroutines") or 0,
            "myID": status.get("myID") or "",
            "pathSeparator": status.get("pathSeparator") or "/",
            "startTime": status.get("startTime") or "",
            "error": None,
        }
    except FluxError as error:
        metrics["system"]["error"] = error.message
        issues.append("System status unavailable")
    try:
        connections = (await _answer(rest, "/rest/system/connections")).get("connections") or {}
        devices = {
            device_id: {
                "connected": bool(info.get("connected")),
                "address": info.get("address") or "",
                "clientVersion": info.get("clientVersion") or "",
                "type": info.get("type") or "",
                "inBytesTotal": info.get("inBytesTotal") or 0,
                "outBytesTotal": info.get("outBytesTotal") or 0,
            }
            for device_id, info in connections.items()
        }
        metrics["connections"] = {
            "total": len(devices),
            "connected": sum(1 for d in devices.values() if d["connected"]),
            "devices": devices,
            "error": None,
        }
    except FluxError as error:
        metrics["connections"]["error"] = error.message
    for kind in ("folder", "device"):
        try:
            metrics["stats"][kind] = await _answer(rest, f"/rest/stats/{kind}")
        except FluxError as error:
            metrics["stats"]["error"] = metrics["stats"]["error"] or error.message
    await _collect_folders(rest, metrics)
    try:
        system_errors = (await _answer(rest, "/rest/system/error")).get("errors") or []
        metrics["errors"]["system"] = system_errors
        if system_errors:
            overall["healthy"] = False
            issues.append(f"{len(system_errors)}")
    except FluxError:
        pass
    return metrics


async def _collect_folders(rest: Rest, metrics: dict[str, Any]) -> None:
    folders_metrics = metrics["folders"]
    overall = metrics["overall"]
    try:
        folders = await _answer(rest, "/rest/config/folders")
    except FluxError as error:
        folders_metrics["error"] = error.message
        overall["issues"].append(f"Failed to collect folder metrics: {error.message}")
        return
    if not isinstance(folders, list):
        return
    folders_metrics["total"] = len(folders)
    total_global = 0
    total_in_sync = 0
    for folder in folders:
        folder_id = folder.get("id", "")
        label = folder.get("label") or folder_id
        try:
            status = await _answer(rest, "/rest/db/status", {"folder": folder_id})
        except FluxError as error:
            folders_metrics["details"][folder_id] = {
                "label": label,
                "state": "unknown",
                "error": error.message,
            }
            continue
        state = status.get("state") or "unknown"
        global_bytes = status.get("globalBytes") or 0
        in_sync = status.get("inSyncBytes") or 0
        pull_errors = status.get("pullErrors") or 0
        errors = status.get("errors") or 0
        folders_metrics["details"][folder_id] = {
            "label": label,
            "state": state,
            "globalBytes": global_bytes,
            "inSyncBytes": in_sync,
            "needBytes": status.get("needBytes") or 0,
            "pullErrors": pull_errors,
            "errors": errors,
            "syncPercentage": _percentage(in_sync, global_bytes),
        }
        total_global += global_bytes
        total_in_sync += in_sync
        if state in SYNCING_STATES:
            folders_metrics["syncing"] += 1
        elif state == "idle":
            folders_metrics["idle"] += 1
        elif state == "error":
            folders_metrics["error"] += 1
            overall["issues"].append(f"Folder {label} in error state")
        if errors or pull_errors:
            metrics["errors"]["folder"][folder_id] = {"pullErrors": pull_errors, "errors": errors}
            overall["issues"].append(f"Folder {label} has {errors + pull_errors} error(s)")
    overall["syncProgress"] = (
        round(total_in_sync / total_global * 100, 2) if total_global > 0 else 100
    )
    if folders_metrics["error"]:
        overall["healthy"] = False


def summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """`/syncthing/metrics/health`: the headline figures of one collection."""
    return {
        "timestamp": metrics["timestamp"],
        "healthy": metrics["overall"]["healthy"],
        "syncProgress": metrics["overall"]["syncProgress"],
        "issues": metrics["overall"]["issues"],
        "health": dict(metrics["health"]),
        "system": {"uptime": metrics["system"]["uptime"], "status": metrics["system"]["status"]},
        "connections": {
            "connected": metrics["connections"]["connected"],
            "total": metrics["connections"]["total"],
        },
        "folders": {key: metrics["folders"][key] for key in ("total", "syncing", "idle", "error")},
        "errors": {
            "systemErrors": len(metrics["errors"]["system"]),
            "folderErrors": len(metrics["errors"]["folder"]),
        },
    }


class MetricsHistory:
    """The last MAX_SNAPSHOTS collections, oldest first."""

    def __init__(self, size: int = MAX_SNAPSHOTS) -> None:
        self.size = size
        self._snapshots: deque[dict[str, Any]] = deque(maxlen=size)

    def add(self, snapshot: dict[str, Any]) -> None:
        self._snapshots.append(snapshot)

    def view(self, limit: int | None) -> dict[str, Any]:
        snapshots = list(self._snapshots)
        if limit is not None:
            snapshots = snapshots[-limit:] if limit > 0 else []
        return {"snapshots": snapshots, "count": len(snapshots), "maxSnapshots": self.size}
