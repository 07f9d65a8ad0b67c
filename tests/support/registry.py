"""A real Docker registry for tests: Debian's `docker-registry` (distribution 2.8).

`RegistryProcess` runs one on a free loopback port with its own storage, open, behind
htpasswd basic auth, or behind a Bearer token service (`TokenService`, Docker Hub's
scheme: JWTs signed with a throwaway key whose certificate the registry trusts).
`ImagePusher` builds real images (a layer holding busybox-static's /bin/busybox, an
image config, a manifest) and pushes them over the registry HTTP API, no dockerd needed.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import io
import json
import re
import secrets
import shutil
import subprocess
import tarfile
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from Crypto.Hash import SHA256
from Crypto.PublicKey import ECC
from Crypto.Signature import DSS
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fluxos.apps.dockerregistry import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from tests.support.processes import end_process, free_port, wait_until

BUSYBOX = Path("/bin/busybox")
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
SERVICE = "fluxos-test-registry"
ISSUER = "fluxos-test-tokens"


def require_tools() -> None:
    """Fail (not skip) with the fix when the registry tools are missing: `make test` installs
    them (setup/packages)."""
    missing = [
        tool for tool in ("docker-registry", "htpasswd", "openssl") if not shutil.which(tool)
    ]
    if not BUSYBOX.exists():
        missing.append("busybox-static (/bin/busybox)")
    if missing:
        raise RuntimeError(
            f"missing {', '.join(missing)}: apt-get install docker-registry apache2-utils"
            " openssl busybox-static (`make test` does, see setup/packages)"
        )


# -- the token service (Docker Hub's auth.docker.io, in small) ------------------------------
class TokenService:
    """Issues registry JWTs: anyone may pull public repositories, `users` may pull the
    private ones, and `pusher` may push everything. Wrong credentials get a 401."""

    def __init__(self, workdir: Path, users: dict[str, str], private: set[str]) -> None:
        self.users = dict(users)
        self.private = set(private)
        self.pusher = ("pusher", secrets.token_hex(8))
        self.users[self.pusher[0]] = self.pusher[1]
        self.key_path = workdir / "token-key.pem"
        self.cert_path = workdir / "token-cert.pem"
        key, cert = str(self.key_path), str(self.cert_path)
        subject = "/CN=fluxos test token issuer"
        for command in (
            ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
            ["openssl", "req", "-x509", "-new", "-key", key, "-subj", subject, "-out", cert],
        ):
            subprocess.run(command, check=True, capture_output=True)
        der = subprocess.run(
            ["openssl", "x509", "-in", str(self.cert_path), "-outform", "DER"],
            check=True,
            capture_output=True,
        ).stdout
        self._x5c = base64.b64encode(der).decode()
        self._key = ECC.import_key(self.key_path.read_text())
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/token", self._token)])

    def _user(self, request: Request) -> tuple[str | None, bool]:
        """(user, credentials_ok): no Authorization header is the anonymous user."""
        header = request.headers.get("authorization", "")
        if not header:
            return None, True
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None, False
        user, _, password = base64.b64decode(value).decode().partition(":")
        return user, self.users.get(user) == password

    async def _token(self, request: Request) -> Response:
        user, ok = self._user(request)
        scope = request.query_params.get("scope", "")
        self.requests.append({"user": user, "scope": scope, "ok": ok})
        if not ok:
            return JSONResponse({"details": "incorrect username or password"}, status_code=401)
        access = []
        if scope.startswith("repository:"):
            _, name, actions = scope.split(":", 2)
            wanted = actions.split(",")
            if user == self.pusher[0]:
                granted = wanted
            elif name in self.private and user is None:
                granted = []
            else:
                granted = [action for action in wanted if action == "pull"]
            access.append({"type": "repository", "name": name, "actions": granted})
        token = self.sign(
            {
                "iss": ISSUER,
                "sub": user or "",
                "aud": request.query_params.get("service", ""),
                "exp": int(time.time()) + 300,
                "nbf": int(time.time()) - 10,
                "iat": int(time.time()),
                "jti": secrets.token_hex(8),
                "access": access,
            }
        )
        return JSONResponse({"token": token, "access_token": token, "expires_in": 300})

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "ES256", "typ": "JWT", "x5c": [self._x5c]}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = DSS.new(self._key, "fips-186-3").sign(SHA256.new(signing_input.encode()))
        return f"{signing_input}.{_b64url(signature)}"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# -- the registry process ---------------------------------------------------------------
class RegistryProcess:
    """`docker-registry serve` on 127.0.0.1:<free port> with storage under `workdir`."""

    def __init__(self, workdir: Path, auth: dict[str, Any] | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.auth = auth
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "registry.log"

    def start(self) -> RegistryProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.workdir / "data")}},
            "http": {"addr": self.host, "secret": secrets.token_hex(16)},
        }
        if self.auth:
            config["auth"] = self.auth
        config_path = self.workdir / "config.yml"
        config_path.write_text(json.dumps(config))  # YAML is a superset of JSON
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                ["docker-registry", "serve", str(config_path)], stdout=log, stderr=log
            )
        wait_until(self._answers, timeout=20)
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"docker-registry exited: {self.log_path.read_text()}")
        return httpx.get(f"{self.url}/v2/", timeout=1).status_code in (200, 401)

    def stop(self) -> None:
        end_process(self.process)


@contextmanager
def running_registry(
    workdir: Path, auth: dict[str, Any] | None = None
) -> Iterator[RegistryProcess]:
    registry = RegistryProcess(workdir, auth).start()
    try:
        yield registry
    finally:
        registry.stop()


def htpasswd_auth(workdir: Path, users: dict[str, str]) -> dict[str, Any]:
    """A registry `auth:` section for basic auth, with bcrypt entries made by htpasswd."""
    lines = [
        subprocess.run(
            ["htpasswd", "-nbB", user, password], check=True, capture_output=True, text=True
        ).stdout.strip()
        for user, password in users.items()
    ]
    path = workdir / "htpasswd"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return {"htpasswd": {"realm": "fluxos-test", "path": str(path)}}


def token_auth(service: TokenService, token_url: str) -> dict[str, Any]:
    """A registry `auth:` section trusting `service`'s JWTs."""
    return {
        "token": {
            "realm": f"{token_url}/token",
            "service": SERVICE,
            "issuer": ISSUER,
            "rootcertbundle": str(service.cert_path),
        }
    }


# -- a running registry and its images --------------------------------------------------
@dataclass
class LocalRegistry:
    """A running registry and what was pushed to it (repotags by purpose)."""

    process: RegistryProcess
    images: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    tokens: TokenService | None = None

    @property
    def host(self) -> str:
        return self.process.host

    def repotag(self, name: str) -> str:
        return self.images[name]


# -- building and pushing images --------------------------------------------------------
class BearerLogin(httpx.Auth):
    """Client side of the token flow, for pushing: answer a Bearer challenge with a token."""

    requires_response_body = True

    def __init__(self, username: str, password: str) -> None:
        self._basic = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code != 401 or not challenge.lower().startswith("bearer"):
            return
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        token_response = yield httpx.Request(
            "GET",
            params.pop("realm"),
            params=params,
            headers={"Authorization": self._basic},
        )
        request.headers["Authorization"] = f"Bearer {token_response.json()['token']}"
        yield request


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    media_type: str

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "size": self.size, "digest": self.digest, **extra}


@functools.cache
def busybox_layer() -> tuple[bytes, str]:
    """A gzipped layer tarball with /bin/busybox and a /bin/sh link; and its diff id."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        directory = tarfile.TarInfo("bin")
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        tar.addfile(directory)
        tar.add(str(BUSYBOX), arcname="bin/busybox")
        link = tarfile.TarInfo("bin/sh")
        link.type = tarfile.SYMTYPE
        link.linkname = "busybox"
        tar.addfile(link)
    uncompressed = raw.getvalue()
    return gzip.compress(uncompressed, compresslevel=6, mtime=0), "sha256:" + hashlib.sha256(
        uncompressed
    ).hexdigest()


class ImagePusher:
    """Pushes images to a registry with the HTTP API (blob uploads, manifest PUTs)."""

    def __init__(self, registry_url: str, auth: httpx.Auth | tuple[str, str] | None = None) -> None:
        self.url = registry_url
        self.http = httpx.Client(auth=auth, timeout=60)
        self._layer = busybox_layer()

    def close(self) -> None:
        self.http.close()

    def blob(self, repository: str, data: bytes, media_type: str) -> Blob:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = self.http.post(f"{self.url}/v2/{repository}/blobs/uploads/")
        assert start.status_code == 202, start.text
        location = httpx.URL(urljoin(self.url, start.headers["location"]))
        done = self.http.put(
            location.copy_merge_params({"digest": digest}),
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert done.status_code == 201, done.text
        return Blob(digest, len(data), media_type)

    def manifest(
        self, repository: str, reference: str, document: dict[str, Any], media_type: str
    ) -> Blob:
        body = json.dumps(document).encode()
        answer = self.http.put(
            f"{self.url}/v2/{repository}/manifests/{reference}",
            content=body,
            headers={"Content-Type": media_type},
        )
        assert answer.status_code == 201, answer.text
        return Blob("sha256:" + hashlib.sha256(body).hexdigest(), len(body), media_type)

    def image(
        self, repository: str, tag: str, architecture: str = "amd64", *, oci: bool = False
    ) -> Blob:
        """Push a one-layer busybox image whose config says `architecture`; an empty `tag`
        pushes it by digest only."""
        layer_data, diff_id = self._layer
        layer = self.blob(repository, layer_data, OCI_LAYER if oci else DOCKER_LAYER)
        config = {
            "architecture": architecture,
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
        config_blob = self.blob(
            repository, json.dumps(config).encode(), OCI_CONFIG if oci else DOCKER_CONFIG
        )
        media_type = OCI_MANIFEST if oci else DOCKER_MANIFEST
        document: dict[str, Any] = {
            "schemaVersion": 2,
            "config": config_blob.descriptor(),
            "layers": [layer.descriptor()],
        }
        if not oci:
            document = {"schemaVersion": 2, "mediaType": media_type, **document}
        body = json.dumps(document).encode()
        reference = tag or "sha256:" + hashlib.sha256(body).hexdigest()
        return self.manifest(repository, reference, document, media_type)

    def multi_arch(
        self, repository: str, tag: str, architectures: list[str], *, oci: bool = False
    ) -> Blob:
        """Push one image per architecture by digest, then an index naming them under `tag`."""
        entries = []
        for architecture in architectures:
            child = self.image(repository, "", architecture, oci=oci)
            platform = {"architecture": architecture, "os": "linux"}
            entries.append(child.descriptor(platform=platform))
        media_type = OCI_INDEX if oci else DOCKER_LIST
        index = {"schemaVersion": 2, "mediaType": media_type, "manifests": entries}
        return self.manifest(repository, tag, index, media_type)
