import json

import pytest

from fluxos.network.jsjson import is_array_index, js_number, js_stringify


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
def test_numbers_print_as_javascript_does(value: float, expected: str) -> None:
    assert js_number(value) == expected


def test_array_index_keys_come_first_in_numeric_order() -> None:
    data = json.loads('{"b":1,"10":2,"a":3,"2":4,"01":5,"4294967295":6,"4294967294":7}')
    assert js_stringify(data) == ('{"2":4,"10":2,"4294967294":7,"b":1,"a":3,"01":5,"4294967295":6}')
    assert is_array_index("0") and not is_array_index("-1") and not is_array_index("1.0")


def test_strings_escape_like_json_stringify() -> None:
    text = 'q" b\\ \b\f\n\r\t \x01 \x1f \x7f / \u2028 ü 𝄞'
    assert js_stringify(text) == ('"q\\" b\\\\ \\b\\f\\n\\r\\t \\u0001 \\u001f \x7f / \u2028 ü 𝄞"')


def test_lone_surrogates_are_escaped() -> None:
    value = json.loads('"a\\ud800b\\udc00"')
    assert js_stringify(value) == '"a\\ud800b\\udc00"'
    assert js_stringify(json.loads('"\\ud834\\udd1e"')) == '"𝄞"'


def test_nested_structures_are_compact() -> None:
    data = {"type": "x", "list": [1, 2.5, None, True, False, {"k": []}], "obj": {}}
    assert js_stringify(data) == ('{"type":"x","list":[1,2.5,null,true,false,{"k":[]}],"obj":{}}')


def test_non_finite_floats_become_null() -> None:
    assert js_stringify([float("inf"), float("nan")]) == "[null,null]"
