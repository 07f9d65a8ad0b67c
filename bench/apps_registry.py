"""The global apps registry at mainnet size: rebuild and sync of ~58,000 permanent messages.

Messages are generated and valid: each app's owner has its own key and signs every message
(registrations, then updates of earlier apps), specs are v3-v8 in a mainnet-like mix, each
paid at its own height. Two figures, each a median of `--rounds` runs, on one core
(process CPU time and wall time), with the process's peak RSS:

* rebuild: a node with the messages in SQLite derives every global spec again
  (`Promoter.rebuild`: read, parse, price checks, write) — target < 10 s;
* sync: a new node takes the messages as a peer's `/apps/permanentmessages` answer (the
  parsed JSON list), checks each (hash, owner signature for registrations) the way the
  hash sync's bulk fetch does, stores them and rebuilds — target < 30 s. The transfer
  itself is not in it.

    .venv/bin/python bench/apps_registry.py [--messages 58000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from fluxos.apps.appmessages import MessageChecks
from fluxos.apps.directory import RegistryDirectory
from fluxos.apps.formatter import format_spec
from fluxos.apps.hashsync import PaymentFollower
from fluxos.apps.messages import MESSAGE_VERSION, message_hash, sign_spec
from fluxos.apps.params import MAINNET
from fluxos.apps.promotion import Promoter
from fluxos.apps.quotes import flux_price_table
from fluxos.apps.registry import AppRegistry
from fluxos.apps.specs import public_view
from fluxos.clock import SystemClock
from fluxos.crypto import PrivateKey, bitcoin_address
from fluxos.storage.apps import AppsStore, PaymentRecord, StoredMessage
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database
from fluxos.wire.jsvalues import stringify

HEIGHT = 2_300_000
FIRST_HEIGHT = HEIGHT - 80_000  # every message still within its lifetime
VERSION_MIX = ((8, 0.55), (7, 0.25), (6, 0.1), (4, 0.05), (3, 0.05))
UPDATE_SHARE = 0.35


class FixedHeight:
    async def current_height(self) -> int:
        return HEIGHT


def _component(index: int, rng: random.Random) -> dict[str, Any]:
    return {
        "name": f"part{index}",
        "description": "generated",
        "repotag": f"bench/image{rng.randrange(1000)}:1.{index}",
        "ports": [31000 + rng.randrange(4000)],
        "containerPorts": [8080 + index],
        "domains": [""],
        "environmentParameters": [],
        "commands": [],
        "containerData": "/data",
        "cpu": rng.choice((0.1, 0.5, 1.0)),
        "ram": rng.choice((100, 500, 1000)),
        "hdd": rng.choice((1, 5, 10)),
        "tiered": False,
        "secrets": "",
        "repoauth": "",
    }


def _spec(version: int, name: str, owner: str, rng: random.Random) -> dict[str, Any]:
    """A valid spec of `version` (v3 is flat; v4+ have components)."""
    if version == 3:
        part = _component(0, rng)
        return {
            "version": 3,
            "name": name,
            "description": "generated",
            "owner": owner,
            "repotag": part["repotag"],
            "ports": part["ports"],
            "containerPorts": part["containerPorts"],
            "domains": part["domains"],
            "enviromentParameters": [],
            "commands": [],
            "containerData": "/data",
            "cpu": part["cpu"],
            "ram": part["ram"],
            "hdd": part["hdd"],
            "tiered": False,
            "instances": 3,
        }
    components = []
    for index in range(rng.choice((1, 1, 1, 2, 3))):
        part = _component(index, rng)
        if version < 7:
            del part["secrets"], part["repoauth"]
        if version >= 8:
            del part["tiered"]  # the tiered family went in v8
        components.append(part)
    spec: dict[str, Any] = {
        "version": version,
        "name": name,
        "description": "generated",
        "owner": owner,
        "compose": components,
        "instances": 3,
    }
    if version >= 5:
        spec["contacts"], spec["geolocation"] = [], []
    if version >= 6:
        spec["expire"] = 88_000
    if version >= 7:
        spec["nodes"], spec["staticip"] = [], False
    if version >= 8:
        spec["enterprise"] = ""
    return spec


def generate(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """`count` permanent message documents (§9.1 shape), oldest first."""
    rng = random.Random(seed)
    versions = [v for v, _ in VERSION_MIX]
    weights = [w for _, w in VERSION_MIX]
    apps: list[tuple[str, PrivateKey, int]] = []
    documents: list[dict[str, Any]] = []
    for index in range(count):
        height = FIRST_HEIGHT + index * (HEIGHT - FIRST_HEIGHT) // count
        if apps and rng.random() < UPDATE_SHARE:
            name, key, version = rng.choice(apps)
            kind = "fluxappupdate"
        else:
            key = PrivateKey.generate()
            version = rng.choices(versions, weights)[0]
            name = f"app{index}"
            apps.append((name, key, version))
            kind = "fluxappregister"
        spec = format_spec(_spec(version, name, bitcoin_address(key.public_key), rng), MAINNET)
        timestamp = 1_700_000_000_000 + index * 1000
        signature = sign_spec(spec, key, message_type=kind, timestamp=timestamp)
        stored = public_view(spec)
        documents.append(
            {
                "type": kind,
                "version": MESSAGE_VERSION,
                "appSpecifications": stored,
                "hash": message_hash(kind, MESSAGE_VERSION, stored, timestamp, signature),
                "timestamp": timestamp,
                "signature": signature,
                "txid": f"{index:064x}",
                "height": height,
                "valueSat": 10_000_000_000,  # well above any price of the table
            }
        )
    return documents


def _stored(document: dict[str, Any]) -> StoredMessage:
    spec = document["appSpecifications"]
    return StoredMessage(
        hash=document["hash"],
        type=document["type"],
        version=document["version"],
        spec=stringify(spec),
        timestamp=document["timestamp"],
        signature=document["signature"],
        name=spec["name"],
        owner=spec["owner"],
        txid=document["txid"],
        height=document["height"],
        value_sat=document["valueSat"],
    )


async def _registry(directory: Path) -> tuple[Database, AppsStore, AppRegistry]:
    database = Database(f"sqlite+aiosqlite:///{directory / 'bench.db'}", ALL_AREAS)
    await database.open()
    await database.migrate()
    store = AppsStore(database)
    checks = MessageChecks(MAINNET, RegistryDirectory(store))

    async def prices() -> Any:
        return flux_price_table(MAINNET, [])

    promoter = Promoter(store, MAINNET, checks, FixedHeight(), prices)
    registry = AppRegistry(
        store, MAINNET, checker=None, network=None, heights=FixedHeight(),  # type: ignore[arg-type]
        clock=SystemClock(), promoter=promoter, checks=checks,
    )  # fmt: skip
    return database, store, registry


def _timed(work: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = asyncio.run(work)
    return time.perf_counter() - wall, time.process_time() - cpu, result


async def rebuild_round(documents: list[dict[str, Any]]) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        database, store, registry = await _registry(Path(tmp))
        await store.add_permanents([_stored(d) for d in documents])
        wall, cpu = time.perf_counter(), time.process_time()
        apps = await registry.promoter.rebuild(HEIGHT)
        result = (time.perf_counter() - wall, time.process_time() - cpu, apps)
        await database.close()
    return result


async def sync_round(body: bytes) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        database, store, registry = await _registry(Path(tmp))
        wall, cpu = time.perf_counter(), time.process_time()
        documents = json.loads(body)["data"]
        wanted = {
            d["hash"]: PaymentRecord(
                d["hash"], d["txid"], d["height"], d["valueSat"], False, 0, 0, 0
            )
            for d in documents
        }
        async with httpx.AsyncClient() as http:
            follower = PaymentFollower(registry, None, None, SystemClock(), http)  # type: ignore[arg-type]
            accepted = follower._accepted(documents, wanted, "peer")
        await store.add_permanents(accepted)
        apps = await registry.promoter.rebuild(HEIGHT)
        result = (time.perf_counter() - wall, time.process_time() - cpu, apps)
        await database.close()
    if len(accepted) != len(documents):
        raise SystemExit(f"sync refused {len(documents) - len(accepted)} generated messages")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=58_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    started = time.perf_counter()
    documents = generate(args.messages)
    body = json.dumps({"status": "success", "data": documents}).encode()
    print(
        f"generated {len(documents)} signed messages "
        f"({sum(d['type'] == 'fluxappupdate' for d in documents)} updates, "
        f"{len(body) / 1e6:.1f} MB as JSON) in {time.perf_counter() - started:.1f} s"
    )
    for label, work, target in (
        ("rebuild global specs", lambda: rebuild_round(documents), 10.0),
        ("sync from one peer's list", lambda: sync_round(body), 30.0),
    ):
        runs = [asyncio.run(work()) for _ in range(args.rounds)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(
            f"{label}: median {wall:.2f} s wall, {cpu:.2f} s CPU over {args.rounds} rounds, "
            f"{runs[0][2]} apps (target < {target:.0f} s)"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
