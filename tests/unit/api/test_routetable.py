import pytest

from fluxos.api.routetable import load_route_table, parse_cache, parse_permissions, split_template
from fluxos.wire.permissions import Permission


def test_split_template() -> None:
    assert split_template("/daemon/getblock/:hashheight?/:verbosity?") == (
        "/daemon/getblock",
        ("hashheight", "verbosity"),
    )
    assert split_template("/flux/version") == ("/flux/version", ())


def test_parse_permissions_and_cache() -> None:
    assert parse_permissions("public (admin sees extra fields)") == ((Permission.PUBLIC,), True)
    assert parse_permissions("adminandfluxteam,appownerabove") == (
        (Permission.ADMINANDFLUXTEAM, Permission.APPOWNERABOVE),
        False,
    )
    assert parse_cache("30 seconds") == 30
    assert parse_cache("1 hour") == 3600
    assert parse_cache("1 day") == 86400
    assert parse_cache("") is None


def test_table_holds_every_route_once() -> None:
    table = load_route_table()
    assert len(table) == 475
    row = table[("GET", "/daemon/getblock")]
    assert row.params == ("hashheight", "verbosity")
    assert row.permission is Permission.PUBLIC
    assert row.cache_seconds == 30
    assert table[("GET", "/flux/backendfolder")].local_only
    assert table[("GET", "/id/loggedusers")].permission is Permission.ADMIN


def test_a_route_without_a_level_is_refused() -> None:
    for text in ("", "?", "  "):
        with pytest.raises(ValueError, match="names no level"):
            parse_permissions(text)


def test_upstream_levels_of_the_arcane_and_event_routes() -> None:
    table = load_route_table()
    for key in (
        ("GET", "/arcane/authchallenge"),
        ("POST", "/arcane/configsync"),
        ("GET", "/flux/eventstream"),
    ):
        assert table[key].permissions == (Permission.PUBLIC,)
        assert not table[key].caller_dependent
