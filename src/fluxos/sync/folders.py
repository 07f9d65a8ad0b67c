"""The Syncthing folders and devices the node wants for its synced apps
(files-and-sync.md §1.5), and what must change in Syncthing's configuration to get them.

Pure: inputs are the wanted folders and Syncthing's current `config/folders` and
`config/devices` answers; the output is the list of REST writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEND_RECEIVE = "sendreceive"
RECEIVE_ONLY = "receiveonly"
RESCAN_SECONDS = 900


@dataclass(frozen=True)
class Peer:
    """A node that shares a folder with us: its API address and Syncthing device id."""

    address: str  # ip:port of its API
    device_id: str

    def device(self) -> dict[str, Any]:
        host, _, port = self.address.rpartition(":")
        listen = int(port) + 2
        return {
            "deviceID": self.device_id,
            "name": self.address,
            "addresses": [f"tcp://{host}:{listen}", f"quic://{host}:{listen}"],
            # every node configures its folders itself: a folder a peer offers is never
            # accepted on its own (upstream auto-accepts, which would create folders
            # outside any mounted volume)
            "autoAcceptFolders": False,
        }


@dataclass(frozen=True)
class WantedFolder:
    folder_id: str
    path: str
    folder_type: str
    peers: tuple[Peer, ...]

    def config(self, own_device: str) -> dict[str, Any]:
        devices = [{"deviceID": own_device}] + [{"deviceID": p.device_id} for p in self.peers]
        return {
            "id": self.folder_id,
            "label": self.folder_id,
            "path": self.path,
            "type": self.folder_type,
            "devices": devices,
            "paused": False,
            "rescanIntervalS": RESCAN_SECONDS,
            "maxConflicts": 0,
        }


@dataclass
class ConfigChanges:
    """REST writes that bring Syncthing's configuration to the wanted one."""

    put_devices: list[dict[str, Any]] = field(default_factory=list)
    put_folders: list[dict[str, Any]] = field(default_factory=list)
    delete_folders: list[str] = field(default_factory=list)
    delete_devices: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # folder id → why rewritten

    def empty(self) -> bool:
        return not (
            self.put_devices or self.put_folders or self.delete_folders or self.delete_devices
        )


def _device_ids(folder: dict[str, Any]) -> set[str]:
    return {d.get("deviceID", "") for d in folder.get("devices") or []}


def folder_difference(current: dict[str, Any] | None, wanted: dict[str, Any]) -> str | None:
    """Why the current folder must be rewritten, None when it is as wanted."""
    if current is None:
        return "new folder"
    if current.get("paused"):
        return "folder was paused"
    if current.get("maxConflicts") != 0:
        return f"maxConflicts is {current.get('maxConflicts')}, not 0"
    if current.get("type") != wanted["type"]:
        return f"type {current.get('type')} → {wanted['type']}"
    if current.get("path", "").rstrip("/") != wanted["path"].rstrip("/"):
        return f"path {current.get('path')} → {wanted['path']}"
    if _device_ids(current) != _device_ids(wanted):
        return "the set of nodes running the app changed"
    return None


def plan(
    own_device: str,
    wanted: list[WantedFolder],
    current_folders: list[dict[str, Any]],
    current_devices: list[dict[str, Any]],
) -> ConfigChanges:
    """Folders to (re)write or delete and devices to add or delete. Folders not wanted
    are deleted from Syncthing's configuration only (their data stays on disk)."""
    changes = ConfigChanges()
    by_id = {f.get("id"): f for f in current_folders}
    for folder in wanted:
        config = folder.config(own_device)
        reason = folder_difference(by_id.get(folder.folder_id), config)
        if reason is not None:
            changes.put_folders.append(config)
            changes.reasons[folder.folder_id] = reason
    wanted_ids = {f.folder_id for f in wanted}
    changes.delete_folders = sorted(
        str(f.get("id")) for f in current_folders if f.get("id") not in wanted_ids
    )
    known = {d.get("deviceID"): d for d in current_devices}
    peers: dict[str, Peer] = {}
    for folder in wanted:
        for peer in folder.peers:
            peers.setdefault(peer.device_id, peer)
    changes.put_devices = [
        p.device()
        for d, p in sorted(peers.items())
        if d not in known or known[d].get("addresses") != p.device()["addresses"]
    ]
    changes.delete_devices = sorted(
        str(d.get("deviceID"))
        for d in current_devices
        if d.get("deviceID") not in peers and d.get("deviceID") != own_device
    )
    return changes
