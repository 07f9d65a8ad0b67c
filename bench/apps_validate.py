"""App specifications validated and priced per second, on one core.

Two specs: the seed's sample (v7, one component) and a v8 spec with ten components.
For each, three operations on the JSON as a client sends it: format + validate (what
`/apps/verifyappregistrationspecifications` does), format + quote (what
`/apps/calculatefiatandfluxprice` does, services offline), and both plus the message
hash. Each round times a fixed batch in process CPU time; the figures are medians.

    .venv/bin/python bench/apps_validate.py [--rounds 9] [--seconds 0.3]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fluxos.apps.formatter import format_spec
from fluxos.apps.messages import message_hash
from fluxos.apps.params import MAINNET
from fluxos.apps.pricing import fiat_and_flux_price
from fluxos.apps.validation import verify_app_specifications

HEIGHT = 2_200_000
SEED = Path(__file__).resolve().parents[1] / "tests" / "unit" / "apps" / "data" / "seed_sample.json"


def ten_component_spec() -> dict[str, Any]:
    def component(index: int) -> dict[str, Any]:
        return {
            "name": f"service{index}",
            "description": f"component number {index} of a larger stack",
            "repotag": f"example/service{index}:1.{index}",
            "ports": [31000 + 2 * index, 31001 + 2 * index],
            "domains": [f"s{index}.example.com", ""],
            "environmentParameters": [f"SERVICE={index}", "MODE=production", "LOG=SEND"],
            "commands": ["--serve", f"--id={index}"],
            "containerPorts": [8080, 9090],
            "containerData": f"r:/data{index}|m:cache:/cache",
            "cpu": 0.5,
            "ram": 1000,
            "hdd": 20,
            "repoauth": "",
        }

    return {
        "version": 8,
        "name": "bigstack",
        "description": "ten components",
        "owner": "1CbErtneaX2QVyUfwU7JGB7VzvPgrgc3uC",
        "compose": [component(i) for i in range(10)],
        "instances": 5,
        "contacts": ["ops@example.com"],
        "geolocation": ["acEU", "a!cEU_DE"],
        "expire": 264000,
        "nodes": [],
        "staticip": False,
        "enterprise": "",
    }


def operations(raw: dict[str, Any]) -> dict[str, Callable[[], object]]:
    def validate() -> object:
        spec = format_spec(raw)
        verify_app_specifications(spec, HEIGHT)
        return spec

    def price() -> object:
        spec = format_spec(raw)
        return fiat_and_flux_price(
            spec,
            HEIGHT,
            MAINNET,
            usd_entry=MAINNET.usd_price,
            flux_table=MAINNET.price,
            flux_usd_rate=MAINNET.flux_usd_rate,
        )

    def validate_price_hash() -> object:
        spec = validate()
        assert isinstance(spec, dict)
        price()
        return message_hash("fluxappregister", 1, spec, 1_750_000_000_000, "signature")

    return {"validate": validate, "price": price, "validate+price+hash": validate_price_hash}


def batch_size(operation: Callable[[], object], seconds: float) -> int:
    count, start = 0, time.process_time()
    while time.process_time() - start < seconds / 4:
        operation()
        count += 1
    return max(1, count * 4)


def rate(operation: Callable[[], object], iterations: int) -> float:
    start = time.process_time()
    for _ in range(iterations):
        operation()
    return iterations / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.3, help="length of one timed batch")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the offline quote's fallback warnings
    specs = {
        "seed sample (v7, 1 component)": json.loads(SEED.read_text())["spec"],
        "v8, 10 components": ten_component_spec(),
    }
    print(f"median of {args.rounds} rounds, process CPU time, height {HEIGHT}")
    for label, raw in specs.items():
        for name, operation in operations(raw).items():
            iterations = batch_size(operation, args.seconds)
            rates = [rate(operation, iterations) for _ in range(args.rounds)]
            median = statistics.median(rates)
            print(f"{label:32} {name:22} {median:>10,.0f} /s  ({1e6 / median:,.1f} µs each)")


if __name__ == "__main__":
    main()
