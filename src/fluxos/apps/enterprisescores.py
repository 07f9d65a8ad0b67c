"""`/apps/enterprisenodes`: the fluxnodes an enterprise app owner may pin an app to, best
first (apps.md §9, upstream's enterpriseNodesService).

Each node of the deterministic list is scored from its tier, the age of its collateral,
the collateral its operator's key holds over all its nodes, Flux's list of trusted
operator keys, and how many enterprise apps (v7+ global specs with `nodes`) already name
it (each costs a quarter of the score). Nodes whose address carries a port are left out:
an enterprise app needs the node's whole IP.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from fluxos.clock import Clock
from fluxos.errors import FluxError
from fluxos.storage.apps import AppsStore
from fluxos.wire.jsvalues import parse_json

YEAR_MS = 31_556_926_000
MAX_MATURITY_POINTS = 500
TRUSTED_KEY_POINTS = 2000
COLLATERAL_POINTS = {"CUMULUS": 2, "NIMBUS": 15, "STRATUS": 30}
COLLATERAL_VALUE = {"CUMULUS": 1.0, "NIMBUS": 12.5, "STRATUS": 40.0}
MAX_KEY_VALUE = 200.0

# upstream's config.enterprisePublicKeys: operators Flux trusts (publicly known, KYC'd)
TRUSTED_PUBLIC_KEYS = frozenset(
    {
        "045bd4f81d7bda582141793463edb58e0f3228a873bd6b6680b78586db2969f51dfeda672eae65e64ca814316f77557012d02c73db7876764f5eddb6b6d9d02b5b",
        "042ebcb3a94fe66b9ded6e456871346d6984502bbadf14ed07644e0eb91f8cc0b1f07632c428e1e6793f372d9c303d680de80ae0499d51095676cabf68599e9591",
        "040a0f94fdbd670a4514a7366e8b5f7fbfb264c6ca6ea7d3f37147410b62a50525d1ed1ac83dac029de9203b9cabcf18a01b82e499ba36ea51594fd799999b2a26",
        "04092edca3ed2d2b744a1d93e504568e9d861f38232023835202c155afa9f74e3779c926745a4157a7897ca6dca30aa78aa26e4ee11101ce20db9fc79b686de5f0",
        "045964031bb8818521b99f16d2614f1bc8a9968184c9c38dc09cf95b744dae0f603ff3bbecc7845d952901ebabeb343cdcde3c4325274901768dfb102b9a34f5d6",
        "0459f5c058481d557fb63580bfbf21f3791a2f3a62a62c99b435fd8db1d59e21353bdae35cfe00adaf7c4f2f0d400afc698e9c58ee6a3894c20706b3db7da83750",
        "040ecac42ff4468fa8ae094e125fb8ae67c1a588e7b218ac0a9d270bba882c19db656b7b5d99b1af0fe96c34475545088a5bd87efb9a771174bcdd7fb499dd7ca3",
        "04a52af6e9688fcb9d47096f8a15db67131f9b0bbfb50c28fd22028d9fba18f4e9bd3293b43ed64634dbba11688b4e37f1f8e65629b6a204df352d3ecfb174b9f5",
        "04ce029f9d17da47809cbde46e0ea2eace185f79f98e5718cb4ddc3d84bfd742cd3e3951388fcd2771238ab323fe22d53c3dced2a30326ead0447b10f7db0a829b",
        "04dbbf2ba07d28b0010f4faa0537d963b3481b5d8e7ec0de29f311264a4ab074d4d579aca1c2aa3eb31e96f439a6d6bbf72393584049923f342ed4762f13fe7be4",
        "043c4fe1606c543ca28f107245166321fae026300747a608db94deecbcd2d945f86b29c52a33416464e7823a6c2e3e45c26733f6378be973959cbf9ee4bff79e66",
        "04a898a0bc768ad0b8456b4da7c1e653a715477926fefb47ef20d8bd841854ddf4e1f59c1c3d55f0088eaca53b850e6ab03d0bd00d0b5a70d17ffbc0554b6188d5",
        "0455a20efde6a0685fa15b020e694674170376bc7c23d203e96fb927717db38011b87c36b2f81c5cf68123c5567abf2b29788231966ea4c43c4f5cb759e4c5cdbb",
        "04c765d054bcded999c404145c7396725df81973fe803b3da5e9455173410743f43e20294e17bb41adff8b4ff1ab5540b8bcd98521b438840b6a38e904eb0b247f",
        "03cf1d8b708ca7f5979accb4d0dba35a90391e3dfc4422cf12670c929bb58d16ac",
        "03e29783936a36b396c28706494dbfd35f3d087f2addeb3df32e451f71bf9a53f3",
    }
)


class FluxnodeListSource(Protocol):
    async def deterministic_list(self) -> list[dict[str, Any]]: ...


def pinned_counts(specs: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many enterprise apps (v7+, non-empty `nodes`) name each ip or txhash:outidx."""
    counts: dict[str, int] = {}
    for spec in specs:
        version = spec.get("version")
        nodes = spec.get("nodes")
        if not isinstance(version, int) or version < 7 or not isinstance(nodes, list):
            continue
        for node in nodes:
            key = str(node)
            counts[key] = counts.get(key, 0) + 1
    return counts


def _seconds(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def score_nodes(
    entries: Iterable[Mapping[str, Any]],
    pinned: Mapping[str, int],
    now_ms: int,
    trusted: frozenset[str] = TRUSTED_PUBLIC_KEYS,
) -> list[dict[str, Any]]:
    """The scored list, best first (ties keep fluxd's order, as upstream's stable sort)."""
    nodes = list(entries)
    key_value: dict[str, float] = {}
    for entry in nodes:
        pubkey = str(entry.get("pubkey") or "")
        key_value[pubkey] = key_value.get(pubkey, 0.0) + COLLATERAL_VALUE.get(
            str(entry.get("tier")), 0.0
        )
    scored: list[dict[str, Any]] = []
    for entry in nodes:
        ip = entry.get("ip")
        if not isinstance(ip, str) or not ip or ":" in ip:
            continue
        tier = entry.get("tier")
        pubkey = str(entry.get("pubkey") or "")
        since = _seconds(entry.get("activesince"))  # unreadable: no maturity (upstream NaN)
        age = 0.0 if since is None else max(0.0, now_ms - since * 1000)
        maturity = math.floor(MAX_MATURITY_POINTS * min(1.0, age / YEAR_MS))
        key_points = math.floor(min(key_value.get(pubkey, 0.0), MAX_KEY_VALUE) * 2.5)
        collateral = COLLATERAL_POINTS.get(str(tier), 0)
        enterprise = TRUSTED_KEY_POINTS if pubkey in trusted else 0
        apps = pinned.get(ip, 0) + pinned.get(f"{entry.get('txhash')}:{entry.get('outidx')}", 0)
        score: float = collateral + maturity + key_points + enterprise
        for _ in range(apps):
            score *= 0.75
        scored.append(
            {
                "tier": tier,
                "payment_address": entry.get("payment_address"),
                "txhash": entry.get("txhash"),
                "outidx": entry.get("outidx"),
                "pubkey": entry.get("pubkey"),
                "ip": ip,
                "collateralPoints": collateral,
                "maturityPoints": maturity,
                "pubKeyPoints": key_points,
                "enterprisePoints": enterprise,
                "enterpriseApps": apps,
                "score": math.floor(score),
            }
        )
    scored.sort(key=lambda node: -node["score"])
    return scored


class EnterpriseScores:
    """The scored list from fluxd's deterministic list and the registry's global specs."""

    def __init__(self, source: FluxnodeListSource, store: AppsStore, clock: Clock) -> None:
        self.source = source
        self._store = store
        self._clock = clock

    async def scored(self) -> list[dict[str, Any]]:
        try:
            entries = await self.source.deterministic_list()
        except FluxError:
            return []  # upstream answers an empty list when fluxd cannot be read
        specs = [parse_json(record.spec) for record in await self._store.global_specs()]
        return score_nodes(entries, pinned_counts(specs), self._clock.millis())
