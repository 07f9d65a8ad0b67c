"""The route table of the Flux API (`routes.tsv`): every path, its ordered parameters,
its permission level and upstream's response-cache lifetime.

Routers declare a handler by method and path; the table supplies the rest, so one
declaration serves both the ordered-path form (`/daemon/getblock/5/1`) and the query form
(`/daemon/getblock?hashheight=5&verbosity=1`), and the permission sweep test walks the
same table the server is built from.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fluxos.wire.permissions import Permission

_DURATION = re.compile(r"^(\d+)\s*(second|minute|hour|day)s?$")
_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class RouteRow:
    """One row of the table: a method and a path template such as `/a/b/:x?/:y?`."""

    method: str
    template: str
    base: str
    params: tuple[str, ...]
    permissions: tuple[Permission, ...]
    caller_dependent: bool
    cache_seconds: int | None
    local_only: bool

    @property
    def permission(self) -> Permission:
        """The least privilege that may call the route (the sweep tests below it)."""
        return min(self.permissions, key=_RANK.__getitem__)


_RANK = {
    Permission.PUBLIC: 0,
    Permission.USER: 1,
    Permission.APPOWNER: 2,
    Permission.APPOWNERABOVE: 2,
    Permission.APPOWNERORFLUXTEAM: 2,
    Permission.ADMINANDFLUXTEAM: 3,
    Permission.ADMIN: 4,
    Permission.FLUXTEAM: 4,
}


def split_template(template: str) -> tuple[str, tuple[str, ...]]:
    """`/daemon/getblock/:hashheight?/:verbosity?` → `/daemon/getblock`, (hashheight, verbosity)."""
    static: list[str] = []
    params: list[str] = []
    for segment in template.strip("/").split("/"):
        if segment.startswith(":"):
            params.append(segment[1:].rstrip("?"))
        elif params:
            raise ValueError(f"static segment {segment!r} after a parameter in {template}")
        else:
            static.append(segment)
    return "/" + "/".join(static), tuple(params)


def parse_permissions(text: str) -> tuple[tuple[Permission, ...], bool]:
    """Permission column → (levels any of which grants access, caller-dependent output)."""
    caller_dependent = "(" in text
    names = text.split("(")[0].strip()
    if not names or names == "?":
        # fail closed: a route whose level nobody wrote down is not served as public
        raise ValueError(f"permission {text!r} names no level (public, user, admin, …)")
    return tuple(Permission(n.strip()) for n in names.split(",")), caller_dependent


def parse_cache(text: str) -> int | None:
    match = _DURATION.match(text.strip())
    if not match:
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@cache
def load_route_table() -> dict[tuple[str, str], RouteRow]:
    """All rows keyed by (method, base path). Read once from the packaged `routes.tsv`."""
    text = resources.files("fluxos.api").joinpath("routes.tsv").read_text()
    rows: dict[tuple[str, str], RouteRow] = {}
    for record in csv.DictReader(text.splitlines(), delimiter="\t"):
        method = record["method"].strip()
        template = record["path"].strip()
        if not method or not template:
            continue
        base, params = split_template(template)
        permissions, caller_dependent = parse_permissions(record["permission"])
        rows[(method, base)] = RouteRow(
            method=method,
            template=template,
            base=base,
            params=params,
            permissions=permissions,
            caller_dependent=caller_dependent,
            cache_seconds=parse_cache(record["cache"]),
            local_only=record["local_only"].strip() == "yes",
        )
    return rows
