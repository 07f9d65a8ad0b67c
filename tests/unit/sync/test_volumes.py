"""Mount and content facts about app volumes, read from a real mountinfo and real dirs."""

from __future__ import annotations

from pathlib import Path

from fluxos.sync import volumes


def test_mountinfo_is_parsed_with_its_escapes(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "90 22 7:0 / /srv/apps/flux\\040db_wiki rw - ext4 /dev/loop0 rw\n"
    )
    assert volumes.mount_points(info) == frozenset({"/", "/srv/apps/flux db_wiki"})
    assert volumes.mount_points(tmp_path / "missing") == frozenset()


def test_the_root_filesystem_counts_as_mounted_a_plain_dir_does_not(tmp_path: Path) -> None:
    assert volumes.is_mounted(Path("/"))
    assert not volumes.is_mounted(tmp_path)


def test_markers_and_backups_are_not_data(tmp_path: Path) -> None:
    for name in (".stfolder", "backup/local", "lost+found"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / ".stignore").write_text("/backup\n")
    (tmp_path / "backup" / "local" / "b.tar.gz").write_bytes(b"x")
    (tmp_path / "appdata" / "deep").mkdir(parents=True)
    assert not volumes.holds_files(tmp_path)
    (tmp_path / "appdata" / "deep" / "empty.db").touch()
    assert volumes.holds_files(tmp_path)


def test_an_unmounted_volume_never_sends_and_gets_no_marker(tmp_path: Path) -> None:
    safety = volumes.inspect(tmp_path, frozenset())
    assert not safety.mounted and "not mounted" in (volumes.sends_safely(safety, 0) or "")
    assert not volumes.prepare_markers(tmp_path, frozenset())
    assert not (tmp_path / ".stfolder").exists()


def test_an_empty_volume_with_an_indexed_folder_is_a_phantom(tmp_path: Path) -> None:
    points = frozenset({str(tmp_path)})
    safety = volumes.inspect(tmp_path, points)
    assert safety.mounted and not safety.has_data
    assert volumes.sends_safely(safety, 0) is None  # nothing indexed: nothing to delete
    assert "phantom index" in (volumes.sends_safely(safety, 12) or "")
    assert volumes.prepare_markers(tmp_path, points)
    assert (tmp_path / ".stfolder").is_dir()
    assert (tmp_path / ".stignore").read_text() == "/backup\n/lost+found\n"
