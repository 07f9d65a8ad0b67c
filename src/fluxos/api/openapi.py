"""The OpenAPI document of the Flux routes, built from the endpoints themselves.

Flux routes are served by the prefix dispatcher, not by FastAPI's router, so registering
each of them with FastAPI only to describe it costs a quarter of a second at every start.
The document is written here instead, once, on the first request for `/openapi.json`.

Every operation declares its answers: the success envelope with the `data` its handler's
return annotation promises (a `Message` is `{message}`, and may come as a warning), and
the error envelope, which any route may answer (HTTP 200 as upstream, or the error's own
status). Routes that answer files, text or streams declare those media types. A GET
route is listed in both of its forms: the query form at its base path, and one path per
count of ordered segments (`/daemon/getblock/{hashheight}/{verbosity}`).
"""

from __future__ import annotations

import logging
import types
import typing
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import TypeAdapter
from pydantic.errors import PydanticSchemaGenerationError
from starlette.responses import Response

from fluxos.api.envelope import Message
from fluxos.api.routing import Endpoint, Route
from fluxos.api.streams import Streamed

log = logging.getLogger(__name__)

_BODY_TYPES = ("application/json", "text/plain", "application/x-www-form-urlencoded")
_REF = "#/components/schemas/{model}"
# a route's own answers besides the envelope: text, streams, archives, and files served in
# the media type their name gives (FluxShare, backups)
_RAW_TYPES = (
    "text/plain",
    "application/octet-stream",
    "text/event-stream",
    "application/zip",
    "*/*",
)

ERROR_DATA = {
    "type": "object",
    "required": ["message"],
    "properties": {
        # upstream's codes: HTTP-like numbers, fluxd's RPC codes, or Node's errno names
        "code": {"type": ["integer", "string"]},
        "name": {"type": "string"},
        "message": {"type": "string"},
    },
}
ERROR_ENVELOPE = {
    "type": "object",
    "required": ["status", "data"],
    "properties": {
        "status": {"const": "error"},
        "data": {"$ref": "#/components/schemas/ErrorData"},
    },
}
MESSAGE_DATA = {
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}
COMPONENTS: dict[str, Any] = {
    "ErrorData": ERROR_DATA,
    "ErrorEnvelope": ERROR_ENVELOPE,
    "MessageData": MESSAGE_DATA,
}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
_UNAVAILABLE = {
    "description": "fluxd is unreachable or still loading (routes that need it, as upstream "
    "8.18): the error envelope; retry after the seconds given.",
    "headers": {"Retry-After": {"required": True, "schema": {"type": "string"}}},
    "content": {"application/json": {"schema": _ERROR_REF}},
}
_EMPTY = {"description": "Upstream's bare status, no body."}
_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}
# Routes that answer some refusals as upstream does, outside the envelope: a bare status
# (keepupnpportsopen, whose callers are nodes reading only the status) or a line of text
# (the chain stream, read by a shell script).
BARE_ANSWERS: dict[str, dict[str, dict[str, Any]]] = {
    "/flux/keepupnpportsopen": {str(status): _EMPTY for status in (202, 401, 422, 503)},
    **{
        base: {
            str(status): {"description": "Upstream's refusal as a line of text.", **_TEXT}
            for status in (403, 422, 500, 503)
        }
        for base in ("/flux/streamchain", "/flux/streamchainpreparation")
    },
}

# Routes that start a background job: 202 with the job's id and where to poll it.
ACCEPTED_ANSWERS: dict[str, dict[str, dict[str, Any]]] = {
    f"/apps/{kind}object": {
        "202": {
            "description": "Accepted: `{jobId, statusUrl, status}`, polled at statusUrl.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
    for kind in ("move", "copy", "compress", "extract")
}


class Answer:
    """What a handler's return annotation says it answers."""

    def __init__(self) -> None:
        self.data: list[dict[str, Any]] = []
        self.statuses = {"success"}
        self.raw = False  # a Response or Streamed: not (only) the envelope

    def envelope(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if len(self.data) == 1:
            data = self.data[0]
        elif self.data:
            data = {"anyOf": self.data}
        return {
            "type": "object",
            "required": ["status", "data"],
            "properties": {"status": {"enum": sorted(self.statuses)}, "data": data},
        }


def answer_of(handler: Callable[..., Any], components: dict[str, Any]) -> Answer:
    """The answer `handler`'s return annotation declares; models it names join `components`."""
    answer = Answer()
    target = handler if isinstance(handler, types.FunctionType) else type(handler).__call__
    try:
        annotation = typing.get_type_hints(target).get("return", Any)
    except (NameError, TypeError):  # an annotation only a type checker can resolve
        annotation = Any
    members = (
        typing.get_args(annotation)
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union
        else (annotation,)
    )
    for member in members:
        if member is Message:
            answer.statuses.add("warning")
            answer.data.append({"$ref": "#/components/schemas/MessageData"})
        elif isinstance(member, type) and issubclass(member, Response | Streamed):
            answer.raw = True
        else:
            answer.data.append(_schema(member, components))
    return answer


def _schema(annotation: Any, components: dict[str, Any]) -> dict[str, Any]:
    if annotation is Any:
        return {}
    try:
        schema = TypeAdapter(annotation).json_schema(ref_template=_REF, mode="serialization")
    except PydanticSchemaGenerationError:
        log.debug("no JSON schema for %r; its data is declared as any value", annotation)
        return {}
    components.update(schema.pop("$defs", {}))
    return schema


def operation(
    endpoint: Endpoint,
    components: dict[str, Any] | None = None,
    path_params: int | None = None,
) -> dict[str, Any]:
    """One route's OpenAPI operation, with its permission level as `x-permission`.

    `path_params`: the operation of the ordered-path form with that many segments (GET).
    """
    route = endpoint.route
    row = route.row
    levels = " or ".join(p.value for p in row.permissions)
    answer = answer_of(route.handler, COMPONENTS if components is None else components)
    suffix = f"_{path_params}" if path_params else ""
    document: dict[str, Any] = {
        "tags": [route.section],
        "summary": route.summary,
        "description": (
            f"Permission: **{levels}**. Upstream route: `{route.method} {row.template}`."
        ),
        "operationId": f"{route.method.lower()}_{row.base.strip('/').replace('/', '_')}{suffix}",
        "x-permission": levels,
        "parameters": [],
        "responses": _responses(route, answer),
    }
    if route.method == "GET" and path_params:
        document["parameters"] = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1},
                "description": f"ordered segment {i + 1} of {row.template}",
            }
            for i, name in enumerate(row.params[:path_params])
        ]
    elif route.method == "GET":
        document["parameters"] = [
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": f"also accepted as path segment {i + 1}: {row.template}",
            }
            for i, name in enumerate(row.params)
        ]
    elif route.body == "stream":
        document["requestBody"] = {
            "content": {"application/octet-stream": {"schema": {"type": "string"}}}
        }
    else:
        document["requestBody"] = {
            "content": {media: {"schema": {"type": "object"}} for media in _BODY_TYPES}
        }
    return document


def _responses(route: Route, answer: Answer) -> dict[str, Any]:
    json_content: dict[str, Any] = {"schema": {"anyOf": [answer.envelope(), _ERROR_REF]}}
    success: dict[str, Any] = {
        "description": "The Flux envelope: `status` success (or warning), else error with "
        "HTTP 200 as upstream answers most errors.",
        "content": {"application/json": json_content},
    }
    if answer.raw or route.response == "stream":
        success["description"] = "The route's file, text or stream; errors as the envelope."
        success["content"].update({media: {"schema": {}} for media in _RAW_TYPES})
        if not answer.data:  # only raw answers: the JSON ones are errors
            json_content["schema"] = {}
    responses: dict[str, Any] = {
        "200": success,
        "default": {
            "description": "The error envelope with the error's HTTP status.",
            "content": {"application/json": {"schema": _ERROR_REF}},
        },
    }
    responses["503"] = _UNAVAILABLE
    responses.update(BARE_ANSWERS.get(route.base, {}))
    responses.update(ACCEPTED_ANSWERS.get(route.base, {}))
    if route.row.local_only:
        responses["401"] = {
            "description": "Not called from this machine.",
            "content": {"text/plain": {"schema": {"const": "Access denied"}}},
        }
    return responses


def path_forms(endpoint: Endpoint) -> list[tuple[str, int | None]]:
    """(OpenAPI path, ordered segments) of every form of the route: the base path (query
    form, or the POST), then for GET one path per count of segments."""
    route = endpoint.route
    forms: list[tuple[str, int | None]] = [(route.base, None)]
    if route.method == "GET":
        params = route.row.params
        for count in range(1, len(params) + 1):
            segments = "/".join("{" + name + "}" for name in params[:count])
            forms.append((f"{route.base}/{segments}", count))
    return forms


def document_builder(api: FastAPI, endpoints: Iterable[Endpoint]) -> Callable[[], dict[str, Any]]:
    """A replacement for `api.openapi` that adds the Flux routes to FastAPI's own document."""
    endpoints = list(endpoints)

    def build() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(
                title=api.title,
                version=api.version,
                description=api.description,
                routes=api.routes,
            )
            paths: dict[str, Any] = schema.setdefault("paths", {})
            components = dict(COMPONENTS)
            for endpoint in endpoints:
                method = endpoint.route.method.lower()
                for path, count in path_forms(endpoint):
                    paths.setdefault(path, {})[method] = operation(endpoint, components, count)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
            api.openapi_schema = schema
        return api.openapi_schema

    return build
