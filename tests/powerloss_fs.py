"""A filesystem that forgets what was never fsynced, as a disk does when the power goes.

    python tests/powerloss_fs.py BACKING MOUNTPOINT

mounts (FUSE, in the foreground) a view of the directory BACKING on MOUNTPOINT. Data
written through the mount lives only in this process's memory until the file is
fsynced (fsync or fdatasync); then it is written to BACKING and fsynced there. Kill
this process with SIGKILL and everything not yet synced is gone, exactly what a
power cut does to a drive's volatile cache and the kernel's page cache; BACKING then
holds what a machine would find on its disk when it boots again.

Files and directories are created, renamed and removed in BACKING at once (metadata
is treated as durable immediately, which only makes the test kinder than a real
power cut). Reads see the latest writes, synced or not.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import mfusepy

BLOCK = 4096


class VolatileFile:
    """One file's writes since its last fsync, as whole blocks over the backing file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.blocks: dict[int, bytearray] = {}
        self.size: int | None = None
        """The file's size as written; None while it is the backing file's size."""

    def logical_size(self) -> int:
        """The size readers see."""
        return os.path.getsize(self.path) if self.size is None else self.size

    def _block(self, index: int) -> bytearray:
        """Block ``index`` as readers see it, kept in memory from now on."""
        block = self.blocks.get(index)
        if block is None:
            block = bytearray(BLOCK)
            visible = self.logical_size() - index * BLOCK
            if visible > 0:
                with open(self.path, "rb") as backing:
                    backing.seek(index * BLOCK)
                    data = backing.read(min(BLOCK, visible))
                block[: len(data)] = data
            self.blocks[index] = block
        return block

    def read(self, size: int, offset: int) -> bytes:
        """Up to ``size`` bytes at ``offset``."""
        end = min(offset + size, self.logical_size())
        out = bytearray()
        position = offset
        while position < end:
            index, start = divmod(position, BLOCK)
            take = min(BLOCK - start, end - position)
            block = self.blocks.get(index)
            if block is None:
                with open(self.path, "rb") as backing:
                    backing.seek(position)
                    data = backing.read(take)
                out += data + bytes(take - len(data))
            else:
                out += block[start : start + take]
            position += take
        return bytes(out)

    def write(self, data: bytes, offset: int) -> None:
        """Write ``data`` at ``offset``, in memory only."""
        position, view = offset, memoryview(data)
        while view:
            index, start = divmod(position, BLOCK)
            take = min(BLOCK - start, len(view))
            self._block(index)[start : start + take] = view[:take]
            position += take
            view = view[take:]
        self.size = max(self.logical_size(), offset + len(data))

    def truncate(self, length: int) -> None:
        """Cut or extend the file to ``length``; what lay beyond reads as zeros."""
        old = self.logical_size()
        if length < old:
            first = length // BLOCK
            for index in range(first, (old + BLOCK - 1) // BLOCK):
                block = self._block(index)
                cut = max(0, length - index * BLOCK)
                block[cut:] = bytes(BLOCK - cut)
        self.size = length

    def sync(self) -> None:
        """Write what is in memory to the backing file and make it durable there."""
        size = self.logical_size()
        descriptor = os.open(self.path, os.O_WRONLY)
        try:
            for index, block in sorted(self.blocks.items()):
                start = index * BLOCK
                if start < size:
                    os.pwrite(descriptor, bytes(block[: min(BLOCK, size - start)]), start)
            os.ftruncate(descriptor, size)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        self.blocks.clear()
        self.size = None


class PowerLossFS(mfusepy.Operations):
    """The mounted view: reads and writes go through each file's VolatileFile."""

    use_ns = True
    """Times in nanoseconds (utimens), as os.utime takes them."""

    def __init__(self, backing: str) -> None:
        self.backing = os.path.realpath(backing)
        self.files: dict[str, VolatileFile] = {}

    def _real(self, path: str) -> str:
        return os.path.join(self.backing, path.lstrip("/"))

    def _file(self, path: str) -> VolatileFile:
        file = self.files.get(path)
        if file is None:
            file = self.files[path] = VolatileFile(self._real(path))
        return file

    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        try:
            stat = os.lstat(self._real(path))
        except FileNotFoundError:
            raise mfusepy.FuseOSError(errno.ENOENT) from None
        names = ("st_mode", "st_nlink", "st_uid", "st_gid", "st_atime", "st_mtime", "st_ctime")
        attributes: dict[str, Any] = {name: getattr(stat, name) for name in names}
        file = self.files.get(path)
        attributes["st_size"] = file.logical_size() if file is not None else stat.st_size
        return attributes

    def readdir(self, path: str, fh: int) -> list[str]:
        return [".", "..", *os.listdir(self._real(path))]

    def access(self, path: str, amode: int) -> int:
        if not os.access(self._real(path), amode):
            raise mfusepy.FuseOSError(errno.EACCES)
        return 0

    def open(self, path: str, flags: int) -> int:
        if not os.path.exists(self._real(path)):
            raise mfusepy.FuseOSError(errno.ENOENT)
        if flags & os.O_TRUNC:
            self._file(path).truncate(0)
        return 0

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        descriptor = os.open(self._real(path), os.O_WRONLY | os.O_CREAT, mode)
        os.close(descriptor)
        self.files.pop(path, None)
        return 0

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        return self._file(path).read(size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        self._file(path).write(data, offset)
        return len(data)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        self._file(path).truncate(length)
        return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        self._file(path).sync()
        return 0

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        return 0

    def flush(self, path: str, fh: int) -> int:
        return 0

    def release(self, path: str, fh: int) -> int:
        return 0

    def unlink(self, path: str) -> int:
        os.unlink(self._real(path))
        self.files.pop(path, None)
        return 0

    def rename(self, old: str, new: str) -> int:
        os.rename(self._real(old), self._real(new))
        self.files[new] = self._file(old)
        self.files[new].path = self._real(new)
        self.files.pop(old, None)
        return 0

    def mkdir(self, path: str, mode: int) -> int:
        os.mkdir(self._real(path), mode)
        return 0

    def rmdir(self, path: str) -> int:
        os.rmdir(self._real(path))
        return 0

    def chmod(self, path: str, mode: int) -> int:
        os.chmod(self._real(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        os.chown(self._real(path), uid, gid)
        return 0

    def utimens(self, path: str, times: Any = None) -> int:
        os.utime(self._real(path), ns=times)
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        stat = os.statvfs(self.backing)
        names = ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_frsize", "f_namemax")
        return {name: getattr(stat, name) for name in names}


if __name__ == "__main__":
    backing, mountpoint = sys.argv[1:3]
    mfusepy.FUSE(PowerLossFS(backing), mountpoint, foreground=True, nothreads=True)
