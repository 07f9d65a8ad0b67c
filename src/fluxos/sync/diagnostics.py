"""`/syncthing/peer/diagnostics` (files-and-sync.md §1.3): per folder, how the local copy
compares with each peer's, which peers are connected, and what an operator should look
at. Shape follows upstream's; the watchdog (§1.7) reads the same report."""

from __future__ import annotations

from typing import Any

from fluxos.errors import FluxError
from fluxos.sync.metrics import Rest


async def peer_diagnostics(rest: Rest, now_ms: int) -> dict[str, Any]:
    config = await rest.request("get", "/rest/config")
    connections = (await rest.request("get", "/rest/system/connections")).get("connections") or {}
    try:
        local_id = (await rest.request("get", "/rest/system/status")).get("myID") or "unknown"
    except FluxError:
        local_id = "unknown"
    summary: dict[str, Any] = {
        "totalFolders": 0,
        "foldersWithIssues": 0,
        "cannotSyncFolders": [],
        "peersMoreUpdated": [],
        "disconnectedPeers": [],
        "connectedPeers": [],
    }
    devices: dict[str, Any] = {}
    for device in config.get("devices") or []:
        device_id = device.get("deviceID", "")
        if device_id == local_id:
            devices[device_id] = {
                "name": device.get("name") or "Local",
                "isLocal": True,
                "connected": True,
            }
            continue
        info = connections.get(device_id) or {}
        connected = bool(info.get("connected"))
        devices[device_id] = {
            "name": device.get("name") or device_id[:7],
            "isLocal": False,
            "connected": connected,
            "address": info.get("address") or "N/A",
            "clientVersion": info.get("clientVersion") or "N/A",
            "inBytesTotal": info.get("inBytesTotal") or 0,
            "outBytesTotal": info.get("outBytesTotal") or 0,
        }
        summary["connectedPeers" if connected else "disconnectedPeers"].append(device_id)
    folders_config = config.get("folders") or []
    summary["totalFolders"] = len(folders_config)
    folders: dict[str, Any] = {}
    for folder in folders_config:
        folders[folder.get("id", "")] = await _folder(rest, folder, local_id, devices, summary)
    issues: list[dict[str, Any]] = []
    recommendations: list[str] = []
    if summary["disconnectedPeers"]:
        issues.append(
            {
                "severity": "warning",
                "message": f"{len(summary['disconnectedPeers'])} peer(s) disconnected",
                "details": [devices[d]["name"] for d in summary["disconnectedPeers"]],
            }
        )
        recommendations.append("Check network connectivity to disconnected peers")
    if summary["cannotSyncFolders"]:
        issues.append(
            {
                "severity": "critical",
                "message": (
                    f"{len(summary['cannotSyncFolders'])} folder(s) cannot sync with any peer"
                ),
                "details": summary["cannotSyncFolders"],
            }
        )
        recommendations.append("Ensure at least one peer is connected for each folder")
    if summary["peersMoreUpdated"]:
        issues.append(
            {
                "severity": "warning",
                "message": (
                    f"{len(summary['peersMoreUpdated'])} folder(s) have peers with more "
                    "updated data"
                ),
                "details": summary["peersMoreUpdated"],
            }
        )
        recommendations.append(
            "Check for sync conflicts or network issues preventing data reception"
        )
    if not summary["connectedPeers"] and summary["totalFolders"] > 0:
        issues.append(
            {
                "severity": "critical",
                "message": "No peers connected - instance is isolated",
                "details": [],
            }
        )
        recommendations.append("Check firewall settings and network configuration")
    return {
        "timestamp": now_ms,
        "localDeviceId": local_id,
        "summary": summary,
        "folders": folders,
        "devices": devices,
        "issues": issues,
        "recommendations": recommendations,
    }


async def _folder(
    rest: Rest,
    folder: dict[str, Any],
    local_id: str,
    devices: dict[str, Any],
    summary: dict[str, Any],
) -> dict[str, Any]:
    folder_id = folder.get("id", "")
    report: dict[str, Any] = {
        "id": folder_id,
        "label": folder.get("label") or folder_id,
        "type": folder.get("type"),
        "devices": [],
        "localStatus": None,
        "peerStatuses": [],
        "issues": [],
        "canSync": True,
        "peersAreMoreUpdated": False,
    }
    try:
        status = await rest.request("get", "/rest/db/status", params={"folder": folder_id})
        global_bytes = status.get("globalBytes") or 0
        in_sync = status.get("inSyncBytes") or 0
        percentage = in_sync / global_bytes * 100 if global_bytes > 0 else 100
        report["localStatus"] = {
            "globalBytes": global_bytes,
            "inSyncBytes": in_sync,
            "needBytes": status.get("needBytes") or 0,
            "needFiles": status.get("needFiles") or 0,
            "syncPercentage": round(percentage, 2),
            "state": status.get("state") or "unknown",
            "errors": status.get("errors") or 0,
            "pullErrors": status.get("pullErrors") or 0,
            "globalFiles": status.get("globalFiles") or 0,
            "localFiles": status.get("localFiles") or 0,
            "outOfSyncFiles": (status.get("globalFiles") or 0) - (status.get("localFiles") or 0),
        }
        if percentage < 100 and global_bytes > 0:
            report["issues"].append(
                {
                    "type": "incomplete_sync",
                    "message": (
                        f"Local is {percentage:.2f}% synced (missing {status.get('needBytes')} "
                        f"bytes, {status.get('needFiles')} files)"
                    ),
                }
            )
    except FluxError as error:
        report["issues"].append(
            {"type": "status_error", "message": f"Cannot get local status: {error.message}"}
        )
    folder_devices = folder.get("devices") or []
    connected_peer = False
    peer_ahead = False
    local = report["localStatus"]
    for entry in folder_devices:
        device_id = entry.get("deviceID", "")
        if device_id == local_id:
            continue
        info = devices.get(device_id) or {"name": device_id[:7], "connected": False}
        peer: dict[str, Any] = {
            "deviceId": device_id,
            "deviceName": info["name"],
            "connected": info["connected"],
            "completion": None,
            "needBytes": None,
            "needItems": None,
            "globalBytes": None,
        }
        if info["connected"]:
            connected_peer = True
            try:
                completion = await rest.request(
                    "get", "/rest/db/completion", params={"folder": folder_id, "device": device_id}
                )
                peer["completion"] = completion.get("completion") or 0
                peer["needBytes"] = completion.get("needBytes") or 0
                peer["needItems"] = completion.get("needItems") or 0
                peer["globalBytes"] = completion.get("globalBytes") or 0
                if local is not None:
                    ahead = peer["globalBytes"] > local["inSyncBytes"] and (
                        local["syncPercentage"] < 100
                    )
                    peer["hasMoreData"] = ahead
                    peer_ahead = peer_ahead or ahead
            except FluxError as error:
                peer["error"] = error.message
        else:
            peer["error"] = "Device disconnected"
        report["peerStatuses"].append(peer)
    if len(folder_devices) <= 1:
        report["issues"].append(
            {"type": "no_peers", "message": "No remote peers configured for this folder"}
        )
    elif not connected_peer:
        report["canSync"] = False
        report["issues"].append(
            {"type": "no_connection", "message": "Cannot sync: All peers are disconnected"}
        )
        summary["cannotSyncFolders"].append(folder_id)
        summary["foldersWithIssues"] += 1
    elif peer_ahead and local is not None and local["syncPercentage"] < 100:
        report["peersAreMoreUpdated"] = True
        report["issues"].append(
            {
                "type": "peers_more_updated",
                "message": "Connected peers have more updated data than local instance",
            }
        )
        summary["peersMoreUpdated"].append(folder_id)
        summary["foldersWithIssues"] += 1
    return report
