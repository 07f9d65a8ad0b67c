"""Schemathesis checks of the Flux edge (loaded through SCHEMATHESIS_HOOKS by
test_schema_fuzz.py): no server error the route does not declare, and every JSON answer
is the envelope. The document's own schemas are checked by Schemathesis itself
(response_schema_conformance, content_type_conformance)."""

from __future__ import annotations

import json
from typing import Any

import schemathesis


def _declared(case: schemathesis.Case, status: int) -> dict[str, Any] | None:
    responses: dict[str, Any] = case.operation.definition.raw.get("responses", {})
    found = responses.get(str(status))
    return found if isinstance(found, dict) else None


@schemathesis.check
def flux_no_server_error(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A 5xx only where the route declares that status: 503 "fluxd unavailable" with its
    Retry-After, or a route's own refusal (the chain stream's 503s). Never a 500 that the
    route does not name, never a trace."""
    status = response.status_code
    if status < 500:
        return None
    declared = _declared(case, status)
    if declared is None:
        raise AssertionError(f"undeclared server error {status}: {response.text[:300]}")
    if status == 503 and "Retry-After" in declared.get("headers", {}):
        assert response.headers.get("retry-after"), "503 without Retry-After"
    assert "Traceback" not in response.text, response.text[:300]
    return None


@schemathesis.check
def flux_envelope(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Every JSON answer is `{status, data}` with status success, warning or error."""
    media = (response.headers.get("content-type") or [""])[0]
    if not media.startswith("application/json"):
        return None
    body = json.loads(response.content)
    assert isinstance(body, dict), f"not an envelope: {response.text[:300]}"
    assert set(body) == {"status", "data"}, f"not an envelope: {response.text[:300]}"
    assert body["status"] in ("success", "warning", "error"), body["status"]
    return None
