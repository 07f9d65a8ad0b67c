"""Height sources and the flux.conf RPC settings the `fluxos apps` commands read."""

import logging
from pathlib import Path

import pytest

from fluxos.apps.heights import LatestForkHeight, find_flux_conf, read_flux_conf_rpc
from fluxos.apps.params import DEVELOPMENT, MAINNET
from fluxos.errors import FluxError


async def test_latest_fork_height_says_once_that_it_is_used(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = LatestForkHeight(MAINNET)
    with caplog.at_level(logging.WARNING, logger="fluxos.apps.heights"):
        assert await source.current_height() == MAINNET.latest_fork_height()
        assert await source.current_height() == MAINNET.latest_fork_height()
    told = [r.getMessage() for r in caplog.records if "latest fork height" in r.getMessage()]
    assert told == [
        "no daemon height available: app checks and prices use the latest fork height"
        f" {MAINNET.latest_fork_height()}"
    ]
    assert await LatestForkHeight(DEVELOPMENT).current_height() == DEVELOPMENT.latest_fork_height()


def test_flux_conf_rpc_settings(tmp_path: Path) -> None:
    conf = tmp_path / "flux.conf"
    conf.write_text(
        "# fluxd settings\nrpcuser=fluxrpc\nrpcpassword= p=ss \nrpcport=17124\n"
        "rpcuser=ignored\naddnode=1.2.3.4\n"
    )
    endpoint = read_flux_conf_rpc(conf)
    assert (endpoint.url, endpoint.user, endpoint.password) == (
        "http://127.0.0.1:17124/",
        "fluxrpc",
        "p=ss",
    )
    conf.write_text("rpcuser=a\nrpcpassword=b\n")
    assert read_flux_conf_rpc(conf).url == "http://127.0.0.1:16124/"
    conf.write_text("rpcuser=a\nrpcpassword=b\ntestnet=1\n")
    assert read_flux_conf_rpc(conf).url == "http://127.0.0.1:26124/"
    conf.write_text("rpcconnect=10.0.0.2\n")
    assert read_flux_conf_rpc(conf, testnet=True).url == "http://10.0.0.2:26124/"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rpcuser=a\nrpcpassword=b\nrpcport=http\n", "rpcport must be a port number, got 'http'"),
        ("rpcuser=a\nrpcpassword=b\nrpcport=70000\n", "rpcport must be a port number"),
    ],
)
def test_flux_conf_problems_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    conf = tmp_path / "flux.conf"
    conf.write_text(text)
    with pytest.raises(FluxError, match=message):
        read_flux_conf_rpc(conf)


def test_flux_conf_search_order(tmp_path: Path) -> None:
    data_dir, home = tmp_path / "node", tmp_path / "home"
    (home / ".flux").mkdir(parents=True)
    data_dir.mkdir()
    assert find_flux_conf(data_dir, environ={}, home=home) is None
    (home / ".flux" / "flux.conf").write_text("rpcuser=a\n")
    assert find_flux_conf(data_dir, environ={}, home=home) == home / ".flux" / "flux.conf"
    (data_dir / "flux.conf").write_text("rpcuser=a\n")
    assert find_flux_conf(data_dir, environ={}, home=home) == data_dir / "flux.conf"
    chosen = tmp_path / "elsewhere.conf"
    environ = {"FLUXD_CONFIG_PATH": str(chosen)}
    assert find_flux_conf(data_dir, environ=environ, home=home) == chosen
