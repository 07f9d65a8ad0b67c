"""The path resolver: upstream's accept/reject rules and messages (files-and-sync.md §6),
and no way out of the root through links, encodings or absolute paths."""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluxos.files.paths import (
    ABSOLUTE,
    BACKSLASHES,
    DOUBLE_SLASH,
    NOT_A_STRING,
    NULL_BYTES,
    SYMLINK_ESCAPE,
    TRAVERSAL,
    PathRejected,
    Root,
    check_relative,
    validate_filename,
)

ACCEPTED = [
    ("appdata", ("appdata",)),
    ("logs/app.log", ("logs", "app.log")),
    ("a/b/", ("a", "b")),
    ("file..backup.txt", ("file..backup.txt",)),
    ("my file (1) [x] {y} @#+=.txt", ("my file (1) [x] {y} @#+=.txt",)),
    ("...", ("...",)),
    ("", ()),
    (None, ()),
]

REJECTED = [
    (5, NOT_A_STRING),
    (["a"], NOT_A_STRING),
    ("a\0b", NULL_BYTES),
    ("..\0", NULL_BYTES),
    ("a\\b", BACKSLASHES),
    ("..\\x", BACKSLASHES),
    ("..", TRAVERSAL),
    ("../x", TRAVERSAL),
    ("a/../../x", TRAVERSAL),
    ("a/..", TRAVERSAL),
    ("/etc/passwd", ABSOLUTE),
    ("/", ABSOLUTE),
    ("a//b", DOUBLE_SLASH),
    ("//a", ABSOLUTE),
    (".", 'Invalid path: component "." contains disallowed characters'),
    ("a/./b", 'Invalid path: component "." contains disallowed characters'),
    ("%2e%2e/x", 'Invalid path: component "%2e%2e" contains disallowed characters'),
    ("%252e%252e", 'Invalid path: component "%252e%252e" contains disallowed characters'),
    ("naïve", 'Invalid path: component "naïve" contains disallowed characters'),
    ("a;rm -rf", 'Invalid path: component "a;rm -rf" contains disallowed characters'),
    ("x$(id)", 'Invalid path: component "x$(id)" contains disallowed characters'),
    ("a\nb", 'Invalid path: component "a\nb" contains disallowed characters'),
    ("name\n", 'Invalid path: component "name\n" contains disallowed characters'),
    ("~", 'Invalid path: component "~" contains disallowed characters'),
]


@pytest.mark.parametrize(("value", "parts"), ACCEPTED)
def test_accepted_paths_name_their_components(value: object, parts: tuple[str, ...]) -> None:
    assert check_relative(value) == parts


@pytest.mark.parametrize(("value", "message"), REJECTED)
def test_rejected_paths_carry_upstreams_message(value: object, message: str) -> None:
    with pytest.raises(PathRejected) as caught:
        check_relative(value)
    assert caught.value.message == message


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Filename must be a non-empty string"),
        (None, "Filename must be a non-empty string"),
        ("a\0", "Invalid filename: null bytes not allowed"),
        ("../x", "Invalid filename: path separators not allowed"),
        ("a\\b", "Invalid filename: path separators not allowed"),
        ("..", "Invalid filename: reserved name"),
        (".", "Invalid filename: reserved name"),
    ],
)
def test_filenames_are_single_names(name: object, message: str) -> None:
    with pytest.raises(PathRejected) as caught:
        validate_filename(name)
    assert caught.value.message == message


def test_a_plain_filename_passes() -> None:
    assert validate_filename("backup_web.tar.gz") == "backup_web.tar.gz"


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Root, Path]:
    """A root with links planted inside: to /etc, to a sibling root, and to its own file."""
    base = tmp_path / "root"
    other = tmp_path / "other"
    (base / "data").mkdir(parents=True)
    other.mkdir()
    (other / "secret").write_text("other app")
    (base / "data" / "file.txt").write_text("mine")
    os.symlink("/etc", base / "etc")
    os.symlink(other, base / "data" / "other")
    os.symlink("../other/secret", base / "relative")
    os.symlink("file.txt", base / "data" / "inside")
    os.symlink("loop", base / "loop")
    return Root(base), other


def test_links_out_of_the_root_are_refused(planted: tuple[Root, Path]) -> None:
    root, _other = planted
    for path in ("etc", "etc/passwd", "data/other", "data/other/secret", "relative"):
        with pytest.raises(PathRejected) as caught:
            root.existing(path)
        assert caught.value.message == SYMLINK_ESCAPE, path


def test_a_link_inside_the_root_resolves_to_its_target(planted: tuple[Root, Path]) -> None:
    root, _other = planted
    assert root.existing("data/inside") == Path(root.real_base) / "data" / "file.txt"


def test_creating_below_an_escaping_link_is_refused(planted: tuple[Root, Path]) -> None:
    root, _other = planted
    with pytest.raises(PathRejected):
        root.creatable("data/other/new/deeper")
    assert root.creatable("data/new/deeper") == root.base / "data" / "new" / "deeper"


def test_an_entry_may_be_the_link_itself(planted: tuple[Root, Path]) -> None:
    root, _other = planted
    assert root.entry("etc") == Path(root.real_base) / "etc"
    assert os.path.islink(root.entry("data/other"))
    with pytest.raises(PathRejected):
        root.entry("data/other/secret")


def test_a_link_loop_is_a_clean_refusal(planted: tuple[Root, Path]) -> None:
    root, _other = planted
    with pytest.raises(PathRejected):
        root.existing("loop/x")


def test_opening_never_follows_a_link_swapped_in(planted: tuple[Root, Path]) -> None:
    root, other = planted
    checked = root.existing("data/file.txt")
    fd = root.open_file(checked)
    assert os.read(fd, 10) == b"mine"
    os.close(fd)
    # the file is replaced by a link to another root after the check
    os.unlink(checked)
    os.symlink(other / "secret", checked)
    with pytest.raises(OSError):
        root.open_file(checked)
    os.rename(root.base / "data", root.base / "data.old")
    os.symlink(other, root.base / "data")
    with pytest.raises(OSError):
        root.open_file(root.base / "data" / "secret")
    with pytest.raises(OSError):
        root.open_directory(root.base / "data")


_ALPHABET = string.ascii_letters[:6] + string.digits[:3] + "./\\\0%~ _-é\n"


@settings(max_examples=600, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=_ALPHABET, max_size=24))
def test_no_text_resolves_outside_the_root(planted: tuple[Root, Path], text: str) -> None:
    root, _other = planted
    real_base = root.real_base
    for resolve in (root.lexical, root.existing, root.creatable, root.entry):
        try:
            resolved = resolve(text)
        except PathRejected:
            continue
        resolved_text = os.path.abspath(resolved)
        inside = resolved_text == str(root.base) or resolved_text.startswith(
            (str(root.base) + "/", real_base + "/")
        )
        assert inside, (resolve.__name__, text, resolved)
        if resolve is root.existing and os.path.lexists(resolved):
            assert os.path.realpath(resolved).startswith(real_base)


@given(
    parts=st.lists(
        st.text(alphabet=string.ascii_letters + string.digits + "_-. @#+=()[]{}", min_size=1),
        min_size=1,
        max_size=5,
    ).filter(lambda parts: all(p not in (".", "..") for p in parts))
)
def test_every_allowed_name_is_accepted(parts: list[str]) -> None:
    assert check_relative("/".join(parts)) == tuple(parts)
