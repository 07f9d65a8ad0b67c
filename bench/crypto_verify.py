"""Signature verifications per second on one core: fluxos.crypto against upstream's JS stack.

Measures, in interleaved rounds, `verify_message` on a Bitcoin signed message (address
form, a compressed-key login signature), `verify_message` on an Ethereum personal_sign
signature, and bare libsecp256k1 recovery through coincurve (the floor any Python
verifier sits on). The JavaScript side runs bitcoinjs-message 2.2 and nano-ethereum-signer,
installed with npm into bench/.node (gitignored). Each round keeps the best of a few short
runs, timed in process CPU time, so other load on the machine disturbs the figures less;
the figures printed are medians over the rounds.

    .venv/bin/python bench/crypto_verify.py [--rounds 7] [--repeats 5] [--seconds 0.3] [--no-node]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import coincurve
from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

from fluxos.crypto import message_digest, verify_message
from fluxos.crypto.signed_message import decode_signature_base64

BENCH_DIR = Path(__file__).resolve().parent
NODE_DIR = BENCH_DIR / ".node"
JS_PACKAGES = ["bitcoinjs-message@2.2.0", "nano-ethereum-signer@0.1.2"]

# identity.md §13 B6 (compressed key, a login phrase) and E1.
BTC = {
    "message": "162797868130153vt9r89dzjjjfg6kf34ntf1d8aa5zqlk04j3zy8z40ni",
    "address": "1E1NSwDHtvCziYP4CtgiDMcgvgZL64PhkR",
    "signature": "IIwyGekXKejWRCnBKMb5Zn2ufi5ylnl3r/wmonoTDm7QCUoe5vZL0SXIw"
    "qxO7F8U3Q+kUJapRS2xlUe53KNmC9k=",
}
ETH = {
    "message": "testmessage123",
    "address": "0xfaA2cA6454F2815C0900da1d4BfbD53072C736eb",
    "signature": "0xaaa09d14433ec40513a4ad70d6945ec8459cad37b7fe3102e443d91210fc5d38"
    "47fe0e262043a8b8bbeb33698970ab69dd759ddd52d0f2985b6d80f2e1c119ec1b",
}


def python_checks() -> dict[str, Callable[[], object]]:
    raw = decode_signature_base64(BTC["signature"])
    digest = message_digest(BTC["message"])
    ctx = GLOBAL_CONTEXT.ctx
    parsed = ffi.new("secp256k1_ecdsa_recoverable_signature *")
    lib.secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, parsed, raw[1:], (raw[0] - 27) & 3)
    point = ffi.new("secp256k1_pubkey *")
    return {
        "bitcoin": lambda: verify_message(BTC["message"], BTC["address"], BTC["signature"]),
        "ethereum": lambda: verify_message(ETH["message"], ETH["address"], ETH["signature"]),
        # The floor: the libsecp256k1 recovery call alone, signature parsed beforehand.
        "bare recovery": lambda: lib.secp256k1_ecdsa_recover(ctx, point, parsed, digest) == 1,
    }


def rate(check: Callable[[], object], iterations: int) -> float:
    start = time.process_time()
    for _ in range(iterations):
        check()
    return iterations / (time.process_time() - start)


def best_rates(
    checks: dict[str, Callable[[], object]], iterations: dict[str, int], repeats: int
) -> dict[str, float]:
    """Best of a few short runs per check, the checks interleaved run by run.

    The best run is the one least disturbed by other work (timeit's advice); interleaving
    exposes every check to the same drift in the machine's speed.
    """
    best = dict.fromkeys(checks, 0.0)
    for _ in range(repeats):
        for name, check in checks.items():
            best[name] = max(best[name], rate(check, iterations[name]))
    return best


def ensure_js_packages() -> str | None:
    """Install the JS packages into bench/.node if missing; None when they are usable."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node/npm not installed"
    wanted = [NODE_DIR / "node_modules" / p.rsplit("@", 1)[0] / "package.json" for p in JS_PACKAGES]
    if all(path.exists() for path in wanted):
        return None
    NODE_DIR.mkdir(exist_ok=True)
    done = subprocess.run(
        ["npm", "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", *JS_PACKAGES],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        codes = [line for line in done.stderr.splitlines() if "error code" in line]
        return "npm install failed (registry unreachable?) " + (codes[0] if codes else "")
    return None


def node_round(iterations: dict[str, int], repeats: int) -> dict[str, float]:
    job = {"btc": BTC, "eth": ETH, "iterations": iterations, "warmup": 300, "repeats": repeats}
    env = {**os.environ, "NODE_PATH": str(NODE_DIR / "node_modules")}
    done = subprocess.run(
        ["node", str(BENCH_DIR / "crypto_verify.js"), json.dumps(job)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3, help="CPU time per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="short runs per measurement")
    parser.add_argument("--no-node", action="store_true", help="skip the JavaScript side")
    args = parser.parse_args()

    checks = python_checks()
    for name, check in checks.items():
        if check() is False:
            sys.exit(f"{name} vector does not verify")
    # Size each measurement to about --seconds of CPU from a short calibration run.
    py_iters = {
        n: max(50, int(rate(c, 200) * args.seconds / args.repeats)) for n, c in checks.items()
    }

    node_problem = "skipped (--no-node)" if args.no_node else ensure_js_packages()
    if node_problem is None:
        calibration = node_round({"bitcoin": 300, "ethereum": 30}, 1)
        share = args.seconds / args.repeats
        js_iters = {n: max(20, int(r * share)) for n, r in calibration.items()}

    py: dict[str, list[float]] = {name: [] for name in checks}
    js: dict[str, list[float]] = {"bitcoin": [], "ethereum": []}
    for _ in range(args.rounds):
        for name, value in best_rates(checks, py_iters, args.repeats).items():
            py[name].append(value)
        if node_problem is None:
            for name, value in node_round(js_iters, args.repeats).items():
                js[name].append(value)

    def line(label: str, samples: list[float]) -> str:
        return (
            f"  {label:<44} {statistics.median(samples):>9,.0f}/s"
            f"   (min {min(samples):,.0f}, max {max(samples):,.0f})"
        )

    print(
        "signature verifications per CPU-second on one core: median over "
        f"{args.rounds} rounds of the best of {args.repeats} short runs"
    )
    python = sys.version.split()[0]
    print(f"fluxos.crypto (Python {python}, coincurve {coincurve.__version__})")
    print(line("verify_message, Bitcoin signed message", py["bitcoin"]))
    print(line("verify_message, Ethereum personal_sign", py["ethereum"]))
    print(line("bare libsecp256k1 recover call (the floor)", py["bare recovery"]))
    # Ratios are taken round by round (measurements seconds apart) so that drift in the
    # machine's speed cancels out, then the median is reported.
    floor_share = [b / f for b, f in zip(py["bitcoin"], py["bare recovery"], strict=True)]
    print(f"  Bitcoin check / bare recovery: {statistics.median(floor_share):.0%}")
    if node_problem is not None:
        print(f"JavaScript side: {node_problem}")
        return
    node_version = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
    print(f"upstream JS stack (Node {node_version.strip()})")
    print(line("bitcoinjs-message 2.2.0 verify", js["bitcoin"]))
    print(line("nano-ethereum-signer 0.1.2 signerAddress", js["ethereum"]))
    print("ratio fluxos / JS")
    for name in ("bitcoin", "ethereum"):
        ratios = [p / j for p, j in zip(py[name], js[name], strict=True)]
        print(f"  {name:<10} {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
