"""A real Docker engine for tests: Debian's `dockerd` (docker.io 20.10), one per use.

`DockerDaemon` starts a private engine with its own data root, exec root, pidfile and
unix socket under a work dir, so tests never touch (or depend on) the machine's own
engine, and several engines can run side by side. It runs without a default bridge and
without iptables rules (ports are published by docker's userland proxy). One thing it
cannot do without a rule: where the host filters bridged traffic (`br_netfilter` loaded
and a FORWARD policy that drops, as any dockerd with iptables leaves a machine), two
containers of an app network could not reach each other, so for its lifetime the engine
holds one ACCEPT rule for traffic inside the app networks' range (`APP_SUBNETS`), and
removes it at `stop()`; the rest of the host's firewall stays as it was.
`docker_host()` gives a test session such a private engine (or the one named by
`FLUXOS_TEST_DOCKER_HOST`): the machine's own dockerd (the one `make test` starts) is
shared with whatever else runs there, so what a test lists on it is not the test's alone.

`httpd_image` pushes a busybox-static image whose default command serves HTTP on port 80
(with `/www/index.html` answering `hello from fluxos`) to a test registry.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
import httpx

from fluxos.runtime.components import APP_SUBNETS
from tests.support.processes import wait_until
from tests.support.registry import DOCKER_CONFIG, DOCKER_LAYER, ImagePusher, busybox_layer

DOCKER_HOST_ENV = "FLUXOS_TEST_DOCKER_HOST"
INDEX_TEXT = "hello from fluxos"


def require_dockerd() -> None:
    """Fail (not skip) with the fix when the engine is missing: CI installs it."""
    if not shutil.which("dockerd"):
        raise RuntimeError("dockerd missing: apt-get install docker.io (as .ci/run does)")
    if os.geteuid() != 0:
        raise RuntimeError("the Docker tests start their own dockerd and need root")


class DockerDaemon:
    """`dockerd` on `unix://<workdir>/d.sock`; `stop()` ends it and its containers."""

    def __init__(self, workdir: Path, *, prefix: list[str] | None = None) -> None:
        self.workdir = workdir
        self.prefix = list(prefix or [])  # e.g. `ip netns exec NAME` (tests.support.nodedocker)
        self.socket = workdir / "d.sock"
        self.url = f"unix://{self.socket}"
        self.log_path = workdir / "dockerd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._forward_rule: list[str] | None = None

    def start(self, timeout: float = 60) -> DockerDaemon:
        require_dockerd()
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.prefix:  # an engine in a namespace of its own has a firewall of its own
            self._forward_rule = _open_app_forwarding(str(self.workdir))
        command = [
            *self.prefix,
            "dockerd",
            f"--data-root={self.workdir / 'data'}",
            f"--exec-root={self.workdir / 'x'}",
            f"--pidfile={self.workdir / 'dockerd.pid'}",
            f"--host={self.url}",
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            "--log-level=warn",
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
        wait_until(self._answers, timeout=timeout, interval=0.2)
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"dockerd exited: {self.log_path.read_text()[-2000:]}")
        return _answers(self.socket)

    def stop(self) -> None:
        if self._forward_rule is not None:
            subprocess.run(["iptables", "-D", *self._forward_rule], check=False)
            self._forward_rule = None
        if self.process is None or self.process.poll() is not None:
            return
        client = docker.DockerClient(base_url=self.url, timeout=30, version="1.41")
        try:
            for container in client.containers.list(all=True):
                container.remove(force=True)
        except docker.errors.DockerException:
            pass
        finally:
            client.close()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@contextmanager
def docker_host(workdir: Path) -> Iterator[str]:
    """The engine tests use: CI's (`FLUXOS_TEST_DOCKER_HOST`) or a private one."""
    shared = os.environ.get(DOCKER_HOST_ENV)
    if shared:
        yield shared
        return
    daemon = DockerDaemon(workdir).start()
    try:
        yield daemon.url
    finally:
        daemon.stop()


def _open_app_forwarding(owner: str) -> list[str] | None:
    """Insert the FORWARD rule that lets app-network traffic through where the host's
    firewall would drop it; the rule's spec (for `iptables -D`), or None if none is needed."""
    bridged = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if not bridged.exists() or bridged.read_text().strip() != "1" or not shutil.which("iptables"):
        return None
    policy = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True)
    if policy.returncode != 0 or policy.stdout.startswith("-P FORWARD ACCEPT"):
        return None
    rule = ["FORWARD", "-s", APP_SUBNETS, "-d", APP_SUBNETS, "-j", "ACCEPT"]
    rule += ["-m", "comment", "--comment", f"fluxos test dockerd {owner}"[:255]]
    subprocess.run(["iptables", "-I", *rule], check=True)
    return rule


def _answers(socket: Path) -> bool:
    if not socket.exists():
        return False
    transport = httpx.HTTPTransport(uds=str(socket))
    try:
        with httpx.Client(transport=transport, timeout=5) as http:
            return http.get("http://docker/_ping").text == "OK"
    except httpx.HTTPError:
        return False


def httpd_image(pusher: ImagePusher, repository: str, tag: str) -> None:
    """Push an image that serves `/www` over HTTP on port 80 by default."""
    layer = _httpd_layer()
    layer_blob = pusher.blob(repository, layer[0], DOCKER_LAYER)
    base_data, base_diff = busybox_layer()
    base_blob = pusher.blob(repository, base_data, DOCKER_LAYER)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Cmd": ["/bin/busybox", "httpd", "-f", "-p", "80", "-h", "/www"],
            "ExposedPorts": {"80/tcp": {}},
            "Env": ["PATH=/bin"],
        },
        "rootfs": {"type": "layers", "diff_ids": [base_diff, layer[1]]},
    }
    config_blob = pusher.blob(repository, json.dumps(config).encode(), DOCKER_CONFIG)
    media_type = "application/vnd.docker.distribution.manifest.v2+json"
    document = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config_blob.descriptor(),
        "layers": [base_blob.descriptor(), layer_blob.descriptor()],
    }
    pusher.manifest(repository, tag, document, media_type)


def _httpd_layer() -> tuple[bytes, str]:
    """A layer with /www/index.html and the busybox applet links a shell user expects."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for directory in ("www", "tmp", "bin"):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o777 if directory == "tmp" else 0o755
            tar.addfile(info)
        page = f"{INDEX_TEXT}\n".encode()
        info = tarfile.TarInfo("www/index.html")
        info.size = len(page)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(page))
        for applet in ("sleep", "cat", "echo", "ls", "ps", "httpd", "touch", "env", "wget"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
    data = raw.getvalue()
    return gzip.compress(data, mtime=0), "sha256:" + hashlib.sha256(data).hexdigest()
