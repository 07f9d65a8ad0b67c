"""The OpenAPI document of the Flux routes, built from the endpoints themselves.

Flux routes are served by the prefix dispatcher, not by FastAPI's router, so registering
each of them with FastAPI only to describe it costs a quarter of a second at every start.
The document is written here instead, once, on the first request for `/openapi.json`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from fluxos.api.routing import Endpoint

_BODY_TYPES = ("application/json", "text/plain", "application/x-www-form-urlencoded")
_ENVELOPE = {
    "description": "The Flux envelope: `status` is success, warning or error; HTTP 200 "
    "unless the route says otherwise.",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


def operation(endpoint: Endpoint) -> dict[str, Any]:
    """One route's OpenAPI operation, with its permission level as `x-permission`."""
    route = endpoint.route
    row = route.row
    levels = " or ".join(p.value for p in row.permissions)
    document: dict[str, Any] = {
        "tags": [route.section],
        "summary": route.summary,
        "description": (
            f"Permission: **{levels}**. Upstream route: `{route.method} {row.template}`."
        ),
        "operationId": f"{route.method.lower()}_{row.base.strip('/').replace('/', '_')}",
        "x-permission": levels,
        "parameters": [],
        "responses": {"200": _ENVELOPE},
    }
    if route.method == "GET":
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
    else:
        document["requestBody"] = {
            "content": {media: {"schema": {"type": "object"}} for media in _BODY_TYPES}
        }
    return document


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
            for endpoint in endpoints:
                route = endpoint.route
                paths.setdefault(route.row.base, {})[route.method.lower()] = operation(endpoint)
            api.openapi_schema = schema
        return api.openapi_schema

    return build
