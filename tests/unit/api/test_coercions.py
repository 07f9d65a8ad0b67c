"""The N, B, O, S coercions of spec daemon.md §1, and our refusals where upstream sent null."""

import math

import pytest

from fluxos.api.coercions import (
    boolean,
    boolean_text,
    comma_list,
    json_object,
    number,
    one_or_many,
    text,
)
from fluxos.errors import BadParameter


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("12", 12),
        ("  12\n", 12),
        ("", 0),
        ("-3", -3),
        ("1.5", 1.5),
        (".5", 0.5),
        ("5.", 5),
        ("1e3", 1000),
        ("0x10", 16),
        ("0o17", 15),
        ("0b101", 5),
        ("2.0", 2),
        (7, 7),
        (2.5, 2.5),
        (True, 1),
        (None, 0),
    ],
)
def test_number_follows_javascript(given: object, expected: float) -> None:
    result = number("height", given)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "given", ["abc", "12abc", "1_000", "+0x10", "Infinity", "--1", "\u0661\u0662", "0b12", [1]]
)
def test_number_refuses_what_javascript_makes_nan(given: object) -> None:
    with pytest.raises(BadParameter) as error:
        number("height", given)
    assert error.value.message.startswith("height must be a")


def test_number_keeps_huge_values_as_floats() -> None:
    assert number("amount", "1e300") == 1e300
    assert isinstance(number("amount", str(2**60)), float)
    assert not math.isnan(number("amount", "9007199254740991"))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        *[("true", True), ("1", True), (1, True), (True, True), ("TRUE", True)],
        *[("false", False), ("0", False), (0, False), (False, False), (" False ", False)],
    ],
)
def test_boolean(given: object, expected: bool) -> None:
    assert boolean("verbose", given) is expected


@pytest.mark.parametrize("given", ["yes", "2", 2, "", None, []])
def test_boolean_refuses_other_words(given: object) -> None:
    with pytest.raises(BadParameter, match=r"^verbose must be true or false \(or 1 or 0\)"):
        boolean("verbose", given)


def test_boolean_text_for_get_str_readers() -> None:
    assert boolean_text("lockwallet", "1") == "true"
    assert boolean_text("lockwallet", False) == "false"


def test_object_from_json_query_string_or_value() -> None:
    assert json_object("x", '{"a": 1}') == {"a": 1}
    assert json_object("x", '[{"txid": "ab", "vout": 0}]') == [{"txid": "ab", "vout": 0}]
    assert json_object("x", "a=1&b=2") == {"a": "1", "b": "2"}
    assert json_object("x", "a[0]=1&a[1]=2") == {"a": ["1", "2"]}
    assert json_object("x", {"k": "v"}) == {"k": "v"}
    assert json_object("x", [1]) == [1]
    assert json_object("x", "") == {}
    assert json_object("x", None) == {}


@pytest.mark.parametrize("given", ["abc", "5", '"text"', "true", 5, '{"a": NaN}', "[Infinity]"])
def test_object_refuses_scalars_upstream_turned_into_empty_objects(given: object) -> None:
    with pytest.raises(BadParameter, match=r"^transactions must be a JSON object or array"):
        json_object("transactions", given)


def test_text_and_lists() -> None:
    assert text("h", "5") == "5"
    assert text("h", 5) == "5"
    assert text("h", {"a": [1]}) == '{"a":[1]}'
    assert comma_list("txids", "a, b,,c") == ["a", "b", "c"]
    assert comma_list("txids", '["a","b"]') == ["a", "b"]
    assert comma_list("txids", ["a"]) == ["a"]
    assert one_or_many("address", "t1abc") == ["t1abc"]
    assert one_or_many("address", ["t1a", "t1b"]) == ["t1a", "t1b"]
    assert one_or_many("address", '["t1a","t1b"]') == ["t1a", "t1b"]
