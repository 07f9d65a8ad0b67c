"""The built-in page's rendering and the log lines it picks."""

from __future__ import annotations

from pathlib import Path

from fluxos.web.nodestatus import recent_problems
from fluxos.web.statuspage import CONTENT_SECURITY_POLICY, render_main, render_page

SNAPSHOT = {
    "version": "0.1.0",
    "fluxosCompat": "8.17.0",
    "identity": {"zelid": "1abc", "address": "1.2.3.4:16127", "pubkey": "", "tier": None},
    "uptime": 3700,
    "chain": {"height": 12, "header": 14, "synced": False, "reachable": True},
    "benchmark": {"error": "fluxbenchd <down>"},
    "peers": {"outgoing": 3, "incoming": 1},
    "apps": {"running": 2, "installed": 2, "global": 0},
    "loops": [{"name": "explorer", "state": "backing off", "restarts": 2, "lastError": "<x>"}],
    "log": [{"level": "error", "line": "2026-01-01T00:00:00.000Z ERROR a: <script>"}],
    "time": "2026-01-01T00:00:00Z",
}


def test_the_page_escapes_what_it_shows_and_starts_as_html() -> None:
    page = render_page(SNAPSHOT, "http://1.2.3.4:16127")
    assert page.startswith("<!doctype html>\n")
    assert "<script>" not in render_main(SNAPSHOT, "http://1.2.3.4:16127")
    assert "&lt;script&gt;" in page and "&lt;down&gt;" in page and "&lt;x&gt;" in page
    assert 'href="http://1.2.3.4:16127/docs"' in page
    assert "syncing" in page and "1 h 1 min" in page
    assert page.count("<script>") == 1  # the page's own, allowed by its hash only
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY


def test_recent_problems_are_whole_records_newest_last(tmp_path: Path) -> None:
    (tmp_path / "warn.log").write_text(
        "2026-01-01T00:00:02.000Z WARNING a: second\n2026-01-01T00:00:04.000Z WARNING a: 4th\n"
    )
    (tmp_path / "error.log").write_text(
        "2026-01-01T00:00:03.000Z ERROR b: third\nTraceback (most recent call last):\n"
        '  File "x.py", line 1\nValueError: y\n2026-01-01T00:00:01.000Z ERROR b: first\n'
    )
    lines = recent_problems(tmp_path, 3)
    assert [item["line"].rsplit(" ", 1)[1] for item in lines] == ["second", "third", "4th"]
    assert [item["level"] for item in lines] == ["warn", "error", "warn"]
    assert recent_problems(tmp_path, 0) == []
    assert recent_problems(tmp_path / "none", 5) == []
