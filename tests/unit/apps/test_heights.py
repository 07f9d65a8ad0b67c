"""Height sources and the flux.conf RPC settings the `fluxos apps` commands read."""

import logging
from pathlib import Path

import pytest

from fluxos.apps.heights import (
    LatestForkHeight,
    SyncedDaemonHeight,
    find_flux_conf,
    flux_conf_endpoint,
)
from fluxos.apps.params import DEVELOPMENT, MAINNET
from fluxos.chain.liveness import SyncState


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
    conf.write_text("# fluxd settings\nrpcuser=fluxrpc\nrpcpassword=p=ss\nrpcport=17124\n")
    endpoint = flux_conf_endpoint(conf)
    assert (endpoint.url, endpoint.user, endpoint.password) == (
        "http://127.0.0.1:17124/",
        "fluxrpc",
        "p=ss",
    )
    conf.write_text("rpcuser=a\nrpcpassword=b\n")
    assert flux_conf_endpoint(conf).url == "http://127.0.0.1:16124/"
    with pytest.raises(OSError):
        flux_conf_endpoint(tmp_path / "missing.conf")


def test_flux_conf_search_order(tmp_path: Path) -> None:
    data_dir, home = tmp_path / "node", tmp_path / "home"
    (home / ".flux").mkdir(parents=True)
    data_dir.mkdir()
    assert find_flux_conf(data_dir, environ={}, home=home) is None
    (home / ".zelcash").mkdir()
    (home / ".zelcash" / "zelcash.conf").write_text("rpcuser=a\n")
    assert find_flux_conf(data_dir, environ={}, home=home) == home / ".zelcash" / "zelcash.conf"
    (home / ".flux" / "flux.conf").write_text("rpcuser=a\n")
    assert find_flux_conf(data_dir, environ={}, home=home) == home / ".flux" / "flux.conf"
    (data_dir / "flux.conf").write_text("rpcuser=a\n")
    assert find_flux_conf(data_dir, environ={}, home=home) == data_dir / "flux.conf"
    chosen = tmp_path / "elsewhere.conf"
    environ = {"FLUXD_CONFIG_PATH": str(chosen)}
    assert find_flux_conf(data_dir, environ=environ, home=home) == chosen


class Liveness:
    """A `SyncStatus` whose state the test sets."""

    def __init__(self) -> None:
        self.state = SyncState(header=2_200_010, height=0, synced=False)

    def sync_state(self) -> SyncState:
        return self.state


async def test_synced_daemon_height_falls_back_while_fluxd_is_not_synced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    liveness = Liveness()
    source = SyncedDaemonHeight(liveness, LatestForkHeight(MAINNET))
    with caplog.at_level(logging.INFO, logger="fluxos.apps.heights"):
        assert await source.current_height() == MAINNET.latest_fork_height()
        liveness.state = SyncState(header=2_200_010, height=2_200_008, synced=True)
        assert await source.current_height() == 2_200_008
        assert await source.current_height() == 2_200_008
        liveness.state = SyncState(header=2_200_010, height=2_200_008, synced=False)
        assert await source.current_height() == MAINNET.latest_fork_height()
    changes = [r.getMessage() for r in caplog.records if "fluxd is" in r.getMessage()]
    assert changes == [
        "fluxd is not synced (height 0 of 2200010 headers): app rules fall back",
        "fluxd is synced: app rules use its height (2200008)",
        "fluxd is not synced (height 2200008 of 2200010 headers): app rules fall back",
    ]
