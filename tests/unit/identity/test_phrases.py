import re

from fluxos.identity.phrases import (
    DAY_MS,
    HOUR_MS,
    is_fresh,
    js_iso,
    new_login_phrase,
    phrase_timestamp,
)

NOW_MS = 1_700_000_000_123


def test_phrase_is_timestamp_then_random_base36() -> None:
    phrase = new_login_phrase(NOW_MS)
    assert re.fullmatch(r"1700000000123[0-9a-z]{43}", phrase)
    assert phrase_timestamp(phrase) == NOW_MS
    assert len({new_login_phrase(NOW_MS) for _ in range(200)}) == 200


def test_timestamp_must_be_thirteen_digits() -> None:
    assert phrase_timestamp("abc" + "1" * 50) is None
    assert phrase_timestamp("123") is None
    assert phrase_timestamp("１２３４５６７８９０１２３" + "a" * 40) is None  # non-ASCII digits


def test_freshness_window_and_length_bounds() -> None:
    window = 16 * HOUR_MS
    fresh = f"{NOW_MS - window}" + "a" * 43
    assert is_fresh(fresh, NOW_MS, window)
    assert not is_fresh(f"{NOW_MS - window - 1}" + "a" * 43, NOW_MS, window)
    assert not is_fresh(f"{NOW_MS + 1}" + "a" * 43, NOW_MS, window)  # from the future
    assert is_fresh(f"{NOW_MS}" + "a" * 27, NOW_MS, window)  # 40 characters
    assert not is_fresh(f"{NOW_MS}" + "a" * 26, NOW_MS, window)
    assert is_fresh(f"{NOW_MS}" + "a" * 57, NOW_MS, window)  # 70 characters
    assert not is_fresh(f"{NOW_MS}" + "a" * 58, NOW_MS, window)
    # upstream's Number('abc…') is NaN and slips through its range test; not here
    assert not is_fresh("x" * 56, NOW_MS, window)


def test_dates_render_like_javascript() -> None:
    assert js_iso(1565356121335) == "2019-08-09T13:08:41.335Z"
    assert js_iso(1565356121000) == "2019-08-09T13:08:41.000Z"
    assert js_iso(1565356121335 + 14 * DAY_MS) == "2019-08-23T13:08:41.335Z"
