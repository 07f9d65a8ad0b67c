"""Installing UI bundles: digest checks, the unpacking rules, the atomic switch."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from fluxos.errors import BadParameter
from fluxos.web.bundle import VERSION_FILE, BundleError, UiBundles, parse_digest
from tests.support.uibundles import SPA_FILES, spa_tarball, tarball_of


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _index() -> tuple[tarfile.TarInfo, bytes]:
    return _file("index.html", b"<!doctype html>")


def test_install_unpacks_the_dist_folder_and_serves_it(tmp_path: Path) -> None:
    bundles = UiBundles(tmp_path / "ui")
    assert bundles.current() is None and bundles.installed() is None
    digest = spa_tarball(tmp_path / "dist.tar.gz", tag="v1")
    installed = bundles.install(tmp_path / "dist.tar.gz", f"sha256:{digest.upper()}")
    assert installed.digest == digest
    served = bundles.current()
    assert served == installed.path.resolve()
    assert sorted(str(p.relative_to(served)) for p in served.rglob("*") if p.is_file()) == sorted(
        [*SPA_FILES, VERSION_FILE]
    )
    assert (served / VERSION_FILE).read_text() == digest + "\n"
    assert "test UI v1" in (served / "index.html").read_text()
    assert bundles.installed() == installed


def test_a_flat_archive_installs_too(tmp_path: Path) -> None:
    bundles = UiBundles(tmp_path / "ui")
    spa_tarball(tmp_path / "flat.tar.gz", top="")
    served = bundles.install(tmp_path / "flat.tar.gz").path
    assert (served / "assets" / "app-9c1d.js").is_file()


def test_a_digest_mismatch_changes_nothing(tmp_path: Path) -> None:
    bundles = UiBundles(tmp_path / "ui")
    spa_tarball(tmp_path / "v1.tar.gz", tag="v1")
    first = bundles.install(tmp_path / "v1.tar.gz")
    before = sorted(p.name for p in bundles.releases.iterdir())
    spa_tarball(tmp_path / "v2.tar.gz", tag="v2")
    with pytest.raises(BundleError, match="sha256 mismatch"):
        bundles.install(tmp_path / "v2.tar.gz", "0" * 64)
    assert bundles.installed() == first
    assert sorted(p.name for p in bundles.releases.iterdir()) == before
    assert "test UI v1" in (bundles.current() / "index.html").read_text()  # type: ignore[operator]


@pytest.mark.parametrize("digest", ["abc", "sha256:xyz", "g" * 64, "sha512:" + "0" * 64])
def test_malformed_digests_are_refused_naming_the_rule(digest: str) -> None:
    with pytest.raises(BadParameter, match="sha256 must be 64 hexadecimal digits"):
        parse_digest(digest)


@pytest.mark.parametrize(
    "name", ["../evil.html", "dist/../../evil.html", "/etc/evil.html", "a/..\\..\\evil"]
)
def test_entries_outside_the_bundle_are_refused(tmp_path: Path, name: str) -> None:
    bundles = UiBundles(tmp_path / "root" / "ui")
    tarball_of(tmp_path / "bad.tar.gz", [_index(), _file(name)])
    with pytest.raises(BundleError, match="outside the bundle"):
        bundles.install(tmp_path / "bad.tar.gz")
    assert bundles.current() is None
    assert not list((tmp_path / "root").rglob("evil*"))
    assert [p.name for p in bundles.releases.iterdir()] == []  # the staging dir is gone


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE])
def test_links_and_special_files_are_refused(tmp_path: Path, kind: bytes) -> None:
    bundles = UiBundles(tmp_path / "ui")
    link = tarfile.TarInfo("assets")
    link.type = kind
    link.linkname = "/etc"
    tarball_of(tmp_path / "bad.tar.gz", [_index(), (link, None)])
    with pytest.raises(BundleError, match="not a regular file or directory"):
        bundles.install(tmp_path / "bad.tar.gz")
    assert bundles.current() is None


def test_archives_without_an_index_or_not_archives_are_refused(tmp_path: Path) -> None:
    bundles = UiBundles(tmp_path / "ui")
    tarball_of(tmp_path / "noindex.tar.gz", [_file("dist/app.js")])
    with pytest.raises(BundleError, match=r"no index\.html"):
        bundles.install(tmp_path / "noindex.tar.gz")
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tarball")
    with pytest.raises(BundleError, match="not a readable"):
        bundles.install(tmp_path / "junk.tar.gz")
    assert bundles.current() is None


def test_each_install_switches_and_two_releases_are_kept(tmp_path: Path) -> None:
    bundles = UiBundles(tmp_path / "ui")
    paths = []
    for tag in ("v1", "v2", "v3"):
        spa_tarball(tmp_path / f"{tag}.tar.gz", tag=tag)
        paths.append(bundles.install(tmp_path / f"{tag}.tar.gz").path)
        assert f"test UI {tag}" in (bundles.current() / "index.html").read_text()  # type: ignore[operator]
        assert bundles.current_link.is_symlink()
    assert not paths[0].exists() and paths[1].is_dir() and paths[2].is_dir()
    # the same bundle again is a new release directory, switched to as well
    again = bundles.install(tmp_path / "v3.tar.gz").path
    assert again != paths[2] and bundles.current() == again.resolve()
