"""What the support archive keeps and what it removes from the node's settings."""

from __future__ import annotations

from fluxos.system.supportbundle import REMOVED, is_secret, redact_conf, redact_toml


def test_secret_keys_are_recognised_and_public_ones_kept() -> None:
    for key in ("zelnodeprivkey", "rpcpassword", "api_key", "apikey", "owner_wif", "token"):
        assert is_secret(key), key
    for key in ("zelid", "pgpPublicKey", "rpcuser", "apiport", "routerIP", "kadena"):
        assert not is_secret(key), key


def test_toml_keeps_comments_and_layout_and_drops_secret_values() -> None:
    text = (
        "# the operator's note\n"
        'zelid = "1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC"\n'
        'pgpPublicKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----"\n'
        "[syncthing]\n"
        'api_key = "s3cr3t-api"\n'
        "[hooks]\n"
        'restart = ["systemctl", "restart", "fluxos"]\n'
        "[hooks.env]\n"
        'deploy_token = "t0k3n"\n'
    )
    redacted = redact_toml(text)
    assert "s3cr3t-api" not in redacted and "t0k3n" not in redacted
    assert redacted.count(REMOVED) == 2
    assert redacted.startswith("# the operator's note\n")
    assert 'zelid = "1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC"' in redacted
    assert "-----BEGIN PGP PUBLIC KEY BLOCK-----" in redacted
    assert 'restart = ["systemctl", "restart", "fluxos"]' in redacted


def test_flux_conf_secret_lines_are_replaced_in_place() -> None:
    text = (
        "rpcuser=flux\nrpcpassword=hunter2\n# zelnodeprivkey=commented\n"
        "zelnodeprivkey=5Kb8\nport=16125"
    )
    assert redact_conf(text) == (
        "rpcuser=flux\nrpcpassword=<removed>\n# zelnodeprivkey=<removed>\n"
        "zelnodeprivkey=<removed>\nport=16125\n"
    )
