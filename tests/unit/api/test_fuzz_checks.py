"""The schemathesis checks the edge fuzz job runs (tests/integration/edge/schemachecks.py)
refuse what they are there to refuse, and let the declared answers through."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from tests.integration.edge.schemachecks import flux_envelope, flux_no_server_error

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "edge", "version": "1"},
    "paths": {
        "/x": {
            "get": {
                "responses": {
                    "200": {"description": "the envelope"},
                    "503": {
                        "description": "fluxd unavailable",
                        "headers": {"Retry-After": {"required": True, "schema": {}}},
                    },
                }
            }
        }
    },
}


def case() -> schemathesis.Case:
    return schemathesis.openapi.from_dict(DOCUMENT)["/x"]["GET"].Case()


def answer(status: int, body: bytes, **headers: str) -> schemathesis.Response:
    fields = {"content-type": ["application/json"]} | {
        k.replace("_", "-"): [v] for k, v in headers.items()
    }
    request = requests.Request("GET", "http://node/x").prepare()
    return schemathesis.Response(status, fields, body, request, elapsed=0.01, verify=True)


ENVELOPE = b'{"status":"error","data":{"message":"fluxd is not reachable"}}'


def test_an_undeclared_server_error_fails() -> None:
    with pytest.raises(AssertionError, match="undeclared server error 500"):
        flux_no_server_error(None, answer(500, b'{"a":1}'), case())


def test_a_declared_503_needs_its_retry_after() -> None:
    flux_no_server_error(None, answer(503, ENVELOPE, retry_after="30"), case())
    with pytest.raises(AssertionError, match="503 without Retry-After"):
        flux_no_server_error(None, answer(503, ENVELOPE), case())


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'{"status":"success"}', b'{"status":"ok","data":1}', b'{"data":1,"x":2}'],
)
def test_json_that_is_not_the_envelope_fails(body: bytes) -> None:
    with pytest.raises(AssertionError):
        flux_envelope(None, answer(200, body), case())


def test_the_envelope_and_other_media_pass() -> None:
    flux_envelope(None, answer(200, b'{"status":"warning","data":{"message":"m"}}'), case())
    text = answer(403, b"Request must be from an address on the same private network")
    text.headers["content-type"] = ["text/plain; charset=utf-8"]
    flux_envelope(None, text, case())
