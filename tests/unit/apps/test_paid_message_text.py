"""A paid message keeps the stored text of its spec: a rebuild writes it back as the global
spec instead of serialising the parsed spec again — the two must be the same text."""

from __future__ import annotations

import pytest
from tests.unit.apps.spec_samples import component, seed_spec, v3_spec, v8_spec

from fluxos.apps.formatter import canonical_json, format_spec
from fluxos.apps.globalspecs import PaidMessage
from fluxos.apps.params import MAINNET
from fluxos.wire.jsvalues import parse_json

SPECS = {
    "v3": v3_spec(cpu=0.5, ram=1000),
    "v8": v8_spec(compose=[component(cpu=0.1), component(name="b", cpu=1.5, ram=300)]),
    "seed": seed_spec(),
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_stored_text_is_what_serialising_the_spec_gives(name: str) -> None:
    text = canonical_json(format_spec(SPECS[name], MAINNET))
    message = PaidMessage.from_text("a" * 64, "fluxappregister", text, 1, 2, 3)
    assert message.canonical_spec == text == canonical_json(parse_json(text))
    built = PaidMessage("a" * 64, "fluxappregister", parse_json(text), 1, 2, 3)
    assert built.canonical_spec == text
