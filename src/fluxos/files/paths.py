"""The one path resolver every file route uses (files-and-sync.md §6).

A client names a file by a path relative to a root (the FluxShare folder, an app
component's volume). `Root.lexical` applies upstream's strict `sanitizePath` rules with its
messages; `Root.existing`, `Root.creatable` and `Root.entry` add the real-path checks
(symlinks inside the root that point out of it are refused); `Root.open_file` and
`Root.open_directory` then open what was resolved walking the root one component at a time
with `O_NOFOLLOW`, so a symlink swapped in after the check is not followed either.

Path parameters arrive URL-decoded once by the edge; a double-encoded `%2e%2e` is left as
`%2e%2e` and refused by the allowlist (`%` is not an allowed character).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
from pathlib import Path, PurePosixPath

from fluxos.errors import BadParameter

_COMPONENT = re.compile(r"[a-zA-Z0-9_\-. @#+=()\[\]{}]+")
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC

NOT_A_STRING = "Invalid path: must be a string"
NULL_BYTES = "Invalid path: null bytes not allowed"
BACKSLASHES = "Invalid path: backslashes are not allowed"
TRAVERSAL = "Invalid path: directory traversal not allowed"
ABSOLUTE = "Invalid path: absolute paths not allowed"
DOUBLE_SLASH = "Invalid path: empty path component (double slash)"
OUTSIDE = "Invalid path: access outside allowed directory denied"
SYMLINK_ESCAPE = "Symlink escape: real path is outside allowed directory"


class PathRejected(BadParameter):
    """A client path breaks a rule of §6; the message is upstream's."""


def check_relative(user_path: object) -> tuple[str, ...]:
    """The components of a client path after upstream's strict checks, in its order.

    `None` and `""` name the root itself (no components). A trailing `/` is allowed.
    """
    if user_path is None or user_path == "":
        return ()
    if not isinstance(user_path, str):
        raise PathRejected(NOT_A_STRING)
    if "\0" in user_path:
        raise PathRejected(NULL_BYTES)
    if "\\" in user_path:
        raise PathRejected(BACKSLASHES)
    parts = user_path.split("/")
    if ".." in parts:
        raise PathRejected(TRAVERSAL)
    if user_path.startswith("/"):
        raise PathRejected(ABSOLUTE)
    components: list[str] = []
    for index, part in enumerate(parts):
        if part == "":
            if index == len(parts) - 1:
                continue  # a trailing slash
            raise PathRejected(DOUBLE_SLASH)
        if part == "." or not _COMPONENT.fullmatch(part):
            raise PathRejected(f'Invalid path: component "{part}" contains disallowed characters')
        components.append(part)
    return tuple(components)


def validate_filename(name: object) -> str:
    """A single file name (an upload's field name or `filename`): upstream's
    `validateFilename` rules and messages."""
    if not isinstance(name, str) or not name:
        raise PathRejected("Filename must be a non-empty string")
    if "\0" in name:
        raise PathRejected("Invalid filename: null bytes not allowed")
    if "/" in name or "\\" in name:
        raise PathRejected("Invalid filename: path separators not allowed")
    if name in (".", ".."):
        raise PathRejected("Invalid filename: reserved name")
    return name


def _inside(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


class Root:
    """A directory clients address by relative paths, and nothing outside it."""

    def __init__(self, base: Path) -> None:
        self.base = Path(os.path.abspath(base))

    def __repr__(self) -> str:
        return f"Root({str(self.base)!r})"

    @property
    def real_base(self) -> str:
        return os.path.realpath(self.base)

    # -- resolution ---------------------------------------------------------------------
    def lexical(self, user_path: object) -> Path:
        """`sanitizePath`: the absolute path a client path names, checked lexically only."""
        components = check_relative(user_path)
        resolved = self.base.joinpath(*components)
        if not _inside(str(resolved), str(self.base)):
            raise PathRejected(OUTSIDE)
        return resolved

    def verify_real(self, target: Path) -> Path:
        """`verifyRealPath`: the real path of `target`, refused when a symlink leads it out
        of the root. A path that does not exist is returned unchanged."""
        try:
            real = os.path.realpath(target, strict=True)
        except FileNotFoundError:
            return target
        except OSError as error:  # a symlink loop, a file used as a directory
            raise PathRejected(f"Invalid path: {error.strerror or error}") from None
        if not _inside(real, self.real_base):
            raise PathRejected(SYMLINK_ESCAPE)
        return Path(real)

    def existing(self, user_path: object) -> Path:
        """`sanitizeAndVerifyPath`: lexical rules, then the real path inside the root
        (what a read follows); a path that does not exist is returned as named."""
        return self.verify_real(self.lexical(user_path))

    def creatable(self, user_path: object) -> Path:
        """`verifyRealPathOfExistingPath`: for a path about to be created, the deepest
        existing ancestor must resolve inside the root. Returns the lexical path."""
        target = self.lexical(user_path)
        current = target
        while not os.path.lexists(current) and current != self.base:
            current = current.parent
        self.verify_real(current)
        return target

    def entry(self, user_path: object) -> Path:
        """A path an operation acts on itself (rename, remove): its parent must resolve
        inside the root; a symlink is the link, anything else is fully checked."""
        target = self.lexical(user_path)
        if target == self.base:
            return target
        parent = self.verify_real(target.parent)
        if os.path.islink(target):
            return parent / target.name
        return self.verify_real(target)

    def relative(self, path: Path | str) -> PurePosixPath:
        """`path` (lexical or real, inside the root) relative to the root."""
        text = str(path)
        for base in (str(self.base), self.real_base):
            if _inside(text, base):
                return PurePosixPath(os.path.relpath(text, base))
        raise PathRejected(OUTSIDE)

    # -- opening without following links ------------------------------------------------
    def _walk(self, parts: tuple[str, ...]) -> int:
        """A directory descriptor for `parts` under the real root, no link followed."""
        fd = os.open(self.real_base, _DIRECTORY_FLAGS)
        try:
            for part in parts:
                next_fd = os.open(part, _DIRECTORY_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = next_fd
        except OSError:
            os.close(fd)
            raise
        return fd

    def _parts(self, path: Path) -> tuple[str, ...]:
        relative = self.relative(path)
        return () if str(relative) == "." else relative.parts

    def open_directory(self, path: Path) -> int:
        """A descriptor of directory `path` (resolved by this root) opened component by
        component with `O_NOFOLLOW`: a link planted after the check is refused (ELOOP)."""
        return self._walk(self._parts(path))

    def open_file(self, path: Path, flags: int = os.O_RDONLY, mode: int = 0o644) -> int:
        """A descriptor of file `path` (resolved by this root), opened like
        `open_directory` and never through a link; for reading, a regular file only
        (`open_regular`)."""
        parts = self._parts(path)
        if not parts:
            raise IsADirectoryError(str(path))
        directory = self._walk(parts[:-1])
        try:
            if flags & (os.O_WRONLY | os.O_RDWR) == 0:
                return open_regular(parts[-1], directory)
            return os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=directory)
        finally:
            os.close(directory)


def open_regular(name: str, dir_fd: int) -> int:
    """Open the regular file `name` in directory `dir_fd` for reading, never through a
    link and never blocking: a FIFO planted in a volume would hold a worker thread until
    a writer came (every file route shares those threads). Anything not a regular file
    raises `NotRegular` (a folder: `IsADirectoryError`)."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if not stat.S_ISREG(mode):
            raise NotRegular(errno.EINVAL, "not a regular file")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(fd)
        raise
    return fd


class NotRegular(OSError):
    """A FIFO, socket or device where a file was to be read."""


def os_failure(error: OSError, root: Root, path: Path | str) -> BadParameter:
    """An OS error as the client sees it: Node's code (`ENOENT`) and the path relative to
    the root (upstream's messages carried the node's absolute paths)."""
    code = errno.errorcode.get(error.errno or 0, "EIO")
    try:
        shown = str(root.relative(path))
    except BadParameter:
        shown = Path(path).name
    reason = error.strerror or str(error)
    return BadParameter(f"{code}: {reason.lower()}, '{shown}'", code=code)
