"""The `fluxos apps` commands through typer's runner (in process)."""

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from tests.unit.apps.spec_samples import component, seed_data, seed_spec, v8_spec
from typer.testing import CliRunner

from fluxos.apps.command import apps_app
from fluxos.apps.formatter import canonical_json, format_spec
from fluxos.apps.messages import verify_registration_signature
from fluxos.apps.params import MAINNET
from fluxos.crypto import PrivateKey, bitcoin_address, eth_address

runner = CliRunner()


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return str(path)


def run(*args: str) -> tuple[int, Any]:
    result = runner.invoke(apps_app, list(args))
    return result.exit_code, json.loads(result.stdout)


def test_verify_prints_the_canonical_spec(tmp_path: Path) -> None:
    result = runner.invoke(
        apps_app, ["verify", write(tmp_path, "spec.json", seed_spec()), "--height", "2200000"]
    )
    assert result.exit_code == 0
    assert result.stdout.strip() == canonical_json(format_spec(seed_spec()))


def test_verify_reports_the_rule_and_exits_non_zero(tmp_path: Path) -> None:
    code, output = run("verify", write(tmp_path, "spec.json", dict(seed_spec(), instances=2)))
    assert code == 1
    assert output == {
        "status": "error",
        "data": {"name": "Error", "message": "Minimum number of instances is 3"},
    }


def test_verify_without_height_uses_the_latest_fork(tmp_path: Path) -> None:
    # one instance is allowed for v8 apps from the latest fork on
    assert MAINNET.latest_fork_height() == MAINNET.minimum_instances_v8_block
    code, output = run("verify", write(tmp_path, "spec.json", v8_spec(instances=1)))
    assert code == 0 and output["instances"] == 1
    code, output = run(
        "verify",
        write(tmp_path, "spec.json", v8_spec(instances=1)),
        "--height",
        str(MAINNET.minimum_instances_v8_block - 1),
    )
    assert code == 1 and output["data"]["message"] == "Minimum number of instances is 3"


def test_unreachable_daemon_falls_back_to_the_latest_fork(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fluxos.apps.command")
    spec = write(tmp_path, "spec.json", v8_spec(instances=1))
    code, _ = run("verify", spec, "--rpc-url", "http://user:pass@127.0.0.1:9/")
    assert code == 0
    assert "daemon height unavailable" in caplog.text


def test_verify_update_of(tmp_path: Path) -> None:
    old = write(tmp_path, "old.json", seed_spec())
    renamed = seed_spec()
    renamed["compose"][0]["name"] = "explorer"
    code, output = run("verify", write(tmp_path, "new.json", renamed), "--update-of", old)
    assert code == 1 and 'Component "blockbookneurai" not found' in output["data"]["message"]
    code, output = run(
        "verify", write(tmp_path, "same.json", dict(seed_spec(), instances=6)), "--update-of", old
    )
    assert code == 0 and output["instances"] == 6


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot be read"),
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "Invalid Flux App Specifications"),
    ],
)
def test_unreadable_input(tmp_path: Path, content: str | None, message: str) -> None:
    path = (
        str(tmp_path / "missing.json") if content is None else write(tmp_path, "bad.json", content)
    )
    code, output = run("verify", path)
    assert code == 1 and message in output["data"]["message"]


def test_negative_height_is_refused(tmp_path: Path) -> None:
    code, output = run("price", write(tmp_path, "spec.json", seed_spec()), "--height", "-5")
    assert code == 1 and "--height must be a non-negative block height" in output["data"]["message"]


def test_price_prints_the_quote_and_the_flux_figures(tmp_path: Path) -> None:
    code, output = run(
        "price",
        write(tmp_path, "spec.json", dict(seed_spec(), expire=88000)),
        "--height",
        "2200000",
    )
    assert code == 0
    assert output == {
        "usd": 5.64,
        "flux": 8.93,
        "fluxDiscount": 5,
        "fluxPerMonth": 1.41,
        "onchainMinimumFlux": 1.41,
    }


@pytest.mark.parametrize("eth", [False, True])
def test_sign_then_hash(tmp_path: Path, eth: bool) -> None:
    key = PrivateKey.generate()
    owner = eth_address(key.public_key) if eth else bitcoin_address(key.public_key)
    spec = write(tmp_path, "spec.json", v8_spec(owner=owner, compose=[component(cpu="2")]))
    code, body = run("sign", spec, "--key", key.to_wif(), "--timestamp", "1750000000000")
    assert code == 0
    assert body["appSpecification"]["compose"][0]["cpu"] == 2 and body["timestamp"] == 1750000000000
    verify_registration_signature(
        body["type"],
        body["version"],
        body["appSpecification"],
        body["timestamp"],
        body["signature"],
    )
    code, hashed = run("hash", write(tmp_path, "body.json", body))
    assert code == 0 and hashed == {"hash": body["hash"]}


def test_sign_refuses_a_key_that_is_not_the_owners(tmp_path: Path) -> None:
    spec = write(tmp_path, "spec.json", v8_spec())
    code, output = run("sign", spec, "--key", PrivateKey.generate().to_wif())
    assert code == 1 and "does not belong to the app owner" in output["data"]["message"]
    code, output = run("sign", spec, "--key", "not-a-wif")
    assert code == 1 and output["data"]["message"].startswith("--key must be a WIF private key")
    code, output = run(
        "sign", spec, "--key", PrivateKey.generate().to_wif(), "--type", "zelappremove"
    )
    assert code == 1 and "--type must be" in output["data"]["message"]


def test_sign_update_type(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    spec = write(tmp_path, "spec.json", v8_spec(owner=bitcoin_address(key.public_key)))
    code, body = run("sign", spec, "--key", key.to_wif(), "--type", "fluxappupdate")
    assert code == 0 and body["type"] == "fluxappupdate"


def test_hash_of_the_seed_registration(tmp_path: Path) -> None:
    data = seed_data()
    body = {
        "type": "fluxappregister",
        "version": 1,
        "appSpecifications": data["spec"],  # the key the API document uses
        "timestamp": data["register_timestamp"],
        "signature": data["register_signature"],
    }
    code, output = run("hash", write(tmp_path, "body.json", body))
    assert code == 0
    assert output == {"hash": "898a3bf528c4bc8020f712f184c376f2ea700e9ef8c0132d26aca88a4fd36cee"}
    code, output = run("hash", write(tmp_path, "bad.json", {"type": "fluxappregister"}))
    assert code == 1 and "signature" in output["data"]["message"]
