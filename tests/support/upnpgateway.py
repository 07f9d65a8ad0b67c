"""A real UPnP Internet gateway for tests: Debian's miniupnpd in a network namespace.

    with UpnpGateway() as gateway:          # needs root (ip netns, nft)
        gateway.url                         # http://10.213.N.1:<port>/rootDesc.xml
        gateway.node_ip                     # this machine's address on the gateway's LAN
        gateway.mappings()                  # read with `upnpc -l`, from outside fluxos

The namespace is the gateway: a veth pair joins it to this machine (LAN 10.213.N.0/24,
the gateway .1, this machine .2), and a second veth pair inside it, with no way out, is
its WAN. miniupnpd refuses to serve with a private WAN address, so the WAN interface
carries `WAN_IP`; no packet is ever sent to it or leaves the namespace. The firewall
tables miniupnpd writes its rules into are made with nft inside the namespace, so the
machine's own firewall is untouched. Everything is removed on exit.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import uuid
from pathlib import Path
from types import TracebackType

import httpx
import pytest

from tests.support.processes import end_process, wait_until

WAN_IP = "203.0.114.10"  # the gateway's external address, inside the namespace only
HTTP_PORT = 5555
TOOLS = ("ip", "nft", "miniupnpd", "upnpc")
SBIN = "/usr/sbin:/sbin"

RULESET = """
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
"""


def _which(tool: str) -> str | None:
    return shutil.which(tool, path=f"{os.environ.get('PATH', '')}:{SBIN}")


def require_gateway_tools() -> None:
    """Skip for a user who is not root (namespaces need it); fail with the fix when a
    tool is missing (`make test` installs them, see setup/packages)."""
    if os.geteuid() != 0:
        pytest.skip("the UPnP gateway runs in a network namespace: run the tests as root")
    missing = [tool for tool in TOOLS if _which(tool) is None]
    if missing:
        raise RuntimeError(
            f"missing {', '.join(missing)}: apt-get install miniupnpd miniupnpc iproute2"
            " nftables (`make test` does, see setup/packages)"
        )


def _run(*argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        list(argv), input=stdin, capture_output=True, text=True, timeout=30, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr or result.stdout}")
    return result.stdout


def _free_subnet() -> int:
    used = _run("ip", "-4", "-o", "addr", "show")
    for _ in range(50):
        candidate = random.randint(1, 254)
        if f" 10.213.{candidate}." not in used:
            return candidate
    raise RuntimeError("no free 10.213.N.0/24 test subnet")


class UpnpGateway:
    def __init__(self, work_dir: Path) -> None:
        require_gateway_tools()
        self.work_dir = work_dir
        tag = uuid.uuid4().hex[:6]
        self.namespace = f"fluxgw-{tag}"
        self.host_link, self.gateway_link = f"fgh{tag}", f"fgg{tag}"
        subnet = _free_subnet()
        self.gateway_ip = f"10.213.{subnet}.1"
        self.node_ip = f"10.213.{subnet}.2"
        self.url = f"http://{self.gateway_ip}:{HTTP_PORT}/rootDesc.xml"
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = work_dir / "miniupnpd.log"

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.namespace]

    def in_namespace(self, *argv: str, stdin: str | None = None) -> str:
        return _run(*self.exec_prefix(), *argv, stdin=stdin)

    def start(self) -> UpnpGateway:
        ns = self.namespace
        _run("ip", "netns", "add", ns)
        try:
            _run("ip", "link", "add", self.host_link, "type", "veth", "peer", "name", "lan0")
            _run("ip", "link", "set", "lan0", "netns", ns)
            _run("ip", "addr", "add", f"{self.node_ip}/24", "dev", self.host_link)
            _run("ip", "link", "set", self.host_link, "up")
            for command in (
                "ip link set lo up",
                f"ip addr add {self.gateway_ip}/24 dev lan0",
                "ip link set lan0 up",
                "ip link add wan0 type veth peer name wanpeer",
                f"ip addr add {WAN_IP}/24 dev wan0",
                "ip link set wan0 up",
                "ip link set wanpeer up",
                f"ip route add default via {WAN_IP.rsplit('.', 1)[0]}.1 dev wan0",
            ):
                self.in_namespace(*command.split())
            self.in_namespace("nft", "-f", "-", stdin=RULESET)
            self._start_miniupnpd()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_miniupnpd(self) -> None:
        subnet = self.gateway_ip.rsplit(".", 1)[0]
        config = self.work_dir / "miniupnpd.conf"
        config.write_text(
            "ext_ifname=wan0\n"
            "listening_ip=lan0\n"
            f"http_port={HTTP_PORT}\n"
            "enable_natpmp=no\n"
            "enable_upnp=yes\n"
            "secure_mode=yes\n"
            "system_uptime=yes\n"
            f"lease_file={self.work_dir}/miniupnpd.leases\n"
            f"uuid={uuid.uuid4()}\n"
            f"allow 1024-65535 {subnet}.0/24 1024-65535\n"
            "deny 0-65535 0.0.0.0/0 0-65535\n"
        )
        miniupnpd = _which("miniupnpd")
        assert miniupnpd is not None
        pidfile = self.work_dir / "miniupnpd.pid"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.exec_prefix(), miniupnpd, "-d", "-f", str(config), "-P", str(pidfile)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._serves, timeout=20, interval=0.1)

    def _serves(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"miniupnpd exited:\n{self.log_path.read_text()}")
        return httpx.get(self.url, timeout=1).status_code == 200

    def mappings(self) -> list[tuple[str, int, str, int, str]]:
        """(protocol, external port, internal client, internal port, description) as
        `upnpc -l` lists them."""
        upnpc = _which("upnpc")
        assert upnpc is not None
        listing = _run(upnpc, "-u", self.url, "-l")
        found = []
        for line in listing.splitlines():
            parts = line.split()
            # " 0 TCP 30000->10.213.7.2:30000  'Flux_manual_entry' '' 604800"
            if len(parts) >= 4 and parts[0].isdigit() and parts[1] in ("TCP", "UDP"):
                external, internal = parts[2].split("->")
                host, port = internal.rsplit(":", 1)
                description = line.split("'")[1] if "'" in line else ""
                found.append((parts[1], int(external), host, int(port), description))
        return found

    def stop(self) -> None:
        end_process(self.process)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, check=False)
        subprocess.run(["ip", "link", "del", self.host_link], capture_output=True, check=False)

    def __enter__(self) -> UpnpGateway:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
