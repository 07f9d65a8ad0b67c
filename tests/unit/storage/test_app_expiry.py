"""Expiry in the apps registry on real SQLite (apps.md §7.1, §7.5): an unpaid message is
gone after its hour and a payment found later promotes nothing; a paid app stays global up
to its expiry height and is removed just after it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.unit.apps.spec_samples import v8_spec

from fluxos.apps.appmessages import AppMessage, MessageChecks
from fluxos.apps.directory import RegistryDirectory
from fluxos.apps.formatter import canonical_json, format_spec
from fluxos.apps.globalspecs import expiration_height
from fluxos.apps.messages import message_hash, sign_spec
from fluxos.apps.params import DEVELOPMENT
from fluxos.apps.promotion import Payment, Promoter
from fluxos.apps.quotes import flux_price_table
from fluxos.apps.registry import AppRegistry
from fluxos.clock import ManualClock
from fluxos.crypto import PrivateKey, bitcoin_address
from fluxos.storage.apps import AppsStore, StoredMessage
from fluxos.storage.areas import ALL_AREAS
from fluxos.storage.database import Database

NOW = 1_800_000_000_000
HOUR_MS = 3_600_000
HEIGHT = 2_300_000


@dataclass
class Height:
    value: int = HEIGHT

    async def current_height(self) -> int:
        return self.value


@dataclass
class Registry:
    store: AppsStore
    registry: AppRegistry
    promoter: Promoter
    height: Height


@pytest.fixture
async def apps(tmp_path: Path) -> AsyncIterator[Registry]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", ALL_AREAS)
    await database.open()
    store = AppsStore(database)
    checks = MessageChecks(DEVELOPMENT, RegistryDirectory(store))
    height = Height()

    async def prices() -> Any:
        return flux_price_table(DEVELOPMENT, [])

    promoter = Promoter(store, DEVELOPMENT, checks, height, prices)
    registry = AppRegistry(
        store, DEVELOPMENT, checker=None, network=None, heights=height,  # type: ignore[arg-type]
        clock=ManualClock(NOW / 1000), promoter=promoter, checks=checks,
    )  # fmt: skip
    try:
        yield Registry(store, registry, promoter, height)
    finally:
        await database.close()


def temporary(name: str, received: int = NOW, **fields: Any) -> StoredMessage:
    key = PrivateKey.generate()
    spec = format_spec(v8_spec(name=name, owner=bitcoin_address(key.public_key), **fields))
    signature = sign_spec(spec, key, message_type="fluxappregister", timestamp=received)
    digest = message_hash("fluxappregister", 1, spec, received, signature)
    return StoredMessage(
        hash=digest, type="fluxappregister", version=1, spec=canonical_json(spec),
        timestamp=received, signature=signature, name=name, received_at=received,
        expire_at=received + HOUR_MS, owner=str(spec["owner"]),
    )  # fmt: skip


async def test_an_unpaid_message_expires_and_a_late_payment_promotes_nothing(
    apps: Registry,
) -> None:
    message = temporary("unpaidapp")
    assert await apps.store.add_temporary(message)
    assert await apps.store.temporary(message.hash, NOW + HOUR_MS - 1) is not None
    assert await apps.store.temporary(message.hash, NOW + HOUR_MS) is None
    assert await apps.store.purge_expired(NOW + HOUR_MS) == 1
    late = Payment(message.hash, "ab" * 32, HEIGHT, 100 * 100_000_000)
    assert await apps.registry.on_payment(late) is False
    assert await apps.store.permanent(message.hash) is None
    assert await apps.store.global_specs() == []


async def test_a_paid_app_is_global_until_its_expiry_height(apps: Registry) -> None:
    message = temporary("shortapp", expire=5000)
    assert await apps.store.add_temporary(message)
    payment = Payment(message.hash, "cd" * 32, HEIGHT, 1000 * 100_000_000)
    assert await apps.promoter.promote(AppMessage.from_stored(message), payment)
    [record] = await apps.store.global_specs()
    assert record.hash == message.hash and record.height == HEIGHT
    expires = expiration_height(format_spec(v8_spec(expire=5000)), HEIGHT, DEVELOPMENT)
    assert record.expire_height == expires > HEIGHT
    assert await apps.promoter.expire(expires) == []
    assert [r.name for r in await apps.store.global_specs()] == ["shortapp"]
    assert await apps.promoter.expire(expires + 1) == ["shortapp"]
    assert await apps.store.global_specs() == []
    assert await apps.store.permanent(message.hash) is not None  # the message stays
