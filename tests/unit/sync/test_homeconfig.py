"""config.xml: the node's addresses and quiet options are written before Syncthing starts,
and the API key is read back from it."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from fluxos.sync.homeconfig import (
    HomeLayout,
    demote_unsafe_folders,
    listen_addresses,
    read_api_key,
    write_node_settings,
)
from tests.support.syncthing import syncthing_binary


def test_listen_addresses_bind_the_node_address() -> None:
    assert listen_addresses("0.0.0.0", 16129) == ("tcp://:16129", "quic://:16129")
    assert listen_addresses("127.0.0.7", 16139) == (
        "tcp://127.0.0.7:16139",
        "quic://127.0.0.7:16139",
    )


def test_generated_config_gets_the_node_settings(tmp_path: Path) -> None:
    subprocess.run(
        [str(syncthing_binary().path), "generate", f"--home={tmp_path}", "--no-default-folder"],
        check=True,
        capture_output=True,
    )
    generated_key = read_api_key(tmp_path)
    assert generated_key
    layout = HomeLayout("127.0.0.9:8384", listen_addresses("127.0.0.9", 16129))
    assert write_node_settings(tmp_path, layout) == generated_key
    text = (tmp_path / "config.xml").read_text()
    assert "<address>127.0.0.9:8384</address>" in text
    assert "<listenAddress>tcp://127.0.0.9:16129</listenAddress>" in text
    assert "<listenAddress>default</listenAddress>" not in text
    for quiet in (
        "globalAnnounceEnabled",
        "localAnnounceEnabled",
        "natEnabled",
        "relaysEnabled",
        "crashReportingEnabled",
    ):
        assert f"<{quiet}>false</{quiet}>" in text
    assert "<urAccepted>-1</urAccepted>" in text
    assert (tmp_path / "config.xml").stat().st_mode & 0o077 == 0
    # written twice, still one set of listen addresses
    write_node_settings(tmp_path, layout)
    assert (tmp_path / "config.xml").read_text().count("<listenAddress>") == 2


def test_unreadable_config_has_no_key(tmp_path: Path) -> None:
    assert read_api_key(tmp_path) is None
    (tmp_path / "config.xml").write_text("<configuration><gui>")
    assert read_api_key(tmp_path) is None


def test_unsafe_send_receive_folders_start_receive_only(tmp_path: Path) -> None:
    bare = tmp_path / "unmounted"
    bare.mkdir()
    (tmp_path / "config.xml").write_text(
        "<configuration>"
        f'<folder id="fluxdb_gone" path="{bare}" type="sendreceive"></folder>'
        '<folder id="fluxroot" path="/" type="sendreceive"></folder>'
        f'<folder id="fluxro" path="{bare}" type="receiveonly"></folder>'
        "</configuration>"
    )
    assert demote_unsafe_folders(tmp_path) == ["fluxdb_gone"]
    root = ET.parse(tmp_path / "config.xml").getroot()
    types = {f.get("id"): f.get("type") for f in root.findall("folder")}
    assert types == {
        "fluxdb_gone": "receiveonly",
        "fluxroot": "sendreceive",
        "fluxro": "receiveonly",
    }
    assert demote_unsafe_folders(tmp_path / "nowhere") == []
