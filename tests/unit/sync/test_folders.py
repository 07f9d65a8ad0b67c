"""Which Syncthing folders and devices the node writes for its synced apps."""

from __future__ import annotations

from fluxos.sync.apps import SyncMode, app_identifier, sync_mode
from fluxos.sync.folders import RECEIVE_ONLY, SEND_RECEIVE, Peer, WantedFolder, plan

OWN = "OWN-DEVICE"
PEER = Peer("10.0.0.7:16137", "PEER-DEVICE")


def wanted(folder_type: str = RECEIVE_ONLY, peers: tuple[Peer, ...] = (PEER,)) -> WantedFolder:
    return WantedFolder("fluxdb_wiki", "/apps/fluxdb_wiki", folder_type, peers)


def test_sync_mode_reads_only_the_primary_mount_flags() -> None:
    assert sync_mode("g:/data") is SyncMode.PRIMARY
    assert sync_mode("rs:/data|m:logs:/logs") is SyncMode.REPLICATED
    assert sync_mode("s:/data") is SyncMode.SHARED
    assert sync_mode("/data|g:/other") is None
    assert sync_mode("0:/data") is None and sync_mode("x:/data") is None


def test_app_identifier_follows_upstream() -> None:
    assert app_identifier("wiki", "db") == "fluxdb_wiki"
    assert app_identifier("wiki") == "fluxwiki"
    assert app_identifier("zelwiki") == "zelwiki"
    assert app_identifier("KadenaChainWebNode") == "zelKadenaChainWebNode"


def test_a_new_folder_and_its_peer_device_are_written() -> None:
    changes = plan(OWN, [wanted()], [], [{"deviceID": OWN}])
    [folder] = changes.put_folders
    assert folder["devices"] == [{"deviceID": OWN}, {"deviceID": "PEER-DEVICE"}]
    assert folder["type"] == RECEIVE_ONLY and folder["maxConflicts"] == 0
    [device] = changes.put_devices
    # the peer's Syncthing listens on its API port + 2
    assert device["addresses"] == ["tcp://10.0.0.7:16139", "quic://10.0.0.7:16139"]
    assert device["autoAcceptFolders"] is False
    assert changes.reasons == {"fluxdb_wiki": "new folder"}


def test_an_unchanged_folder_is_left_alone_and_changes_are_named() -> None:
    current = wanted().config(OWN)
    devices = [{"deviceID": OWN}, PEER.device()]
    assert plan(OWN, [wanted()], [current], devices).empty()
    promoted = plan(OWN, [wanted(SEND_RECEIVE)], [current], devices)
    assert promoted.reasons["fluxdb_wiki"] == "type receiveonly → sendreceive"
    moved = plan(OWN, [wanted(peers=())], [current], devices)
    assert moved.reasons["fluxdb_wiki"] == "the set of nodes running the app changed"
    assert moved.delete_devices == ["PEER-DEVICE"]
    paused = plan(OWN, [wanted()], [{**current, "paused": True}], devices)
    assert paused.reasons["fluxdb_wiki"] == "folder was paused"


def test_folders_of_removed_apps_go_and_the_own_device_stays() -> None:
    current = [wanted().config(OWN), {"id": "fluxold_gone", "devices": []}]
    changes = plan(OWN, [wanted()], current, [{"deviceID": OWN}, PEER.device()])
    assert changes.delete_folders == ["fluxold_gone"]
    assert changes.delete_devices == []
