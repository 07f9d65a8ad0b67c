"""Repotag parsing, registry credentials and WWW-Authenticate challenges (§3.4)."""

import pytest

from fluxos.apps.dockerregistry import parse_challenge
from fluxos.apps.errors import AppSpecError, ServiceUnavailable
from fluxos.apps.imagerefs import (
    DOCKER_HUB,
    Credentials,
    parse_repoauth,
    parse_repotag,
    spec_credentials,
)


@pytest.mark.parametrize(
    ("repotag", "registry", "repository", "tag", "base_url"),
    [
        ("nginx:latest", DOCKER_HUB, "library/nginx", "latest", None),
        (
            "runonflux/blockbook-docker:latest",
            DOCKER_HUB,
            "runonflux/blockbook-docker",
            "latest",
            None,
        ),
        ("docker.io/runonflux/website:v1.2", DOCKER_HUB, "runonflux/website", "v1.2", None),
        ("ghcr.io/owner/team/app:sha-1", "ghcr.io", "owner/team/app", "sha-1", None),
        (
            "127.0.0.1:5000/flux/busybox:1.36",
            "127.0.0.1:5000",
            "flux/busybox",
            "1.36",
            "http://127.0.0.1:5000/v2/flux/busybox",
        ),
        (
            "localhost:5000/a__b/c-d.e:T_1",
            "localhost:5000",
            "a__b/c-d.e",
            "T_1",
            "http://localhost:5000/v2/a__b/c-d.e",
        ),
        (
            "registry.example.com:8443/x/y:1",
            "registry.example.com:8443",
            "x/y",
            "1",
            "https://registry.example.com:8443/v2/x/y",
        ),
    ],
)
def test_repotags_split_into_registry_repository_and_tag(
    repotag: str, registry: str, repository: str, tag: str, base_url: str | None
) -> None:
    reference = parse_repotag(repotag)
    assert (reference.registry, reference.repository, reference.tag) == (registry, repository, tag)
    assert reference.image == repotag.rsplit(":", 1)[0]
    assert reference.base_url == (base_url or f"https://{registry}/v2/{repository}")


@pytest.mark.parametrize(
    ("repotag", "message"),
    [
        ("flux/busy box:1", 'Image tag: "flux/busy box:1" should not contain space characters.'),
        ("/flux/busybox:1", 'Image tag: "/flux/busybox:1" cannot start or end with a backslash.'),
        ("flux/busybox:1/", 'Image tag: "flux/busybox:1/" cannot start or end with a backslash.'),
        (
            "Flux/BusyBox:1",
            "Image tag: Flux/BusyBox:1 is not in valid format"
            " [HOST[:PORT_NUMBER]/][NAMESPACE/]REPOSITORY[:TAG]",
        ),
        (
            "flux//busybox:1",
            "Image tag: flux//busybox:1 is not in valid format"
            " [HOST[:PORT_NUMBER]/][NAMESPACE/]REPOSITORY[:TAG]",
        ),
        (
            "flux/busybox:-bad",
            "Image tag: flux/busybox:-bad is not in valid format"
            " [HOST[:PORT_NUMBER]/][NAMESPACE/]REPOSITORY[:TAG]",
        ),
        (
            "flux/busybox@sha256:abc",
            "Image tag: flux/busybox@sha256:abc is not in valid format"
            " [HOST[:PORT_NUMBER]/][NAMESPACE/]REPOSITORY[:TAG]",
        ),
        (
            "flux/busybox",
            "Image tag: flux/busybox has no tag; use the format"
            " [HOST[:PORT_NUMBER]/][NAMESPACE/]REPOSITORY:TAG",
        ),
        ("", "Invalid Docker Image Tag"),
    ],
)
def test_bad_repotags_name_the_rule(repotag: str, message: str) -> None:
    with pytest.raises(AppSpecError) as error:
        parse_repotag(repotag)
    assert error.value.message == message


def test_repotag_must_be_a_string() -> None:
    with pytest.raises(AppSpecError, match="Invalid Docker Image Tag"):
        parse_repotag(["nginx:latest"])


def test_repoauth_is_username_colon_password() -> None:
    assert parse_repoauth("") is None
    assert parse_repoauth("  ") is None
    assert parse_repoauth(" bob : pa:ss ") == Credentials("bob", "pa:ss")
    assert "pa:ss" not in repr(parse_repoauth("bob:pa:ss"))
    with pytest.raises(AppSpecError, match='repoauth must be "username:password"'):
        parse_repoauth("token-only")
    with pytest.raises(AppSpecError, match="username cannot be empty"):
        parse_repoauth(":password")
    with pytest.raises(AppSpecError, match="provider google-gar:// is not supported"):
        parse_repoauth("google-gar://keyFile=x")
    with pytest.raises(AppSpecError, match="repoauth must be a string"):
        parse_repoauth(42)


def test_spec_credentials_by_version() -> None:
    assert spec_credentials("", 3) is None
    assert spec_credentials("u:p", 8) == Credentials("u", "p")
    with pytest.raises(AppSpecError, match="not part of app specifications v6"):
        spec_credentials("u:p", 6)
    with pytest.raises(ServiceUnavailable, match="v7 apps is encrypted"):
        spec_credentials("-----BEGIN PGP MESSAGE-----", 7)


def test_credentials_basic_header() -> None:
    assert Credentials("user", "pass").basic_header() == "Basic dXNlcjpwYXNz"


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:library/nginx:pull"',
            "bearer",
            {
                "realm": "https://auth.docker.io/token",
                "service": "registry.docker.io",
                "scope": "repository:library/nginx:pull",
            },
        ),
        (
            'Bearer realm="https://ghcr.io/token", service="ghcr.io",'
            ' scope="repository:a/b:pull,push"',
            "bearer",
            {
                "realm": "https://ghcr.io/token",
                "service": "ghcr.io",
                "scope": "repository:a/b:pull,push",
            },
        ),
        ('Basic realm="private registry"', "basic", {"realm": "private registry"}),
        ("bearer realm=https://x/token", "bearer", {"realm": "https://x/token"}),
    ],
)
def test_www_authenticate_challenges(header: str, scheme: str, params: dict[str, str]) -> None:
    challenge = parse_challenge(header)
    assert challenge is not None
    assert (challenge.scheme, challenge.params) == (scheme, params)


@pytest.mark.parametrize("header", [None, "", "Bearer", 'Bearer service="x"', 'Digest realm="x"'])
def test_unusable_challenges(header: str | None) -> None:
    assert parse_challenge(header) is None
