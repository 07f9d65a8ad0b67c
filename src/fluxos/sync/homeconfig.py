"""Syncthing's `config.xml` in the node's Syncthing home: the API key the node reads, and
the settings written before Syncthing starts (Syncthing owns the file while it runs).

Written before the first start, so a fresh Syncthing never reaches out: no global or
local announcements, no NAT traversal, no relays, no STUN, no usage or crash reports,
no upgrade checks. Flux peers are addressed directly (`tcp://ip:port+2`) by the node;
upstream leaves relays, STUN and crash reports at Syncthing's defaults.
"""

from __future__ import annotations

import logging
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from fluxos.sync import volumes

log = logging.getLogger(__name__)

CONFIG_FILE = "config.xml"


@dataclass(frozen=True)
class HomeLayout:
    """The node's addresses for its Syncthing."""

    gui_address: str  # host:port, loopback
    listen_addresses: tuple[str, ...]  # tcp://host:port+2, quic://host:port+2

    def options(self) -> dict[str, object]:
        """The options the node keeps in force (§1.2), as REST `config/options` keys."""
        return {
            "globalAnnounceEnabled": False,
            "localAnnounceEnabled": False,
            "natEnabled": False,
            "listenAddresses": list(self.listen_addresses),
        }


# REST option key → config.xml element, for the settings written before the first start
_QUIET_OPTIONS = {
    "globalAnnounceEnabled": "false",
    "localAnnounceEnabled": "false",
    "natEnabled": "false",
    "relaysEnabled": "false",
    "startBrowser": "false",
    "urAccepted": "-1",
    "autoUpgradeIntervalH": "0",
    "crashReportingEnabled": "false",
    "stunKeepaliveStartS": "0",
}


def listen_addresses(host: str, port: int) -> tuple[str, ...]:
    """`tcp://:P` on a wildcard node address (upstream), else bound to the node's address
    (several nodes on one machine each have their own loopback address)."""
    bound = "" if host in ("", "0.0.0.0", "::") else (f"[{host}]" if ":" in host else host)  # noqa: S104
    return (f"tcp://{bound}:{port}", f"quic://{bound}:{port}")


def read_api_key(home: Path) -> str | None:
    """`configuration.gui.apikey` from config.xml, or None when it cannot be read."""
    try:
        root = ET.parse(home / CONFIG_FILE).getroot()  # noqa: S314 - our own file
    except (OSError, ET.ParseError):
        return None
    key = root.findtext("gui/apikey")
    return key.strip() if key and key.strip() else None


def read_gui_address(home: Path) -> str | None:
    try:
        root = ET.parse(home / CONFIG_FILE).getroot()  # noqa: S314
    except (OSError, ET.ParseError):
        return None
    address = root.findtext("gui/address")
    return address.strip() if address else None


def write_node_settings(home: Path, layout: HomeLayout) -> str:
    """Put the node's GUI address, API key, listen addresses and quiet options into
    config.xml (made by `syncthing generate`); returns the API key."""
    path = home / CONFIG_FILE
    tree = ET.parse(path)  # noqa: S314
    root = tree.getroot()
    gui = _child(root, "gui")
    gui.set("enabled", "true")
    gui.set("tls", "false")
    _child(gui, "address").text = layout.gui_address
    apikey = _child(gui, "apikey")
    if not (apikey.text or "").strip():
        apikey.text = secrets.token_urlsafe(24)
    options = _child(root, "options")
    for element in options.findall("listenAddress"):
        options.remove(element)
    for position, address in enumerate(layout.listen_addresses):
        element = ET.Element("listenAddress")
        element.text = address
        element.tail = "\n        "
        options.insert(position, element)
    for name, value in _QUIET_OPTIONS.items():
        _child(options, name).text = value
    for folder in root.findall("folder"):
        if folder.get("id") == "default":
            root.remove(folder)
    tmp = path.with_suffix(".xml.tmp")
    tree.write(tmp, encoding="utf-8", xml_declaration=False)
    tmp.chmod(0o600)
    tmp.replace(path)
    return str(apikey.text).strip()


def _child(parent: ET.Element, tag: str) -> ET.Element:
    element = parent.find(tag)
    if element is None:
        element = ET.SubElement(parent, tag)
    return element


def demote_unsafe_folders(home: Path) -> list[str]:
    """Before Syncthing starts: every send-receive folder whose volume is unmounted or holds
    no data is set receive-only in config.xml, so the first scan after a reboot cannot
    broadcast the deletions of an emptied or missing volume (upstream #1761). The monitor
    pass promotes it again once its copy is verified. Returns the folder ids demoted."""
    path = home / CONFIG_FILE
    try:
        tree = ET.parse(path)  # noqa: S314 - our own file
    except (OSError, ET.ParseError):
        return []
    points = volumes.mount_points()
    demoted = []
    for folder in tree.getroot().findall("folder"):
        if folder.get("type") != "sendreceive":
            continue
        safety = volumes.inspect(Path(folder.get("path") or "/nonexistent"), points)
        if safety.mounted and safety.has_data:
            continue
        folder.set("type", "receiveonly")
        demoted.append(folder.get("id") or "?")
        log.warning(
            "Syncthing folder %s set receive-only before Syncthing starts: %s",
            folder.get("id"),
            safety.reason,
        )
    if demoted:
        tmp = path.with_suffix(".xml.tmp")
        tree.write(tmp, encoding="utf-8", xml_declaration=False)
        tmp.chmod(0o600)
        tmp.replace(path)
    return demoted
