"""Where the node finds fluxd (spec daemon.md §2.1–§2.3, §4.1)."""

from pathlib import Path

from fluxos.chain.fluxconf import FluxConf
from fluxos.chain.fluxd import (
    FluxdConfig,
    discover_flux_conf,
    flux_conf_candidates,
    fluxbench_endpoint,
)

NODE_CONF = """rpcuser=fluxrpc
rpcpassword=s3cret
rpcallowip=127.0.0.1
rpcport=16124
zelnode=1
zelnodeprivkey=5JkT4fAmUtvzS7iUmBFvnqTZzsNrg6n6xZF1e7GytSeFuU6Ctcb
insightexplorer=1
addnode=1.2.3.4
addnode=5.6.7.8
"""


def test_platform_locations(tmp_path: Path) -> None:
    assert flux_conf_candidates(tmp_path, "linux") == [
        tmp_path / ".flux" / "flux.conf",
        tmp_path / ".zelcash" / "zelcash.conf",
    ]
    assert flux_conf_candidates(tmp_path, "darwin")[0] == (
        tmp_path / "Library" / "Application Support" / "Flux" / "flux.conf"
    )
    assert flux_conf_candidates(tmp_path, "win32")[0] == (
        tmp_path / "AppData" / "Roaming" / "Flux" / "flux.conf"
    )


def test_discovery_order(tmp_path: Path) -> None:
    assert discover_flux_conf(None, tmp_path, "linux") is None
    legacy = tmp_path / ".zelcash" / "zelcash.conf"
    legacy.parent.mkdir()
    legacy.write_text("rpcport=1\n")
    assert discover_flux_conf(None, tmp_path, "linux") == legacy
    current = tmp_path / ".flux" / "flux.conf"
    current.parent.mkdir()
    current.write_text("rpcport=2\n")
    assert discover_flux_conf(None, tmp_path, "linux") == current
    configured = tmp_path / "elsewhere.conf"
    configured.write_text("rpcport=3\n")
    assert discover_flux_conf(configured, tmp_path, "linux") == configured
    # a configured file that does not exist falls back to the legacy one, as upstream
    assert discover_flux_conf(tmp_path / "missing.conf", tmp_path, "linux") == legacy


def test_config_from_a_node_conf(tmp_path: Path) -> None:
    path = tmp_path / "flux.conf"
    path.write_text(NODE_CONF)
    config = FluxdConfig.read(path, testnet=False)
    assert config.endpoint.url == "http://127.0.0.1:16124/"
    assert (config.endpoint.user, config.endpoint.password) == ("fluxrpc", "s3cret")
    assert config.insight
    assert config.zelnodeprivkey == "5JkT4fAmUtvzS7iUmBFvnqTZzsNrg6n6xZF1e7GytSeFuU6Ctcb"
    assert config.datadir == tmp_path
    assert not config.zmq_enabled
    assert "s3cret" not in repr(config.endpoint)


def test_defaults_without_conf() -> None:
    mainnet = FluxdConfig.from_conf(None, None, testnet=False, host="127.0.0.1")
    assert mainnet.endpoint.url == "http://127.0.0.1:16124/"
    assert (mainnet.endpoint.user, mainnet.endpoint.password) == ("rpcuser", "rpcpassword")
    testnet = FluxdConfig.from_conf(FluxConf.loads("datadir=/d\n"), None, testnet=True, host="h")
    assert testnet.endpoint.url == "http://h:26124/"
    assert testnet.datadir == Path("/d")
    assert not testnet.insight


def test_bench_credentials_follow_its_data_dir(tmp_path: Path) -> None:
    legacy = fluxbench_endpoint(testnet=False, bench_dir=tmp_path / "none")
    assert (legacy.url, legacy.user, legacy.password) == (
        "http://127.0.0.1:16224/",
        "zelbenchuser",
        "zelbenchpassword",
    )
    current = fluxbench_endpoint(testnet=True, bench_dir=tmp_path)
    assert (current.url, current.user, current.password) == (
        "http://127.0.0.1:26224/",
        "fluxbenchuser",
        "fluxbenchpassword",
    )
