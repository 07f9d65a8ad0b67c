from pathlib import Path

import pytest

from fluxos.config import FLUX_TEAM_ZELID, Settings, load_settings
from fluxos.errors import ConfigError


def test_defaults_mirror_upstream(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.apiport == 16127
    assert settings.home_port == 16126
    assert settings.ipaddress == "127.0.0.1"
    assert settings.zelid == ""
    assert settings.blocked_ports == ()
    assert settings.flux_team_zelid == FLUX_TEAM_ZELID
    assert settings.database == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'fluxos.db'}"


def test_file_then_environment_then_overrides(tmp_path: Path) -> None:
    (tmp_path / "fluxos.toml").write_text(
        'zelid = "1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC"\n'
        "apiport = 16137\n"
        "blockedPorts = [80, 443]\n"
        'routerIP = "192.168.1.1"\n'
    )
    settings = load_settings(tmp_path, environ={"FLUXOS_APIPORT": "16147"})
    assert settings.zelid == "1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC"
    assert settings.apiport == 16147
    assert settings.blocked_ports == (80, 443)
    assert settings.router_ip == "192.168.1.1"
    assert load_settings(tmp_path, {"apiport": 16157}, environ={}).apiport == 16157


def test_data_dir_from_environment(tmp_path: Path) -> None:
    settings = load_settings(None, environ={"FLUXOS_DATA_DIR": str(tmp_path)})
    assert settings.data_dir == tmp_path.resolve()


def test_list_values_from_environment(tmp_path: Path) -> None:
    settings = load_settings(
        tmp_path,
        environ={"FLUXOS_BLOCKED_PORTS": "[1, 2]", "FLUXOS_BLOCKED_REPOSITORIES": "a/b, c/d"},
    )
    assert settings.blocked_ports == (1, 2)
    assert settings.blocked_repositories == ("a/b", "c/d")


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("apiport", 1234, "apiport: must be one of 16127"),
        ("zelid", "nope", "zelid: must be a ZelID"),
        ("ipaddress", "300.1.1.1", "ipaddress: must be an IPv4 or IPv6 address"),
        ("routerIP", "x", "router_ip: must be empty or an IPv4 address"),
        ("kadena", "kadena:acc?chainid=25", "kadena: must be empty or kadena:"),
        ("blockedPorts", [0, 80], "blocked_ports: ports must be between 1 and 65535"),
        ("log_level", "loud", "log_level: must be one of"),
        ("colour", "blue", "colour: unknown setting"),
        ("database_url", "postgresql+asyncpg://h/db", "database_url: must be a SQLite URL"),
    ],
)
def test_bad_values_name_the_key_and_source(tmp_path: Path, key, value, expected) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as error:
        load_settings(tmp_path, {key: value}, environ={})
    assert expected in str(error.value)
    assert "(from command line)" in str(error.value)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "fluxos.toml").write_text("apiport = = 1")
    with pytest.raises(ConfigError, match=r"fluxos\.toml: not valid TOML"):
        load_settings(tmp_path, environ={})


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    with pytest.raises(ValueError):
        settings.apiport = 16137  # type: ignore[misc]
    assert isinstance(settings, Settings)


def test_flux_service_urls(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.flux_stats_url == "https://stats.runonflux.io"
    settings = load_settings(
        tmp_path,
        environ={
            "FLUXOS_FLUX_HELPERS_URL": "http://127.0.0.1:8000/helpers/",
            "FLUXOS_COINGECKO_URL": "",
        },
    )
    assert settings.flux_helpers_url == "http://127.0.0.1:8000/helpers"
    assert settings.coingecko_url == ""
    with pytest.raises(ConfigError, match="flux_rates_url: must be empty or an http"):
        load_settings(tmp_path, environ={"FLUXOS_FLUX_RATES_URL": "ftp://rates"})
