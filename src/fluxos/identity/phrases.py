"""Login phrases: a 13-digit millisecond timestamp followed by CSPRNG characters.

The timestamp prefix is load-bearing: verifylogin and the stateless header check read the
phrase's age from it, and sessions expire 14 days after it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

PHRASE_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
TIMESTAMP_DIGITS = 13
RANDOM_CHARS = 43  # 56 characters in all, like upstream's usual 54-58; ~222 bits of entropy
MIN_PHRASE_LENGTH = 40
MAX_STATELESS_PHRASE_LENGTH = 70

MINUTE_MS = 60 * 1000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
PHRASE_LIFETIME_MS = 15 * MINUTE_MS
SESSION_LIFETIME_MS = 14 * DAY_MS
SIGNATURE_HANDOVER_MS = MINUTE_MS  # how long a new session keeps its signature (/ws/id)
PARKED_SIGNATURE_LIFETIME_MS = 15 * MINUTE_MS


def new_login_phrase(now_ms: int) -> str:
    """`now_ms` as 13 digits, then 43 characters of [0-9a-z] from the OS CSPRNG."""
    stamp = f"{now_ms:0{TIMESTAMP_DIGITS}d}"
    if len(stamp) != TIMESTAMP_DIGITS:
        raise ValueError(f"timestamp {now_ms} does not fit in {TIMESTAMP_DIGITS} digits")
    return stamp + "".join(secrets.choice(PHRASE_ALPHABET) for _ in range(RANDOM_CHARS))


def phrase_timestamp(phrase: str) -> int | None:
    """The millisecond timestamp a phrase starts with; None unless it is 13 ASCII digits.

    Upstream reads `Number(phrase.slice(0, 13))`, whose NaN passes its range checks; we
    refuse a non-numeric prefix instead.
    """
    head = phrase[:TIMESTAMP_DIGITS]
    if len(head) != TIMESTAMP_DIGITS or not head.isascii() or not head.isdigit():
        return None
    return int(head)


def is_fresh(phrase: str, now_ms: int, window_ms: int) -> bool:
    """Stateless acceptance of a phrase no session holds (identity.md §8.2).

    Its timestamp lies within [now - window, now] and its length within 40..70.
    """
    if not MIN_PHRASE_LENGTH <= len(phrase) <= MAX_STATELESS_PHRASE_LENGTH:
        return False
    stamp = phrase_timestamp(phrase)
    return stamp is not None and now_ms - window_ms <= stamp <= now_ms


def js_iso(ms: int) -> str:
    """A millisecond timestamp as JavaScript's `Date.toJSON()`: `2019-08-09T13:23:41.335Z`."""
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
