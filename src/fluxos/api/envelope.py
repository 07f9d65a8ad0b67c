"""The `{status, data}` envelope every Flux API answer is wrapped in.

Upstream answers errors with HTTP 200 because wallets and the Flux UI read the body's
`status`; we keep that. This module is the only producer of the wire error shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from fluxos.errors import FluxError

JSON_MEDIA_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Message:
    """A handler result rendered as a success message `{"status":"success","data":{"message"}}`."""

    message: str
    status: str = "success"


def warning(message: str) -> Message:
    """A handler result rendered as `{"status":"warning","data":{"message"}}`."""
    return Message(message, status="warning")


# built once: json.dumps with arguments builds a new encoder on every call
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def render(body: Any) -> bytes:
    return _ENCODER.encode(body).encode()


def success_body(data: Any) -> dict[str, Any]:
    if isinstance(data, Message):
        return {"status": data.status, "data": {"message": data.message}}
    return {"status": "success", "data": data}


def error_body(error: FluxError) -> dict[str, Any]:
    return {"status": "error", "data": error.to_data()}


def json_response(body: Any, status_code: int = 200) -> Response:
    return Response(render(body), status_code=status_code, media_type=JSON_MEDIA_TYPE)


def error_response(error: FluxError) -> Response:
    response = json_response(error_body(error), status_code=error.http_status)
    retry_after = getattr(error, "retry_after", None)
    if error.http_status == 503 and retry_after is not None:
        response.headers["retry-after"] = str(retry_after)
    return response
