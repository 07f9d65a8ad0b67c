"""The routerIP firewall rules (system.md §7.3), as ufw argument lists."""

import pytest

from fluxos.system.routerfirewall import router_network, router_rules


@pytest.mark.parametrize(
    ("router", "network"),
    [
        ("192.168.1.1", "192.168.0.0/16"),
        ("10.0.0.1", "10.0.0.0/8"),
        ("10.1.2.3", "10.1.0.0"),  # upstream's quirk: only x.y.0.0 of the table gets a suffix
        ("172.16.5.1", "172.16.0.0/12"),
        ("172.20.5.1", "172.20.0.0"),
        ("100.64.0.1", "100.64.0.0/10"),
        ("198.18.0.1", "198.18.0.0/15"),
        ("169.254.1.1", "169.254.0.0/16"),
    ],
)
def test_the_deny_rule_removed_is_for_the_routers_network(router: str, network: str) -> None:
    assert router_network(router) == network


def test_rules_open_ssdp_the_router_and_each_api_port_then_drop_the_deny() -> None:
    rules = [" ".join(rule) for rule in router_rules("192.168.1.1", [16127, 16137])]
    assert rules == [
        "insert 1 allow out from any to 239.255.255.250 port 1900 proto udp",
        "insert 1 allow from 192.168.1.1 port 1900 to any proto udp",
        "insert 1 allow out from any to 192.168.1.1 proto tcp",
        "insert 1 allow from 192.168.1.1 to any proto udp",
        "insert 1 allow in proto tcp from any to 192.168.1.1 port 16127",
        "insert 1 allow out proto tcp to 192.168.1.1 port 16127",
        "insert 1 allow in proto udp from any to 192.168.1.1 port 16127",
        "insert 1 allow out proto udp to 192.168.1.1 port 16127",
        "insert 1 allow in proto tcp from any to 192.168.1.1 port 16137",
        "insert 1 allow out proto tcp to 192.168.1.1 port 16137",
        "insert 1 allow in proto udp from any to 192.168.1.1 port 16137",
        "insert 1 allow out proto udp to 192.168.1.1 port 16137",
        "delete deny out from any to 192.168.0.0/16",
    ]
