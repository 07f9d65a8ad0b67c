"""Devnet throughput: build a chain of N blocks × M wallet transactions, reload it, and time
getblock round trips over real HTTP.

    python bench/devnet_generate.py                 # 10,000 blocks of 10 transactions
    python bench/devnet_generate.py --blocks 1000   # a quicker run

Every transaction is a real signed payment made by an endpoint's wallet, verified by the
mempool and mined; blocks are written to SQLite as they are made. Figures are medians over
chunks (generation) and rounds (getblock); the total wall time is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from fluxos.chain.script import p2pkh_script
from fluxos.clock import SystemClock
from fluxos.crypto.hashes import hash160
from fluxos.devnet.engine import ChainEngine
from fluxos.devnet.server import Devnet
from fluxos.jsonrpc import JsonRpcClient

PAYMENT = 1_000_000  # 0.01 FLUX per transaction


def generate_chain(
    data_dir: Path, blocks: int, per_block: int, chunk: int, fresh_change: bool
) -> None:
    engine = ChainEngine(data_dir, 2_200_000, SystemClock())
    payer = engine.add_endpoint(0, data_dir, 0)
    payee = engine.add_endpoint(1, data_dir / "node-2", 0)
    engine.load()
    engine.generate(101, payer)  # a mature coinbase to start from
    destinations = [
        p2pkh_script(hash160(payee.wallet.new_key().key.public_key)) for _ in range(per_block)
    ]
    sender = None if fresh_change else engine.mining_script(payer)
    from_key = None if sender is None else b"\x01" + sender[3:23]
    wallet = payer.wallet
    rates: list[tuple[float, float]] = []
    cpu_rates: list[float] = []
    start_all = time.perf_counter()
    cpu_all = time.process_time()
    done = 0
    while done < blocks:
        size = min(chunk, blocks - done)
        t0 = time.perf_counter()
        c0 = time.process_time()
        for _ in range(size):
            for script in destinations:
                tx, _fee = wallet.create_transaction([(script, PAYMENT, False)], from_key=from_key)
                wallet.commit(tx)
            engine.generate(1, payer)
        engine.store.commit()
        elapsed = time.perf_counter() - t0
        cpu_elapsed = time.process_time() - c0
        rates.append((size / elapsed, size * per_block / elapsed))
        cpu_rates.append(size * per_block / cpu_elapsed)
        done += size
        tx_rate = size * per_block / elapsed
        print(
            f"  {done:>6} blocks  {size / elapsed:8.1f} blocks/s  {tx_rate:8.1f} tx/s"
            f"  ({size * per_block / cpu_elapsed:.0f} tx per CPU second)"
        )
    wall = time.perf_counter() - start_all
    cpu = time.process_time() - cpu_all
    engine.close()
    print(
        f"generate: {blocks} blocks x {per_block} tx in {wall:.1f} s wall ({cpu:.1f} s CPU); "
        f"median {statistics.median(r[0] for r in rates):.1f} blocks/s, "
        f"{statistics.median(r[1] for r in rates):.0f} tx/s "
        f"({statistics.median(cpu_rates):.0f} tx per CPU second)"
    )
    print(
        f"chain height {engine.chain.height}, payee balance {payee.wallet.balance() / 1e8:.2f} FLUX"
    )


async def getblock_rate(data_dir: Path, rounds: int, calls: int) -> None:
    t0 = time.perf_counter()
    async with Devnet.open(data_dir, rpc_port=0, nodes=2, fluxnodes=False) as net:
        print(
            f"reload: {time.perf_counter() - t0:.1f} s wall to replay the chain and start serving"
        )
        endpoint = net.endpoints[0]
        async with JsonRpcClient(endpoint.url, endpoint.user, endpoint.password) as rpc:
            top = await rpc.call("getblockcount")
            bottom = net.engine.start_height
            rng = random.Random(7)
            for verbosity in (1, 2):
                per_round = []
                for _ in range(rounds):
                    heights = [str(rng.randint(bottom, top)) for _ in range(calls)]
                    t1 = time.perf_counter()
                    for height in heights:
                        await rpc.call("getblock", height, verbosity)
                    per_round.append(calls / (time.perf_counter() - t1))
                median = statistics.median(per_round)
                print(
                    f"getblock verbosity {verbosity}: median {median:.0f} round trips/s "
                    f"({rounds} rounds of {calls}, one client, sequential)"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--tx-per-block", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=1_000, help="blocks per timing chunk")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1_000, help="getblock calls per round")
    parser.add_argument(
        "--fresh-change",
        action="store_true",
        help="a new change key per payment (fluxd's default) instead of change to the sender",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="keep the chain here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="devnet-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        generate_chain(data_dir, args.blocks, args.tx_per_block, args.chunk, args.fresh_change)
        asyncio.run(getblock_rate(data_dir, args.rounds, args.calls))


if __name__ == "__main__":
    main()
