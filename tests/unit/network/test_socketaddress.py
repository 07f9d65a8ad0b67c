import pytest

from fluxos.errors import BadParameter
from fluxos.network.socketaddress import group16, is_routable, normalize, parse_strict, split


def test_normalize_and_split() -> None:
    assert normalize("1.2.3.4") == "1.2.3.4:16127"
    assert normalize("1.2.3.4:16137") == "1.2.3.4:16137"
    assert split("1.2.3.4") == ("1.2.3.4", 16127)
    assert split("1.2.3.4:16147") == ("1.2.3.4", 16147)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3.4", ("1.2.3.4", 16127)),
        ("255.0.0.9:1", ("255.0.0.9", 1)),
        ("9.9.9.9:65535", ("9.9.9.9", 65535)),
    ],
)
def test_strict_parse_accepts(text: str, expected: tuple[str, int]) -> None:
    assert parse_strict(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "01.2.3.4",
        "0.2.3.4",
        "1.2.3",
        "1.2.3.4.",
        "256.1.1.1",
        "1.2.3.4:0",
        "1.2.3.4:65536",
        "a.b.c.d",
        "1.2.3.4:",
    ],
)
def test_strict_parse_refuses(text: str | None) -> None:
    with pytest.raises(BadParameter, match="Unparsable `ip` parameter"):
        parse_strict(text)


@pytest.mark.parametrize(
    ("ip", "routable"),
    [
        ("8.8.8.8", True),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("172.32.0.1", True),
        ("192.168.1.1", False),
        ("127.0.0.2", False),
        ("169.254.43.43", False),
        ("100.64.0.1", False),
        ("100.128.0.1", True),
        ("::1", False),
    ],
)
def test_routable(ip: str, routable: bool) -> None:
    assert is_routable(ip) is routable


def test_group16() -> None:
    assert group16("81.2.3.4") == "81.2"
