"""The registry as the `/apps` registry routes see it: one method per route, answering
the documents of apps.md §9.1 (never storage records).

Big lists (permanent messages, global specs) are decoded in a worker thread so the event
loop keeps serving while ~58,000 specs are parsed.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

from fluxos.apps.directory import global_document
from fluxos.apps.enterprise import NOT_ARCANE
from fluxos.apps.enterprisescores import EnterpriseScores
from fluxos.apps.errors import AppSpecError
from fluxos.apps.formatter import format_spec
from fluxos.apps.hashsync import PaymentFollower
from fluxos.apps.locations import LocationBook, iso
from fluxos.apps.messages import REGISTER_TYPES
from fluxos.apps.placement import candidates, feasibility, unchecked
from fluxos.apps.registry import AppRegistry
from fluxos.clock import Clock
from fluxos.errors import BadParameter, FluxError, NotFound
from fluxos.explorer.service import Explorer
from fluxos.storage.apps import GlobalSpecRecord, StoredMessage
from fluxos.wire.jsvalues import parse_json

logger = logging.getLogger(__name__)

LATEST_VERSION = 8


def temporary_document(message: StoredMessage) -> dict[str, Any]:
    return {
        "appSpecifications": parse_json(message.spec),
        "type": message.type,
        "version": message.version,
        "hash": message.hash,
        "timestamp": message.timestamp,
        "signature": message.signature,
        "receivedAt": iso(message.received_at),
        "expireAt": iso(message.expire_at),
        "arcaneSender": message.arcane_sender,
    }


def permanent_document(message: StoredMessage) -> dict[str, Any]:
    return {
        "type": message.type,
        "version": message.version,
        "appSpecifications": parse_json(message.spec),
        "hash": message.hash,
        "timestamp": message.timestamp,
        "signature": message.signature,
        "txid": message.txid,
        "height": message.height,
        "valueSat": message.value_sat,
    }


def _globals(records: list[GlobalSpecRecord]) -> list[dict[str, Any]]:
    return [global_document(record) for record in records]


def _permanents(messages: list[StoredMessage]) -> list[dict[str, Any]]:
    return [permanent_document(message) for message in messages]


class RegistryService:
    """Facade of the registry for its routes."""

    def __init__(
        self,
        registry: AppRegistry,
        locations: LocationBook,
        follower: PaymentFollower,
        explorer: Explorer,
        clock: Clock,
        enterprise_nodes: EnterpriseScores | None = None,
    ) -> None:
        self.registry = registry
        self.enterprise_nodes = enterprise_nodes
        self.store = registry.store
        self.locations_book = locations
        self.follower = follower
        self._explorer = explorer
        self._clock = clock

    # -- owners' messages -----------------------------------------------------------------
    async def register(self, body: Any) -> str:
        return await self.registry.register(body)

    async def update(self, body: Any) -> str:
        return await self.registry.update(body)

    async def public_key(self, body: Any) -> str:
        """The key an owner encrypts enterprise content with: only fluxbenchd of an Arcane
        OS node gives one, and this node is never one — the body is still checked first,
        as upstream checks it."""
        for field in ("owner", "name"):
            value = body.get(field) if isinstance(body, dict) else None
            if not isinstance(value, str) or not value:
                raise BadParameter(f"Input parameters missing: {field} must be a non-empty text")
        raise AppSpecError(NOT_ARCANE)

    # -- placement before payment ---------------------------------------------------------
    async def _fluxnodes(self) -> list[dict[str, Any]]:
        if self.enterprise_nodes is None:
            return []
        try:
            return await self.enterprise_nodes.source.deterministic_list()
        except FluxError as error:
            raise FluxError(f"the fluxnode list cannot be read: {error.message}") from None

    async def placement_feasibility(self, body: Any) -> dict[str, Any]:
        raw = body.get("appSpecification", body) if isinstance(body, dict) else body
        if isinstance(raw, str):
            raw = parse_json(raw)
        spec = format_spec(raw, self.registry.params)
        return feasibility(spec, await self._fluxnodes())

    async def placement_locations(self, name: str) -> dict[str, Any]:
        record = await self.store.global_spec(name)
        if record is None:
            raise NotFound(f"Application {name} is not a global app")
        spec = global_document(record)
        running = {row["ip"].split(":")[0] for row in await self.locations(record.name)}
        found = candidates(spec, await self._fluxnodes())
        return {
            "name": record.name,
            "instances": spec.get("instances"),
            "running": sorted(running),
            "candidates": [n for n in found if str(n["ip"]).split(":")[0] not in running],
            "unchecked": unchecked(spec),
        }

    async def enterprise_list(self) -> list[dict[str, Any]]:
        return [] if self.enterprise_nodes is None else await self.enterprise_nodes.scored()

    # -- messages -------------------------------------------------------------------------
    async def temporary_messages(self, message_hash: str | None) -> list[dict[str, Any]]:
        messages = await self.store.temporaries(self._clock.millis(), message_hash)
        return [temporary_document(m) for m in messages]

    async def permanent_messages(
        self, message_hash: str | None, owner: str | None, name: str | None
    ) -> list[dict[str, Any]]:
        messages = await self.store.permanents(message_hash=message_hash, owner=owner, name=name)
        return await asyncio.to_thread(_permanents, messages)

    async def global_specs(
        self, message_hash: str | None, owner: str | None, name: str | None
    ) -> list[dict[str, Any]]:
        records = await self.store.global_specs(message_hash=message_hash, owner=owner, name=name)
        return await asyncio.to_thread(_globals, records)

    async def app_specification(self, name: str) -> dict[str, Any]:
        record = await self.store.global_spec(name)
        if record is None:
            raise NotFound("Application not found")
        return global_document(record)

    async def app_owner(self, name: str) -> str:
        owner = await self.registry.directory.owner_of(name)
        if owner is None:
            raise FluxError("Application not found")
        return owner

    async def original_owner(self, name: str) -> str | None:
        registrations = [
            m for m in await self.store.permanents(name=name) if m.type == REGISTER_TYPES[0]
        ]
        if not registrations:
            return None
        return str(parse_json(registrations[-1].spec).get("owner"))

    async def messages_count(self, owner: str) -> int:
        return await self.store.count_by_owner(owner)

    async def latest_spec(self, name: str) -> dict[str, Any]:
        """The app's spec rewritten as version 8 (updatetolatestspecs)."""
        spec = copy.deepcopy(await self.app_specification(name))
        spec.pop("hash", None)
        spec.pop("height", None)
        version = int(spec.get("version", 0))
        if version < 4:
            component = {
                "name": spec["name"],
                "description": spec.get("description", ""),
                "repotag": spec.get("repotag", ""),
                "ports": [int(p) for p in spec.get("ports", [spec.get("port")]) if p is not None],
                "domains": spec.get("domains", [""]),
                "environmentParameters": spec.get("enviromentParameters", []),
                "commands": spec.get("commands", []),
                "containerPorts": [
                    int(p)
                    for p in spec.get("containerPorts", [spec.get("containerPort")])
                    if p is not None
                ],
                "containerData": spec.get("containerData", ""),
                "cpu": spec.get("cpu"),
                "ram": spec.get("ram"),
                "hdd": spec.get("hdd"),
                "repoauth": "",
            }
            compose = [component]
        else:
            compose = []
            for item in spec.get("compose", []):
                component = {k: v for k, v in item.items() if k != "secrets"}
                for tier in (k for k in list(component) if k.startswith(("cpu", "ram", "hdd"))):
                    if tier not in ("cpu", "ram", "hdd"):
                        del component[tier]
                component.pop("tiered", None)
                component.setdefault("repoauth", "")
                compose.append(component)
        # upstream writes `istances` and drops the owner for v4–v7; ours keeps both right
        return {
            "version": LATEST_VERSION,
            "name": spec["name"],
            "description": spec.get("description", ""),
            "owner": spec.get("owner"),
            "compose": compose,
            "instances": spec.get("instances", 3),
            "contacts": spec.get("contacts", []),
            "geolocation": spec.get("geolocation", []),
            "expire": spec.get("expire", 22000),
            "nodes": spec.get("nodes", []),
            "staticip": spec.get("staticip", False),
            "enterprise": spec.get("enterprise", ""),
        }

    # -- hashes ---------------------------------------------------------------------------
    async def hashes(self) -> list[dict[str, Any]]:
        return [
            {
                "txid": p.txid,
                "hash": p.hash,
                "height": p.height,
                "value": p.value,
                "message": p.message,
                "messageNotFound": False,
            }
            for p in await self.store.payments()
        ]

    async def check_hashes(self) -> dict[str, int]:
        return await self.follower.sync_missing(force=True)

    async def request_message(self, message_hash: str) -> None:
        if len(message_hash) != 64:
            raise BadParameter(f"hash must be 64 hex characters, got {len(message_hash)}")
        await self.registry.request([message_hash])

    async def reconstruct_hashes(self) -> dict[str, int]:
        return {"changed": await self.store.reconcile_payment_flags()}

    # -- locations ------------------------------------------------------------------------
    async def locations(self, name: str | None) -> list[dict[str, Any]]:
        return await self.locations_book.locations(name)

    async def installing(self, name: str | None) -> list[dict[str, Any]]:
        return await self.locations_book.installing(name)

    async def installing_errors(self, name: str | None) -> list[dict[str, Any]]:
        return await self.locations_book.installing_errors(name)

    # -- operator controls ----------------------------------------------------------------
    async def reindex(self) -> int:
        return await self.registry.promoter.rebuild()

    async def rescan(self, height: int, remove_last: bool) -> int:
        scanned = await self._explorer.queries.scanned_height()
        if scanned is None or not 0 <= height < scanned:
            raise BadParameter(
                f"blockheight must be at least 0 and below the scanned height {scanned}, "
                f"got {height}"
            )
        # Upstream drops the global specs and applies the permanent messages from `height`
        # again; `removelastinformation` removes global specs (never messages) from there.
        # Deriving every global spec from all permanent messages gives that state. (This
        # route once deleted the permanent messages themselves: their payments stayed
        # marked as held, so nothing ever fetched them again.)
        logger.info(
            "rescan of global app specs from height %d (remove last: %s)", height, remove_last
        )
        return await self.registry.promoter.rebuild()

    async def reindex_locations(self) -> None:
        await self.locations_book.clear()
