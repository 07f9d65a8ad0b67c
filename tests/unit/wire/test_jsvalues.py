import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fluxos.wire.jsvalues import (
    UNDEFINED,
    ensure_array,
    ensure_boolean,
    ensure_string,
    is_array_index,
    is_decimal_limit,
    is_integer,
    js_length,
    js_mod,
    number_to_string,
    own_keys,
    parse_json,
    string_to_number,
    stringify,
    to_fixed,
    to_number,
    to_string,
    truthy,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (5000, "5000"),
        (5000.0, "5000"),
        (2.5, "2.5"),
        (-0.0, "0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (123456789012345680000.0, "123456789012345680000"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (0.000001, "0.000001"),
        (0.00001234, "0.00001234"),
        (2**53, "9007199254740992"),
        (2**53 + 1, "9007199254740992"),  # beyond doubles, as JS would hold it
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (-1.25e25, "-1.25e+25"),
        (math.inf, "Infinity"),
        (math.nan, "NaN"),
    ],
)
def test_number_to_string_matches_javascript(value: float, text: str) -> None:
    assert number_to_string(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_to_string_round_trips(value: float) -> None:
    assert float(number_to_string(value)) == value


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (1.005, 2, "1.00"),  # 1.005 is stored just below 1.005
        (0.125, 2, "0.13"),  # an exact tie rounds away from zero
        (2.5, 0, "3"),
        (-1.5, 0, "-2"),
        (-0.001, 2, "-0.00"),
        (-0.0, 2, "0.00"),
        (1.7625, 2, "1.76"),
        (1e21, 2, "1e+21"),
        (math.nan, 2, "NaN"),
    ],
)
def test_to_fixed_matches_javascript(value: float, digits: int, text: str) -> None:
    assert to_fixed(value, digits) == text


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("  12  ", 12),
        ("\u00a012\ufeff", 12),
        ("0x1A", 26),
        ("0b101", 5),
        ("1e3", 1000),
        ("+.5", 0.5),
        ("5.", 5),
        ("", 0),
        ("Infinity", math.inf),
        ("-Infinity", -math.inf),
        ([], 0),
        ([7], 7),
        (None, 0),
        (True, 1),
        (2.0, 2),
    ],
)
def test_to_number_matches_javascript(value: object, number: float) -> None:
    result = to_number(value)
    assert result == number
    assert not isinstance(result, bool)


@pytest.mark.parametrize("value", ["-0x1A", "1_000", "inf", "nan", "12px", [1, 2], {}, UNDEFINED])
def test_to_number_gives_nan(value: object) -> None:
    assert math.isnan(to_number(value))


def test_integral_numbers_become_ints() -> None:
    assert isinstance(to_number("5000"), int)
    assert isinstance(to_number(5000.0), int)
    assert isinstance(to_number(2.5), float)


def test_to_string_is_javascripts_string() -> None:
    assert to_string([1, None, "a", [2, 3]]) == "1,,a,2,3"
    assert to_string({"a": 1}) == "[object Object]"
    assert to_string(UNDEFINED) == "undefined"
    assert to_string(None) == "null"
    assert to_string(False) == "false"
    assert to_string(1e21) == "1e+21"


def test_truthiness() -> None:
    assert truthy([]) and truthy({}) and truthy("0") and truthy(-1)
    for falsy in (0, 0.0, -0.0, math.nan, "", None, False, UNDEFINED):
        assert not truthy(falsy)


def test_stringify_orders_keys_like_a_javascript_object() -> None:
    obj = {"b": 1, "10": 2, "a": 3, "2": 4, "01": 5, "-1": 6}
    assert own_keys(obj) == ["2", "10", "b", "a", "01", "-1"]
    assert stringify(obj) == '{"2":4,"10":2,"b":1,"a":3,"01":5,"-1":6}'


def test_stringify_drops_undefined_and_nulls_non_finite() -> None:
    assert (
        stringify({"a": UNDEFINED, "b": [UNDEFINED, math.nan, math.inf]})
        == '{"b":[null,null,null]}'
    )
    with pytest.raises(TypeError, match="undefined"):
        stringify(UNDEFINED)


def test_stringify_refuses_what_is_not_json() -> None:
    with pytest.raises(TypeError, match="set is not a JSON value"):
        stringify({"a": {1, 2}})
    with pytest.raises(TypeError, match="key 1 is not a string"):
        stringify({1: "one"})
    with pytest.raises(TypeError, match="boolean is not a number"):
        number_to_string(True)


def test_stringify_escapes_like_javascript() -> None:
    assert stringify('a"\\\n\x01\u2028é😀') == '"a\\"\\\\\\n\\u0001\u2028é😀"'
    assert stringify("\ud800x") == '"\\ud800x"'  # a lone surrogate is escaped


def test_parse_json_follows_json_parse() -> None:
    assert parse_json('{"a": 5000.0, "b": 1e400, "c": 9007199254740993}') == {
        "a": 5000,
        "b": math.inf,
        "c": 9007199254740992.0,
    }
    for text in ("NaN", "[Infinity]", "{'a': 1}", "[1,]"):
        with pytest.raises(ValueError):
            parse_json(text)


def test_ensure_helpers() -> None:
    assert ensure_string(5) == "5"
    assert ensure_string(None) == "null"
    assert ensure_string({"a": [1.0]}) == '{"a":[1]}'
    assert ensure_string(UNDEFINED) is UNDEFINED
    assert ensure_array('["a", 1]') == ["a", 1]
    assert ensure_array("a=b") is None
    assert ensure_array('{"a": 1}') is None
    assert ensure_array(5) is None
    assert ensure_boolean("true") is True and ensure_boolean(0) is False
    assert ensure_boolean(1.0) is True and ensure_boolean("yes") is UNDEFINED
    assert ensure_boolean(None) is UNDEFINED


def test_decimal_limit_reads_the_rendered_number() -> None:
    assert is_decimal_limit(2.5, 1) and not is_decimal_limit(2.55, 1)
    assert is_decimal_limit("31000", 0) and not is_decimal_limit("31000.5", 0)
    assert is_decimal_limit(1e-9, 0)  # rendered "1e-9": upstream sees no decimals
    assert not is_decimal_limit("abc") and not is_decimal_limit(UNDEFINED)


def test_lengths_mod_and_integers() -> None:
    assert js_length("😀a") == 3 and js_length([1, 2]) == 2 and js_length(5) is None
    assert js_mod(-15.0, 1) == 0 and math.copysign(1, js_mod(-15.0, 1)) == -1
    assert math.isnan(js_mod(math.inf, 1)) and js_mod(5, math.inf) == 5
    assert js_mod(10**400, 7) != js_mod(10**400, 7)  # Infinity % 7 is NaN
    assert is_integer(1e20) and is_integer(3) and not is_integer(2.5) and not is_integer(True)


# -- the gossip envelope's JSON.stringify (p2p.md §7.2), once network/jsjson.py's ----------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (-0.0, "0"),
        (1, "1"),
        (123.0, "123"),
        (0.1, "0.1"),
        (12345.67, "12345.67"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1.5e16, "15000000000000000"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.2345e-6, "0.0000012345"),
        (1.25e-7, "1.25e-7"),
        (-2.5e-10, "-2.5e-10"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (2**53, "9007199254740992"),
        (2**60, "1152921504606847000"),  # JS holds it as a double
        (123456789012, "123456789012"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_numbers_print_as_javascript_does_in_gossip(value: float, expected: str) -> None:
    assert number_to_string(value) == expected


def test_array_index_keys_come_first_in_numeric_order() -> None:
    data = json.loads('{"b":1,"10":2,"a":3,"2":4,"01":5,"4294967295":6,"4294967294":7}')
    assert stringify(data) == ('{"2":4,"10":2,"4294967294":7,"b":1,"a":3,"01":5,"4294967295":6}')
    assert is_array_index("0") and not is_array_index("-1") and not is_array_index("1.0")


def test_strings_escape_like_json_stringify() -> None:
    text = 'q" b\\ \b\f\n\r\t \x01 \x1f \x7f / \u2028 ü 𝄞'
    assert stringify(text) == ('"q\\" b\\\\ \\b\\f\\n\\r\\t \\u0001 \\u001f \x7f / \u2028 ü 𝄞"')


def test_lone_surrogates_are_escaped() -> None:
    value = json.loads('"a\\ud800b\\udc00"')
    assert stringify(value) == '"a\\ud800b\\udc00"'
    assert stringify(json.loads('"\\ud834\\udd1e"')) == '"𝄞"'


def test_nested_structures_are_compact() -> None:
    data = {"type": "x", "list": [1, 2.5, None, True, False, {"k": []}], "obj": {}}
    assert stringify(data) == ('{"type":"x","list":[1,2.5,null,true,false,{"k":[]}],"obj":{}}')


def test_non_finite_floats_become_null() -> None:
    assert stringify([float("inf"), float("nan")]) == "[null,null]"


# -- Number(text), once explorer/memo.py's js_number ---------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", 0.0),
        (" 12 ", 12.0),
        ("0.01", 0.01),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("0x10", 16.0),
        ("-2", -2.0),
        ("Infinity", math.inf),
        ("abc", math.nan),
        ("1_000", math.nan),
        ("inf", math.nan),
        ("--1", math.nan),
        ("-0x10", math.nan),
    ],
)
def test_string_to_number_as_chain_messages_read_it(text: str, value: float) -> None:
    """`+text` on the fields of price messages (explorer chainmessages)."""
    result = string_to_number(text)
    assert (math.isnan(result) and math.isnan(value)) or result == value
