"""The built-in status page of a node started as `make run` starts one (embedded devnet
and bench, no UI bundle), in a real browser: live data, no console errors, phone-sized."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from fluxos import __version__
from tests.support.browser import Console, chromium
from tests.support.daemons import answers
from tests.support.identity import Person
from tests.support.processes import NodeProcess, wait_until

HOME_PORT = 16126


@pytest.fixture(scope="module")
def owner() -> Person:
    return Person()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, owner: Person) -> Iterator[NodeProcess]:
    tmp: Path = tmp_path_factory.mktemp("status-page")
    (tmp / "node").mkdir()
    # a block every 2 s, so the page has something to follow
    (tmp / "node" / "fluxos.toml").write_text(
        f'zelid = "{owner.zelid}"\n[daemon]\ndevnet_block_time = 2\n'
    )
    node = NodeProcess(tmp / "node", env={"HOME": str(tmp / "home")})
    node.start(wait=False)
    try:
        wait_until(lambda: answers(node), timeout=120, interval=0.2)
        wait_until(lambda: _height(node) > 0, timeout=90, interval=0.5)
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    with chromium() as context:
        yield context


def _height(node: NodeProcess) -> int:
    reply = node.get("/daemon/getblockcount").json()
    return int(reply["data"]) if reply["status"] == "success" else 0


def _home(node: NodeProcess) -> str:
    return f"http://{node.host}:{HOME_PORT}"


def test_the_page_is_html_for_load_balancers_and_says_nothing_is_installed(
    node: NodeProcess,
) -> None:
    reply = httpx.get(_home(node) + "/", timeout=30)
    assert reply.status_code == 200
    assert reply.text.startswith("<!doctype html>")
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in reply.headers["content-security-policy"]
    assert "fluxos ui install" in reply.text
    status = httpx.get(_home(node) + "/status.json", timeout=30).json()
    assert status["chain"]["height"] > 0 and status["version"]
    assert httpx.get(_home(node) + "/health", timeout=30).text == "OK"
    assert httpx.get(_home(node) + "/somewhere", timeout=30).status_code == 404


def test_the_page_shows_the_live_node_and_follows_it(
    node: NodeProcess, owner: Person, browser: BrowserContext
) -> None:
    console = Console()
    page = console.watch(browser.new_page())
    page.goto(_home(node) + "/")
    expect(page).to_have_title(f"FluxOS node {__version__}")
    shown = int(page.locator("[data-field=height]").inner_text())
    assert abs(shown - _height(node)) <= 5  # blocks may have come in between (2 s each)
    expect(page.locator("[data-field=sync]")).to_have_text("synced")
    expect(page.locator("[data-field=zelid]")).to_have_text(owner.zelid)
    # the bench's first measurement takes a while on a loaded machine; the page shows
    # "running" until then and follows it without a reload
    expect(page.locator("[data-field=bench]")).to_have_text("CUMULUS", timeout=180_000)
    tier = httpx.get(f"{node.url}/flux/nodetier", timeout=30).json()["data"]
    expect(page.locator("[data-field=tier]")).to_contain_text(f"{tier} (")
    expect(page.locator("[data-field=apps-running]")).to_have_text("off on this node")
    expect(page.locator("tr[data-loop='home port'] td").nth(1)).to_have_text("running")
    expect(page.locator("tr[data-loop=explorer] td").nth(1)).to_have_text("running")
    docs = page.get_by_role("link", name=f"http://{node.host}:{node.port}/docs")
    expect(docs).to_have_attribute("href", f"http://{node.host}:{node.port}/docs")
    # the page updates itself: the height moves on without a reload
    page.wait_for_function(
        "shown => Number(document.querySelector('[data-field=height]').textContent) > shown",
        arg=shown,
        timeout=60_000,
    )
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    assert console.errors == []


def test_the_page_fits_a_phone(node: NodeProcess, browser: BrowserContext) -> None:
    console = Console()
    page = console.watch(browser.new_page())
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(_home(node) + "/")
    expect(page.locator("[data-field=height]")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a phone"
    font = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font >= 14
    assert console.errors == []
