import pytest
from hypothesis import given
from hypothesis import strategies as st

from fluxos.wire.bodies import NestedTooDeep, ensure_object, parse_qs, stringify_qs


def test_json_object_and_array_are_kept() -> None:
    assert ensure_object(b'{"zelid":"1abc","n":5}') == {"zelid": "1abc", "n": 5}
    assert ensure_object("[1,2]") == [1, 2]


def test_non_objects_become_empty_and_null_is_kept() -> None:
    assert ensure_object(b"") == {}
    assert ensure_object("   ") == {}
    assert ensure_object("5") == {}
    assert ensure_object('"text"') == {}
    assert ensure_object("null") is None


def test_query_string_body_like_the_flux_ui_sends() -> None:
    body = "zelid=1CbEr&signature=IH9d68fk%2FdYQ%3D&loginPhrase=1612516082039abc"
    assert ensure_object(body) == {
        "zelid": "1CbEr",
        "signature": "IH9d68fk/dYQ=",
        "loginPhrase": "1612516082039abc",
    }


def test_plain_text_becomes_a_key() -> None:
    # upstream's ensureObject turns a bare word into {"word": ""}
    assert ensure_object("abc") == {"abc": ""}


def test_qs_brackets_arrays_and_repeats() -> None:
    parsed = parse_qs("blockedPorts%5B0%5D=1&blockedPorts%5B1%5D=2&a[]=x&a[]=y&b[c][d]=1&e=1&e=2")
    assert parsed == {
        "blockedPorts": ["1", "2"],
        "a": ["x", "y"],
        "b": {"c": {"d": "1"}},
        "e": ["1", "2"],
    }
    assert parse_qs("q=a+b%2Bc") == {"q": "a b+c"}


def test_stringify_matches_qs_encoding() -> None:
    frame = stringify_qs(
        {
            "status": "success",
            "data": {"message": "Successfully logged in", "sig": "a/b+c=", "x": None},
        }
    )
    assert frame == (
        "status=success&data%5Bmessage%5D=Successfully%20logged%20in&data%5Bsig%5D=a%2Fb%2Bc%3D"
    )


_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)))


@given(st.dictionaries(_TEXT.filter(lambda k: k and not set(k) & set("[]&=?")), _TEXT, max_size=8))
def test_flat_stringify_then_parse_round_trips(values: dict[str, str]) -> None:
    assert parse_qs(stringify_qs(values)) == values


@given(st.binary(max_size=200))
def test_ensure_object_never_raises(raw: bytes) -> None:
    result = ensure_object(raw)
    assert result is None or isinstance(result, dict | list)


def test_qs_stops_at_its_parameter_limit_before_splitting() -> None:
    parsed = parse_qs("&".join(f"k{i}=v" for i in range(1500)))
    assert len(parsed) == 1000
    assert "k999" in parsed and "k1000" not in parsed
    # empty pieces count towards the limit, as in qs (str.split with a limit)
    assert parse_qs("&" * 1000 + "late=1") == {}


def test_qs_of_millions_of_pieces_stays_small() -> None:
    import tracemalloc

    body = "a&" * 4_000_000  # 8 MB of `a&a&…`
    tracemalloc.start()
    try:
        parsed = parse_qs(body)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parsed == {"a": {str(i): "" for i in range(1000)}}  # past 20 repeats: an object
    # splitting all pieces would hold four million strings (hundreds of MB)
    assert peak < 20 * 1024 * 1024


def test_qs_keeps_brackets_beyond_depth_five_in_the_key() -> None:
    assert parse_qs("a[b][c][d][e][f][g][h]=1") == {
        "a": {"b": {"c": {"d": {"e": {"f": {"[g][h]": "1"}}}}}}
    }


@pytest.mark.parametrize("what", ["request body", "zelidauth header"])
def test_json_nested_too_deeply_is_a_parameter_error(what: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(NestedTooDeep) as raised:
        ensure_object(deep, what)
    rule = "is JSON nested too deeply (the limit is about 1,000 levels)"
    assert str(raised.value) == f"{what} {rule}"
    nested = ensure_object("[" * 200 + "]" * 200)
    for _ in range(199):
        nested = nested[0]
    assert nested == []


def test_nan_and_infinity_are_not_json() -> None:
    # JSON.parse throws on them, so upstream's ensureObject falls back to qs
    assert ensure_object("NaN") == {"NaN": ""}
    assert ensure_object('{"a":Infinity}') == {'{"a":Infinity}': ""}
    assert ensure_object('{"a":-Infinity}') == {'{"a":-Infinity}': ""}


def test_qs_array_limit_of_twenty_items() -> None:
    # qs 6.14.3 (what upstream's "~6.14.0" installs): at most 20 items, indices below 20
    def pieces(count: int, piece: str) -> str:
        return "&".join(piece.format(i) for i in range(count))

    assert parse_qs(pieces(20, "e={}")) == {"e": [str(i) for i in range(20)]}
    as_object = {str(i): str(i) for i in range(21)}
    assert parse_qs(pieces(21, "e={}")) == {"e": as_object}
    assert parse_qs(pieces(21, "e[]={}")) == {"e": as_object}
    assert parse_qs(pieces(21, "e[{}]={}".replace("{}", "{0}"))) == {"e": as_object}
    assert parse_qs(pieces(21, "a[b][]={}")) == {"a": {"b": as_object}}
    assert parse_qs("e[19]=a") == {"e": ["a"]}
    assert parse_qs("e[20]=a") == {"e": {"20": "a"}}
