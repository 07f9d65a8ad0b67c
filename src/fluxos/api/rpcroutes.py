"""The RPC-backed routes of the Flux API as data: every `/daemon/*` and `/benchmark/*` route
that forwards to fluxd or fluxbenchd is one row here (spec daemon.md §3, §4.2).

A row names its paths, the RPC method, the ordered arguments with their coercions, and
flags for the few routes that do more than forward (admin-only fields, `?limit=`, the
stored benchmark). Permission and route-cache lifetime come from `routes.tsv`; one
generic handler (`fluxos.api.passthrough`) serves every row.

Argument rules, applied in order (they reproduce upstream's `if (x) params.push(...)`
chains): a `required` argument that is absent makes the call go out with no params at
all, so fluxd answers with its usage text; an optional argument with a `default` takes
it; an optional argument without one ends the param list there (later ones are dropped,
as upstream nests them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fluxos.api.coercions import (
    boolean,
    json_object,
    number,
    one_or_many,
    raw,
)
from fluxos.daemon.service import Daemon

Coercion = Callable[[str, Any], Any]
Lookup = Callable[[str], Any]


class _Optional:
    def __repr__(self) -> str:
        return "OPTIONAL"


OPTIONAL: Any = _Optional()


@dataclass(frozen=True)
class TipOffset:
    """A default computed from the chain tip: `getblockcount + blocks` (resolved per call)."""

    blocks: int


@dataclass(frozen=True)
class Arg:
    """One request value: its name (path segment / query / body key), how it is coerced,
    its default, other names it is accepted under, and its key inside a packed object."""

    name: str
    coerce: Coercion = raw
    default: Any = OPTIONAL
    required: bool = False
    aliases: tuple[str, ...] = ()
    key: str | None = None

    def lookup(self, values: Lookup) -> Any:
        for name in (self.name, *self.aliases):
            value = values(name)
            if value is not None:
                return value
        return None


@dataclass(frozen=True)
class Const:
    """A fixed RPC param (e.g. the empty account name `""` wallet calls start with)."""

    value: Any


Shaper = Callable[[Lookup], list[Any]]


@dataclass(frozen=True)
class RpcRoute:
    """A row: the paths it serves and how a request becomes one RPC call."""

    paths: tuple[str, ...]
    rpc: str
    args: tuple[Arg | Const, ...] = ()
    target: Daemon = Daemon.FLUXD
    packed: bool = False  # the args form one object param: [{key: value, …}]
    shape: Shaper | None = None  # a row whose params follow no rule above
    post: bool = False  # also served as POST, body keys named like the args
    admin_fields: tuple[str, ...] = ()  # result keys only the admin sees
    limit: bool = False  # `?limit=N` keeps the first N entries of a list result
    fresh: bool = False  # never answered from the RPC cache
    stores_benchmark: bool = False  # a valid result is kept as the stored benchmark
    stops: Daemon | None = None  # the daemon this call stops (the node must not restart it)

    def build_params(self, values: Lookup) -> list[Any]:
        """The RPC params for a request whose values `values(name)` returns (None = absent)."""
        if self.shape is not None:
            return self.shape(values)
        if self.packed:
            return self._packed(values)
        params: list[Any] = []
        for arg in self.args:
            if isinstance(arg, Const):
                params.append(arg.value)
                continue
            value = arg.lookup(values)
            if value is None:
                if arg.required:
                    return []
                if arg.default is OPTIONAL:
                    break
                params.append(_coerce_default(arg))
                continue
            params.append(arg.coerce(arg.name, value))
        else:
            return params
        # an optional argument ended the list; a later required one still empties it
        if any(isinstance(a, Arg) and a.required and a.lookup(values) is None for a in self.args):
            return []
        return params

    def _packed(self, values: Lookup) -> list[Any]:
        packed: dict[str, Any] = {}
        for arg in self.args:
            if isinstance(arg, Const):
                continue
            value = arg.lookup(values)
            key = arg.key or arg.name
            if value is None:
                if arg.required:
                    return []
                if arg.default is not OPTIONAL:
                    packed[key] = _coerce_default(arg)
                continue
            packed[key] = arg.coerce(arg.name, value)
        return [packed]


def _coerce_default(arg: Arg) -> Any:
    if isinstance(arg.default, TipOffset):
        return arg.default
    return arg.coerce(arg.name, arg.default)


def block_hashes_params(values: Lookup) -> list[Any]:
    """getblockhashes `[high?, low?, options?]`: each number only when given; the options
    object from `options` (POST) or from the flags, under either spelling (upstream read
    only the camelCase query names, so the documented path segments did nothing)."""
    params: list[Any] = []
    for name in ("high", "low"):
        value = values(name)
        if value is not None:
            params.append(number(name, value))
    options = values("options")
    if options is not None:
        params.append(json_object("options", options))
        return params
    flags: dict[str, bool] = {}
    for key, spellings in (
        ("noOrphans", ("noorphans", "noOrphans")),
        ("logicalTimes", ("logicaltimes", "logicalTimes")),
    ):
        for spelling in spellings:
            value = values(spelling)
            if value is not None:
                flags[key] = boolean(spelling, value)
                break
    if flags:
        params.append(flags)
    return params


# ----------------------------------------------------------------------------------------
# Short constructors keep the table readable: one row per line where it fits.


def req(name: str, coerce: Coercion = raw, **kw: Any) -> Arg:
    return Arg(name, coerce, required=True, **kw)


def opt(name: str, coerce: Coercion = raw, default: Any = OPTIONAL, **kw: Any) -> Arg:
    return Arg(name, coerce, default=default, **kw)


def daemon(*names: str) -> tuple[str, ...]:
    return tuple(f"/daemon/{name}" for name in names)


def rpc(paths: str | tuple[str, ...], method: str, *args: Arg | Const, **flags: Any) -> RpcRoute:
    return RpcRoute(
        paths=daemon(paths) if isinstance(paths, str) else paths, rpc=method, args=args, **flags
    )


def address_index(method: str, *extra: Arg) -> RpcRoute:
    """The insight address-index calls: one object param built around `addresses`."""
    addresses = req("address", one_or_many, aliases=("addresses",), key="addresses")
    return rpc(method, method, addresses, *extra, packed=True, post=True)


def bench(paths: tuple[str, ...], method: str, *args: Arg, **flags: Any) -> RpcRoute:
    return RpcRoute(paths=paths, rpc=method, args=args, target=Daemon.FLUXBENCH, **flags)
