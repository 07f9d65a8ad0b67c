"""Explorer indexing throughput: index a devnet chain of ≥ 10,000 blocks and ≥ 100,000
transactions from scratch, with our process pinned to one core.

    python bench/explorer_index.py                    # 3 runs per block format
    python bench/explorer_index.py --runs 5 --formats raw

The chain is built once with the devnet engine in-process (real signed wallet payments
between thousands of addresses, fluxnode transactions, one block at a time) and cached in
bench/.cache/ (gitignored). Each run copies it, serves it with `python -m fluxos.devnet` on
another core, and indexes it into a fresh SQLite database with the node's own scanner
(verbose blocks = fluxd renders JSON; raw = we decode the bytes). Figures: whole-run
blocks/s and tx/s per run, then medians.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from fluxos.chain.fluxconf import FluxConf
from fluxos.chain.script import p2pkh_script
from fluxos.crypto.hashes import hash160
from fluxos.devnet.engine import ChainEngine
from fluxos.devnet.server import Devnet
from fluxos.devnet.wallet import WalletError
from fluxos.explorer.indexes import BatchResult
from fluxos.explorer.service import Explorer
from fluxos.explorer.source import BlockFormat
from fluxos.jsonrpc import JsonRpcClient
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database

CACHE = Path(__file__).resolve().parent / ".cache" / "explorer-chain"
PAYMENT = 1_000_000  # 0.01 FLUX
PAYEES = 3_000


# ---------------------------------------------------------------------- the chain


def build_chain(engine: ChainEngine, blocks: int, per_block: int, seed: int) -> int:
    """Mine `blocks` blocks of `per_block` wallet payments (runs on the chain thread)."""
    payer, payee = engine.endpoints[0], engine.endpoints[1]
    rng = random.Random(seed)
    payee_scripts = [
        p2pkh_script(hash160(payee.wallet.new_key().key.public_key)) for _ in range(PAYEES)
    ]
    payer_scripts = [
        p2pkh_script(hash160(payer.wallet.new_key().key.public_key)) for _ in range(PAYEES // 4)
    ]
    mining = engine.mining_script(payer)
    from_key = b"\x01" + mining[3:23]
    engine.generate(101, payer)  # mature coinbase to pay from
    made = 0
    began = time.perf_counter()
    for number in range(blocks):
        for i in range(per_block):
            if i % 5 == 4 and number > 1:
                # the payee spends what it received: inputs from many addresses
                try:
                    tx, _fee = payee.wallet.create_transaction(
                        [(rng.choice(payer_scripts), PAYMENT // 2, False)]
                    )
                    payee.wallet.commit(tx)
                    made += 1
                    continue
                except WalletError:
                    pass  # not enough confirmed coins yet: the payer pays instead
            tx, _fee = payer.wallet.create_transaction(
                [(rng.choice(payee_scripts), PAYMENT, False)], from_key=from_key
            )
            payer.wallet.commit(tx)
            made += 1
        engine.generate(1, payer)
        if (number + 1) % 500 == 0:
            engine.store.commit()
            rate = made / (time.perf_counter() - began)
            print(f"  built {number + 1:>6} blocks, {made:>7} payments ({rate:,.0f} tx/s)")
    return made


async def cached_chain(blocks: int, per_block: int) -> Path:
    marker = CACHE / "chain.json"
    wanted = {"blocks": blocks, "per_block": per_block}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return CACHE
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    print(f"building a devnet chain of {blocks:,} blocks × {per_block} payments in {CACHE} …")
    async with Devnet.open(CACHE, rpc_port=0, nodes=2) as devnet:
        await devnet.engine.call(build_chain, devnet.engine, blocks, per_block, 1)
    marker.write_text(json.dumps(wanted))
    return CACHE


# ---------------------------------------------------------------------- serving


def serve_copy(source: Path, workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    chain_dir = workdir / "chain"
    shutil.copytree(source, chain_dir)
    command = [
        sys.executable, "-m", "fluxos.devnet", "--data-dir", str(chain_dir),
        "--rpc-port", "0", "--nodes", "2",
    ]  # fmt: skip
    log = (workdir / "devnet.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    conf_file = chain_dir / "node-1" / "flux.conf"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"devnet exited: {(workdir / 'devnet.log').read_text()}")
        if _answers(conf_file):
            return process, conf_file
        time.sleep(0.2)
    raise SystemExit("devnet did not start within 10 minutes")


def _answers(conf_file: Path) -> bool:
    if not conf_file.exists():
        return False
    conf = FluxConf.read(conf_file)
    port = conf.get("rpcport")
    if not port or port == "0":
        return False
    try:
        reply = httpx.post(
            f"http://127.0.0.1:{port}/",
            json={"id": 0, "method": "getblockcount", "params": []},
            auth=(conf.get("rpcuser") or "", conf.get("rpcpassword") or ""),
            timeout=2,
        )
    except httpx.HTTPError:
        return False
    return reply.status_code == 200


def client(conf_file: Path) -> JsonRpcClient:
    conf = FluxConf.read(conf_file)
    return JsonRpcClient(
        f"http://127.0.0.1:{conf.get('rpcport')}/",
        conf.get("rpcuser") or "",
        conf.get("rpcpassword") or "",
        timeout=600,
    )


# ---------------------------------------------------------------------- indexing


async def index_once(conf_file: Path, workdir: Path, block_format: BlockFormat) -> dict[str, Any]:
    database = Database(f"sqlite+aiosqlite:///{workdir / 'explorer.db'}", ALL_AREAS)
    await database.open()
    totals = {"blocks": 0, "txs": 0}
    batch_rates: list[float] = []
    last = time.perf_counter()

    def on_batch(result: BatchResult, _tip: int) -> None:
        nonlocal last
        now = time.perf_counter()
        totals["blocks"] += result.blocks
        totals["txs"] += result.txs
        batch_rates.append(result.txs / max(now - last, 1e-9))
        last = now

    try:
        async with client(conf_file) as rpc:
            explorer = Explorer(database, rpc, block_format=block_format)
            began = time.perf_counter()
            cpu = time.process_time()
            await explorer.scanner.catch_up(on_batch)
            elapsed = time.perf_counter() - began
            cpu = time.process_time() - cpu
    finally:
        await database.close()
    return {
        "blocks": totals["blocks"],
        "txs": totals["txs"],
        "seconds": elapsed,
        "cpu": cpu,
        "blocks_per_s": totals["blocks"] / elapsed,
        "tx_per_s": totals["txs"] / elapsed,
        "median_batch_tx_per_s": statistics.median(batch_rates),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--per-block", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--formats", nargs="+", default=["verbose", "raw"], choices=["verbose", "raw"]
    )
    args = parser.parse_args()
    chain = asyncio.run(cached_chain(args.blocks, args.per_block))
    cores = sorted(os.sched_getaffinity(0))
    results: dict[str, list[dict[str, Any]]] = {}
    for name in args.formats:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="explorer-bench-") as tmp:
                workdir = Path(tmp)
                process, conf_file = serve_copy(chain, workdir)
                try:
                    if len(cores) > 1:
                        # the indexer gets one core to itself, the devnet the others
                        os.sched_setaffinity(process.pid, set(cores[1:]))
                        os.sched_setaffinity(0, {cores[0]})
                    figures = asyncio.run(index_once(conf_file, workdir, BlockFormat(name)))
                finally:
                    os.sched_setaffinity(0, set(cores))
                    process.terminate()
                    process.wait(timeout=60)
            results.setdefault(name, []).append(figures)
            print(
                f"{name:>7} run {run + 1}: {figures['blocks']:,} blocks, {figures['txs']:,} tx in "
                f"{figures['seconds']:.1f} s (cpu {figures['cpu']:.1f} s) → "
                f"{figures['blocks_per_s']:,.0f} blocks/s, {figures['tx_per_s']:,.0f} tx/s "
                f"(median batch {figures['median_batch_tx_per_s']:,.0f} tx/s)"
            )
    print("\nmedians over runs (indexer pinned to one core):")
    for name, runs in results.items():
        print(
            f"  {name:>7}: {statistics.median(r['blocks_per_s'] for r in runs):,.0f} blocks/s, "
            f"{statistics.median(r['tx_per_s'] for r in runs):,.0f} tx/s "
            f"over {runs[0]['blocks']:,} blocks / {runs[0]['txs']:,} transactions"
        )


if __name__ == "__main__":
    main()
