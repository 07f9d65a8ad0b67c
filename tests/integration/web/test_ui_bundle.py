"""A UI bundle on the home port of a started node: installed with the real
`fluxos ui install`, served with the single-page-app rules (in a real browser and over
plain HTTP), refused on a digest mismatch, re-installed by `/flux/rebuildui` from a
local release source, and the web UI's habits against the API from that origin."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from fluxos.web.assets import IMMUTABLE, REVALIDATE
from tests.support.browser import Console, chromium
from tests.support.identity import Person
from tests.support.processes import NodeProcess, free_port, wait_until
from tests.support.uibundles import ReleaseServer, release_server, spa_tarball

HOME_PORT = 16126


@dataclass
class UiNode:
    node: NodeProcess
    owner: Person
    release: ReleaseServer
    tmp: Path

    @property
    def home(self) -> str:
        return f"http://{self.node.host}:{HOME_PORT}"

    def install(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`fluxos ui install ARGS` on this node's data dir, as an operator runs it."""
        command = [sys.executable, "-m", "fluxos", "ui", "install", *args]
        command += ["--data-dir", str(self.node.data_dir)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    def headers(self) -> dict[str, str]:
        phrase = self.node.get("/id/loginphrase").json()["data"]
        body = self.owner.login_body(phrase)
        assert self.node.post("/id/verifylogin", json=body).json()["status"] == "success"
        return {"zelidauth": json.dumps(body)}


@pytest.fixture(scope="module")
def ui_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UiNode]:
    tmp: Path = tmp_path_factory.mktemp("ui-bundle")
    owner = Person()
    digest = spa_tarball(tmp / "release.tar.gz", tag="release-7")
    with release_server(tmp / "release.tar.gz", digest, tag="release-7") as release:
        (tmp / "node").mkdir()
        (tmp / "node" / "fluxos.toml").write_text(
            f'zelid = "{owner.zelid}"\n[daemon]\nembedded = false\n'
        )
        ui = json.dumps({"release_url": release.latest_url})
        node = NodeProcess(tmp / "node", env={"HOME": str(tmp / "home"), "FLUXOS_UI": ui})
        node.start()
        try:
            yield UiNode(node, owner, release, tmp)
        finally:
            node.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    with chromium() as context:
        yield context


def _install_v1(ui: UiNode) -> str:
    digest = spa_tarball(ui.tmp / "v1.tar.gz", tag="v1")
    done = ui.install(str(ui.tmp / "v1.tar.gz"), "--sha256", digest)
    assert done.returncode == 0, done.stderr
    assert f"sha256 {digest}" in done.stdout
    return digest


def test_an_installed_bundle_is_served_with_fallback_in_a_browser(
    ui_node: UiNode, browser: BrowserContext
) -> None:
    _install_v1(ui_node)
    console = Console()
    page = console.watch(browser.new_page())
    # an app route: the app's shell, whose script and style load from assets/
    page.goto(ui_node.home + "/dashboard/overview")
    expect(page.locator("#tag")).to_have_text("test UI v1")
    expect(page.locator("#route")).to_have_text("route /dashboard/overview")
    color = page.evaluate("getComputedStyle(document.querySelector('h1')).color")
    assert color == "rgb(1, 2, 3)"
    page.goto(ui_node.home + "/")
    expect(page.locator("#route")).to_have_text("route /")
    assert console.errors == []
    # a missing file-like URL is a 404, never the app's shell
    missing = page.goto(ui_node.home + "/llms.txt")
    assert missing is not None and missing.status == 404
    expect(page.locator("body")).to_have_text("Not Found")


def test_files_types_caching_and_the_404_rules(ui_node: UiNode) -> None:
    digest = _install_v1(ui_node)
    with httpx.Client(base_url=ui_node.home, timeout=30) as http:
        index = http.get("/")
        assert index.text.startswith("<!doctype html>") and "test UI v1" in index.text
        assert index.headers["content-type"] == "text/html; charset=utf-8"
        assert index.headers["cache-control"] == REVALIDATE
        expected = {
            "/assets/app-9c1d.js": ("text/javascript; charset=utf-8", IMMUTABLE),
            "/assets/style-3f2a.css": ("text/css; charset=utf-8", IMMUTABLE),
            "/favicon.svg": ("image/svg+xml", REVALIDATE),
            "/robots.txt": ("text/plain; charset=utf-8", REVALIDATE),
            "/version": ("text/plain; charset=utf-8", REVALIDATE),
        }
        for path, (kind, caching) in expected.items():
            reply = http.get(path)
            assert reply.status_code == 200, path
            assert (reply.headers["content-type"], reply.headers["cache-control"]) == (
                kind,
                caching,
            ), path
        assert http.get("/version").text == digest + "\n"
        etag = index.headers["etag"]
        again = http.get("/", headers={"if-none-match": etag})
        assert (again.status_code, again.content) == (304, b"")
        # app routes get the shell, missing files and assets do not
        for route in ("/apps/globalapps", "/x/y/z", "/assets"):
            reply = http.get(route)
            assert reply.status_code == 200 and "test UI v1" in reply.text, route
        for missing in ("/assets/app-0000.js", "/ads.txt", "/index.php"):
            reply = http.get(missing)
            assert (reply.status_code, reply.text) == (404, "Not Found"), missing
        # nothing outside the bundle, however the path is spelt
        for escape in ("/..%2f..%2ffluxos.toml", "/%2e%2e/%2e%2e/fluxos.toml", "/../fluxos.toml"):
            reply = http.get(escape)
            assert "zelid" not in reply.text, escape
        head = http.head("/assets/app-9c1d.js")
        assert head.status_code == 200 and head.content == b""
        assert http.post("/").status_code == 405
        assert http.get("/health").text == "OK"
        gzipped = http.get("/", headers={"accept-encoding": "gzip"})
        assert gzipped.status_code == 200


def test_a_digest_mismatch_is_refused_and_the_bundle_stays(
    ui_node: UiNode, browser: BrowserContext
) -> None:
    digest = _install_v1(ui_node)
    spa_tarball(ui_node.tmp / "v2.tar.gz", tag="v2")
    refused = ui_node.install(str(ui_node.tmp / "v2.tar.gz"), "--sha256", "ab" * 32)
    assert refused.returncode == 1
    assert "sha256 mismatch" in refused.stderr and "nothing was installed" in refused.stderr
    malformed = ui_node.install(str(ui_node.tmp / "v2.tar.gz"), "--sha256", "abc")
    assert malformed.returncode == 1 and "64 hexadecimal digits" in malformed.stderr
    page = browser.new_page()
    page.goto(ui_node.home + "/settings")
    expect(page.locator("#tag")).to_have_text("test UI v1")
    assert httpx.get(ui_node.home + "/version", timeout=30).text == digest + "\n"


def test_rebuildui_installs_the_latest_release(ui_node: UiNode) -> None:
    _install_v1(ui_node)
    node = ui_node.node
    refused = node.get("/flux/rebuildui").json()
    assert refused["status"] == "error" and refused["data"]["code"] == 401
    headers = ui_node.headers()
    for route in ("/flux/rebuildui", "/flux/rebuildhome"):
        reply = node.get(route, headers=headers).json()
        assert reply == {"status": "success", "data": {"message": "Flux UI successfully rebuilt"}}
        served = httpx.get(ui_node.home + "/", timeout=30).text
        assert "test UI release-7" in served, route
    assert httpx.get(ui_node.home + "/version", timeout=30).text == ui_node.release.digest + "\n"
    # a release whose bundle does not match its announced digest is refused
    real, ui_node.release.digest = ui_node.release.digest, "cd" * 32
    try:
        reply = node.get("/flux/rebuildui", headers=headers).json()
    finally:
        ui_node.release.digest = real
    assert reply["status"] == "error"
    assert reply["data"]["message"].startswith("Error rebuilding Flux UI: sha256 mismatch")
    assert "test UI release-7" in httpx.get(ui_node.home + "/", timeout=30).text


def test_install_from_a_url(ui_node: UiNode) -> None:
    release = ui_node.release
    url = f"{release.base}/download/dist.tar.gz"
    done = ui_node.install(url, "--sha256", f"sha256:{release.digest}")
    assert done.returncode == 0, done.stderr
    assert "test UI release-7" in httpx.get(ui_node.home + "/", timeout=30).text
    gone = ui_node.install(f"http://127.0.0.1:{free_port()}/dist.tar.gz")
    assert gone.returncode == 1 and "cannot download http://127.0.0.1:" in gone.stderr
    missing = ui_node.install(str(ui_node.tmp / "no-such.tar.gz"))
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_a_node_with_auto_update_installs_the_release_by_itself(ui_node: UiNode) -> None:
    settings = {"release_url": ui_node.release.latest_url, "auto_update": True}
    data_dir = ui_node.tmp / "auto"
    env = {"HOME": str(ui_node.tmp / "home"), "FLUXOS_UI": json.dumps(settings)}
    node = NodeProcess(data_dir, env=env, args=())
    data_dir.mkdir()
    (data_dir / "fluxos.toml").write_text("[daemon]\nembedded = false\n")
    node.start()
    try:
        home = f"http://{node.host}:{HOME_PORT}"
        wait_until(lambda: "test UI release-7" in httpx.get(home + "/", timeout=5).text)
        assert httpx.get(home + "/version", timeout=5).text == ui_node.release.digest + "\n"
        assert "UI release release-7 installed" in node.output()
    finally:
        node.stop()


def test_the_ui_habits_work_from_the_home_origin(ui_node: UiNode, browser: BrowserContext) -> None:
    """What the web UI does from port 16126 against the API on 16127: a login phrase, the
    login websocket told of the wallet's signature, then calls with `zelidauth`."""
    _install_v1(ui_node)
    node, owner = ui_node.node, ui_node.owner
    console = Console()
    page = console.watch(browser.new_page())
    page.goto(ui_node.home + "/")
    api, ws = f"http://{node.host}:{node.port}", f"ws://{node.host}:{node.port}"
    phrase = page.evaluate(
        "api => fetch(api + '/id/loginphrase').then(r => r.json()).then(b => b.data)", api
    )
    page.evaluate(
        """([ws, phrase]) => { window.loginFrame = new Promise(resolve => {
            const socket = new WebSocket(ws + '/ws/id/' + phrase);
            socket.onmessage = event => resolve(event.data);
        }); }""",
        [ws, phrase],
    )
    # the wallet signs the phrase and tells the node (as Zelcore does)
    signed = node.post("/id/verifylogin", json=owner.login_body(phrase)).json()
    assert signed["status"] == "success"
    frame = page.evaluate("window.loginFrame")
    assert "privilage%5D=admin" in frame or "privilage]=admin" in frame
    header = json.dumps(owner.login_body(phrase))
    privilege = page.evaluate(
        """([api, header]) => fetch(api + '/id/checkprivilege', {
            method: 'POST', headers: {zelidauth: header}, body: header,
        }).then(r => r.json())""",
        [api, header],
    )
    assert privilege == {"status": "success", "data": {"message": "admin"}}
    sessions = page.evaluate(
        """([api, header]) => fetch(api + '/id/loggedsessions', {headers: {zelidauth: header}})
            .then(r => r.json())""",
        [api, header],
    )
    assert sessions["status"] == "success"
    assert phrase in [s["loginPhrase"] for s in sessions["data"]]
    assert console.errors == []
