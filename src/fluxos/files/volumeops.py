"""Move, copy, compress and extract inside one app component's volume (upstream 8.18's
`POST /apps/moveobject|copyobject|compressobject|extractobject`), run as jobs.

Both operands are paths relative to the volume root, resolved by its `Root` (§6 rules;
no link leads out). `destination` is the full target path including its name. The work
is written into a hidden staging entry beside the destination and published in one
`renameat2`: `RENAME_NOREPLACE` unless `overwrite` was asked for, else `RENAME_EXCHANGE`
and the displaced entry is removed, so a failed or cancelled operation leaves the
destination as it was and a reader never sees half a copy. Everything is read and
written through directory descriptors opened without following links: a link in the
source is copied or archived as a link, never read through.

Archives hold the source's contents at their top (a file: the file), so extracting one
to a destination gives back the source under that name. Extraction refuses members that
are absolute, climb with `..`, are devices, hard links or FIFOs, or would be written
through a link; a link itself is made as it is, as `cp -a` makes one (every reader of a
volume refuses to follow one out). Ownership and setuid bits in the archive are ignored;
what lands is capped at the volume's free space when the job started (a bomb fills the
app's own fixed-size volume at most, and stops there)."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gzip
import os
import stat
import tarfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from fluxos.errors import BadParameter
from fluxos.files.fluxshare import remove_at
from fluxos.files.jobs import Job
from fluxos.files.paths import Root, open_regular

CHUNK = 1024 * 1024
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_LIBC = ctypes.CDLL(None, use_errno=True)
_RENAMEAT2 = getattr(_LIBC, "renameat2", None)

ZIP, TAR = "zip", "tar"
EXISTS = "Destination already exists"
INSIDE_SOURCE = "Destination cannot be inside the source"
NO_SPACE = "Not enough free space on the volume"
NOT_DATA = "is not a file, folder or link (devices, FIFOs and hard links are refused)"


def archive_format(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".zip"):
        return ZIP
    if lower.endswith((".tar.gz", ".tgz")):
        return TAR
    return None


def _rename(src_fd: int, src: str, dst_fd: int, dst: str, flags: int) -> None:
    if _RENAMEAT2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    if _RENAMEAT2(src_fd, src.encode(), dst_fd, dst.encode(), flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def publish(src_fd: int, src: str, dst_fd: int, dst: str, overwrite: bool) -> None:
    """Put `src` at `dst` in one step; with `overwrite` the entry it displaces goes."""
    try:
        _rename(src_fd, src, dst_fd, dst, RENAME_NOREPLACE)
        return
    except OSError as error:
        if error.errno != errno.EEXIST or not overwrite:
            if error.errno == errno.EEXIST:
                raise BadParameter(EXISTS, code="EEXIST") from None
            raise
    _rename(src_fd, src, dst_fd, dst, RENAME_EXCHANGE)
    remove_at(src_fd, src)  # `src` now names what was displaced


@dataclass
class Operand:
    """A resolved path of the volume: its parent's path and its name there."""

    path: Path
    parent: Path
    name: str


def staging_name(job: Job) -> str:
    return f".fluxos-{job.job_id}"


def free_bytes(root: Root, directory: Path) -> int:
    fd = root.open_directory(directory)
    try:
        info = os.fstatvfs(fd)
    finally:
        os.close(fd)
    return info.f_bavail * info.f_frsize


def tree_bytes(parent_fd: int, name: str) -> int:
    """The regular files' bytes under an entry, links not followed."""
    info = os.lstat(name, dir_fd=parent_fd)
    if stat.S_ISREG(info.st_mode):
        return info.st_size
    if not stat.S_ISDIR(info.st_mode):
        return 0
    fd = os.open(name, _DIR, dir_fd=parent_fd)
    try:
        return sum(tree_bytes(fd, child) for child in os.listdir(fd))
    finally:
        os.close(fd)


class Budget:
    """Bytes written so far against a ceiling; the job's progress figure."""

    def __init__(self, job: Job, ceiling: int) -> None:
        self.job, self.ceiling, self.done = job, ceiling, 0
        job.bytes_done = 0

    def add(self, count: int) -> None:
        self.done += count
        self.job.bytes_done = self.done
        if self.done > self.ceiling:
            raise BadParameter(f"{NO_SPACE}: {self.ceiling} bytes available", code="ENOSPC")
        self.job.check_cancel()


# -- the work, in a worker thread --------------------------------------------------------
def _in_parent(root: Root, operand: Operand, action: Callable[[int], None]) -> None:
    fd = root.open_directory(root.verify_real(operand.parent))
    try:
        action(fd)
    finally:
        os.close(fd)


def _staged(
    root: Root,
    destination: Operand,
    job: Job,
    overwrite: bool,
    make: Callable[[int, str], None],
) -> None:
    """`make(parent_fd, staging)` builds the result beside the destination; then it is
    published, or removed if anything failed."""

    def run(fd: int) -> None:
        staging = staging_name(job)
        try:
            make(fd, staging)
            job.check_cancel()
            publish(fd, staging, fd, destination.name, overwrite)
        except BaseException:
            with contextlib.suppress(OSError):
                remove_at(fd, staging)
            raise

    _in_parent(root, destination, run)


def move(root: Root, source: Operand, destination: Operand, job: Job, overwrite: bool) -> None:
    def run(src_fd: int) -> None:
        job.check_cancel()
        _in_parent(
            root,
            destination,
            lambda dst_fd: publish(src_fd, source.name, dst_fd, destination.name, overwrite),
        )

    _in_parent(root, source, run)


def _copy_entry(src_fd: int, name: str, dst_fd: int, target: str, budget: Budget) -> None:
    """`cp -a` of one entry (as root: owner, mode and times kept; a link stays a link;
    devices, FIFOs and sockets are not data and are left out)."""
    info = os.lstat(name, dir_fd=src_fd)
    if stat.S_ISLNK(info.st_mode):
        os.symlink(os.readlink(name, dir_fd=src_fd), target, dir_fd=dst_fd)
    elif stat.S_ISDIR(info.st_mode):
        os.mkdir(target, 0o700, dir_fd=dst_fd)
        inner_src = os.open(name, _DIR, dir_fd=src_fd)
        try:
            inner_dst = os.open(target, _DIR, dir_fd=dst_fd)
            try:
                for child in sorted(os.listdir(inner_src)):
                    _copy_entry(inner_src, child, inner_dst, child, budget)
            finally:
                os.close(inner_dst)
        finally:
            os.close(inner_src)
    elif stat.S_ISREG(info.st_mode):
        reader = open_regular(name, src_fd)
        try:
            writer = os.open(
                target,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
                dir_fd=dst_fd,
            )
            try:
                while data := os.read(reader, CHUNK):
                    os.write(writer, data)
                    budget.add(len(data))
            finally:
                os.close(writer)
        finally:
            os.close(reader)
    else:
        return
    _keep_attributes(dst_fd, target, info)


def _keep_attributes(dir_fd: int, name: str, info: os.stat_result) -> None:
    with contextlib.suppress(PermissionError):
        os.chown(name, info.st_uid, info.st_gid, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISLNK(info.st_mode):
        os.chmod(name, stat.S_IMODE(info.st_mode), dir_fd=dir_fd)
    times = (info.st_atime_ns, info.st_mtime_ns)
    with contextlib.suppress(NotImplementedError, OSError):
        os.utime(name, ns=times, dir_fd=dir_fd, follow_symlinks=False)


def copy(
    root: Root, source: Operand, destination: Operand, job: Job, overwrite: bool, ceiling: int
) -> None:
    budget = Budget(job, ceiling)

    def run(src_fd: int) -> None:
        _staged(
            root,
            destination,
            job,
            overwrite,
            lambda fd, staging: _copy_entry(src_fd, source.name, fd, staging, budget),
        )

    _in_parent(root, source, run)


class _Counting:
    """A write-only file that counts what passes into the archive."""

    def __init__(self, raw: IO[bytes], budget: Budget) -> None:
        self.raw, self.budget = raw, budget

    def write(self, data: bytes) -> int:
        written = self.raw.write(data)
        self.budget.add(len(data))
        return written

    def flush(self) -> None:
        self.raw.flush()

    def tell(self) -> int:
        return self.raw.tell()

    def seekable(self) -> bool:
        return False


def _members(src_fd: int, name: str, arcname: str) -> Iterator[tuple[str, int, str, int]]:
    """(archive name, parent fd, name there, lstat mode) of an entry and all below it;
    each yielded while its parent descriptor is open."""
    info = os.lstat(name, dir_fd=src_fd)
    if arcname:
        yield arcname, src_fd, name, info.st_mode
    if not stat.S_ISDIR(info.st_mode):
        return
    fd = os.open(name, _DIR, dir_fd=src_fd)
    try:
        for child in sorted(os.listdir(fd)):
            yield from _members(fd, child, f"{arcname}/{child}" if arcname else child)
    finally:
        os.close(fd)


def _write_archive(
    kind: str, out: IO[bytes], src_fd: int, source: Operand, budget: Budget, is_dir: bool
) -> None:
    counted: Any = _Counting(out, budget)
    members = _members(src_fd, source.name, "" if is_dir else source.name)
    if kind == TAR:
        with tarfile.open(fileobj=counted, mode="w|gz") as tar:
            for arcname, fd, name, mode in members:
                _add_to_tar(tar, arcname, fd, name, mode)
        return
    with zipfile.ZipFile(counted, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for arcname, fd, name, mode in members:
            _add_to_zip(archive, arcname, fd, name, mode)


def _add_to_tar(tar: tarfile.TarFile, arcname: str, fd: int, name: str, mode: int) -> None:
    info = os.lstat(name, dir_fd=fd)
    member = tarfile.TarInfo(arcname)
    member.mode, member.mtime = stat.S_IMODE(info.st_mode), int(info.st_mtime)
    member.uid, member.gid = info.st_uid, info.st_gid
    if stat.S_ISLNK(mode):
        member.type, member.linkname = tarfile.SYMTYPE, os.readlink(name, dir_fd=fd)
        tar.addfile(member)
    elif stat.S_ISDIR(mode):
        member.type = tarfile.DIRTYPE
        tar.addfile(member)
    elif stat.S_ISREG(mode):
        reader = open_regular(name, fd)
        with os.fdopen(reader, "rb") as content:
            member.size = os.fstat(reader).st_size
            tar.addfile(member, content)


def _add_to_zip(archive: zipfile.ZipFile, arcname: str, fd: int, name: str, mode: int) -> None:
    info = os.lstat(name, dir_fd=fd)
    when = max(info.st_mtime, 315532800)  # zip dates start in 1980
    entry = zipfile.ZipInfo(arcname, time.localtime(when)[:6])
    entry.external_attr = (info.st_mode & 0xFFFF) << 16
    if stat.S_ISLNK(mode):
        archive.writestr(entry, os.readlink(name, dir_fd=fd))  # `zip -y`: the link itself
    elif stat.S_ISDIR(mode):
        entry.filename = arcname + "/"
        entry.external_attr |= 0x10
        archive.writestr(entry, b"")
    elif stat.S_ISREG(mode):
        entry.compress_type = zipfile.ZIP_DEFLATED
        entry.file_size = info.st_size
        reader = open_regular(name, fd)
        try:
            with archive.open(entry, "w", force_zip64=True) as member:
                while data := os.read(reader, CHUNK):
                    member.write(data)
        finally:
            os.close(reader)


def compress(
    root: Root,
    source: Operand,
    destination: Operand,
    job: Job,
    overwrite: bool,
    ceiling: int,
    kind: str,
) -> None:
    budget = Budget(job, ceiling)

    def run(src_fd: int) -> None:
        is_dir = stat.S_ISDIR(os.lstat(source.name, dir_fd=src_fd).st_mode)

        def make(fd: int, staging: str) -> None:
            out_fd = os.open(
                staging,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o644,
                dir_fd=fd,
            )
            with os.fdopen(out_fd, "wb") as out:
                _write_archive(kind, out, src_fd, source, budget, is_dir)

        _staged(root, destination, job, overwrite, make)

    _in_parent(root, source, run)


def _member_parts(name: str) -> tuple[str, ...]:
    """An archive member's name as relative components; refused when it could land
    outside the destination."""
    if "\0" in name or "\\" in name or name.startswith("/"):
        raise BadParameter(f"Archive member {name!r} is not a relative path")
    parts = tuple(part for part in PurePosixPath(name).parts if part not in ("", "."))
    if ".." in parts:
        raise BadParameter(f"Archive member {name!r} climbs out of the destination")
    return parts


def _open_dirs(top_fd: int, parts: tuple[str, ...]) -> int:
    """A descriptor of `parts` below `top_fd`, made as needed, never through a link."""
    fd = os.dup(top_fd)
    try:
        for part in parts:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=fd)
            next_fd = os.open(part, _DIR, dir_fd=fd)
            os.close(fd)
            fd = next_fd
    except OSError as error:
        os.close(fd)
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise BadParameter(
                f"Archive member {'/'.join(parts)!r} would be written through a link or a file"
            ) from None
        raise
    except BaseException:
        os.close(fd)
        raise
    return fd


def _extract_file(
    top_fd: int, parts: tuple[str, ...], content: IO[bytes], mode: int, budget: Budget
) -> None:
    fd = _open_dirs(top_fd, parts[:-1])
    try:
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISDIR(os.lstat(parts[-1], dir_fd=fd).st_mode):
                os.unlink(parts[-1], dir_fd=fd)  # a later member of the same name wins
        writer = os.open(
            parts[-1],
            os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
            dir_fd=fd,
        )
        try:
            while data := content.read(CHUNK):
                os.write(writer, data)
                budget.add(len(data))
            os.fchmod(writer, mode & 0o777 or 0o644)
        finally:
            os.close(writer)
    finally:
        os.close(fd)


def _extract_link(top_fd: int, parts: tuple[str, ...], target: str) -> None:
    """A link is a name and is made as it is (as `cp -a` and `tar -x` make one); what
    bounds it is that nothing is ever written or read through a link here."""
    if "\0" in target:
        raise BadParameter(f"Archive link {'/'.join(parts)!r} is not a valid link")
    fd = _open_dirs(top_fd, parts[:-1])
    try:
        with contextlib.suppress(FileNotFoundError):
            remove_at(fd, parts[-1])
        os.symlink(target, parts[-1], dir_fd=fd)
    finally:
        os.close(fd)


def _extract_tar(archive_file: IO[bytes], top_fd: int, budget: Budget) -> None:
    with tarfile.open(fileobj=archive_file, mode="r|gz") as tar:
        for member in tar:
            parts = _member_parts(member.name)
            if not parts:
                continue
            if member.isdir():
                os.close(_open_dirs(top_fd, parts))
            elif member.issym():
                _extract_link(top_fd, parts, member.linkname)
            elif member.isreg():
                content = tar.extractfile(member)
                assert content is not None
                _extract_file(top_fd, parts, content, member.mode, budget)
            else:  # hard links, devices, FIFOs: not data
                raise BadParameter(f"Archive member {member.name!r} {NOT_DATA}")


def _extract_zip(archive_file: IO[bytes], top_fd: int, budget: Budget) -> None:
    with zipfile.ZipFile(archive_file) as archive:
        for entry in archive.infolist():
            parts = _member_parts(entry.filename)
            if not parts:
                continue
            mode = entry.external_attr >> 16
            if entry.is_dir():
                os.close(_open_dirs(top_fd, parts))
            elif stat.S_ISLNK(mode):
                _extract_link(top_fd, parts, archive.read(entry).decode())
            elif stat.S_IFMT(mode) in (0, stat.S_IFREG):
                with archive.open(entry) as content:
                    _extract_file(top_fd, parts, content, stat.S_IMODE(mode), budget)
            else:
                raise BadParameter(f"Archive member {entry.filename!r} {NOT_DATA}")


def extract(
    root: Root,
    source: Operand,
    destination: Operand,
    job: Job,
    overwrite: bool,
    ceiling: int,
    kind: str,
) -> None:
    budget = Budget(job, ceiling)
    readers: list[int] = []
    _in_parent(root, source, lambda src_fd: readers.append(open_regular(source.name, src_fd)))
    with os.fdopen(readers[0], "rb") as archive_file:

        def make(fd: int, staging: str) -> None:
            os.mkdir(staging, 0o755, dir_fd=fd)
            top = os.open(staging, _DIR, dir_fd=fd)
            try:
                try:
                    if kind == TAR:
                        _extract_tar(archive_file, top, budget)
                    else:
                        _extract_zip(archive_file, top, budget)
                except (
                    tarfile.TarError,
                    zipfile.BadZipFile,
                    gzip.BadGzipFile,
                    zlib.error,
                    EOFError,
                ) as error:
                    raise BadParameter(f"Archive cannot be read: {error}") from None
            finally:
                os.close(top)

        _staged(root, destination, job, overwrite, make)
