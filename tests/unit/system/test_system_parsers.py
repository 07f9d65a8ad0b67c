"""Pure rules of the system package: NTP output, socket addresses, the settings file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from fluxos.clock import ManualClock
from fluxos.configsections import GeolocationSettings
from fluxos.storage.database import Database
from fluxos.storage.nodestate import AREA, NodeState
from fluxos.system.clockdrift import chrony_offset, timesync_offset
from fluxos.system.geolocation import FixedLocation, GeolocationService
from fluxos.system.ownaddress import socket_address
from fluxos.system.settingsfile import SettingsFile


def test_chrony_and_timesyncd_offsets() -> None:
    assert chrony_offset("System time     : 0.000012345 seconds slow of NTP time") == -0.000012345
    assert chrony_offset("System time : 1.5 seconds fast of NTP time") == 1.5
    assert chrony_offset("nothing here") is None
    assert timesync_offset("       Offset: +1.234ms") == pytest.approx(0.001234)
    assert timesync_offset("Offset: -567us") == pytest.approx(-0.000567)
    assert timesync_offset("Offset: 2s") == 2.0
    assert timesync_offset("Jitter: 3ms") is None


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("1.2.3.4", "1.2.3.4:16127"),
        ("1.2.3.4:16137", "1.2.3.4:16137"),
        ("[2001:db8::1]:16127", "[2001:db8::1]:16127"),
        ("2001:db8::1", "[2001:db8::1]:16127"),
        ("not an ip", None),
        ("1.2.3.4:0", None),
        ("", None),
        (None, None),
    ],
)
def test_socket_address(raw: object, address: str | None) -> None:
    assert socket_address(raw) == address


def test_settings_file_keeps_comments_spelling_and_unknown_keys(tmp_path: Path) -> None:
    (tmp_path / "fluxos.toml").write_text(
        "# mine\nblockedPorts = [1]\nrouterIP = 'x'\nrouter_ip = 'y'\n[daemon]\nembedded = false\n"
    )
    SettingsFile(tmp_path).update({"blocked_ports": (2, 3), "router_ip": "", "kadena": None})
    text = (tmp_path / "fluxos.toml").read_text()
    assert text.startswith("# mine")
    document = tomllib.loads(text)
    assert document == {"blockedPorts": [2, 3], "routerIP": "", "daemon": {"embedded": False}}


class _Lookup:
    name = "test"

    def __init__(self, org: str, static: bool) -> None:
        self.org, self.static, self.calls = org, static, 0

    async def locate(self, ip: str) -> dict[str, object]:
        self.calls += 1
        return {"ip": ip, "org": self.org, "static": self.static, "dataCenter": False}


async def test_static_ip_rules(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db'}", [AREA])
    await database.open()
    try:
        clock = ManualClock(1_000_000.0)
        ips = iter(["5.6.7.8", "5.6.7.8", "9.9.9.9"])

        async def own_ip() -> str:
            return next(ips)

        lookup = _Lookup("Hetzner Online GmbH", static=False)
        service = GeolocationService(
            own_ip, [lookup], NodeState(database), clock, ip_on_interface=lambda _ip: False
        )
        assert await service.refresh() > 0
        assert service.static_ip is True and service.data_center is True  # the org list
        await service.refresh()
        assert lookup.calls == 1  # same IP, not the 4th run: no new lookup
        await service.refresh()  # the IP changed
        assert service.static_ip is False and lookup.calls == 2
        assert service.geolocation is not None and service.geolocation["ip"] == "9.9.9.9"
        restored = GeolocationService(own_ip, [lookup], NodeState(database), clock)
        await restored.restore()
        assert restored.geolocation == service.geolocation and restored.static_ip is False
        fixed = await FixedLocation(GeolocationSettings()).locate("127.0.0.1")
        assert fixed["country"] == "Local devnet" and fixed["ip"] == "127.0.0.1"
    finally:
        await database.close()
