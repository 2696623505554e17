"""The key epoch: eight bytes in a small shared file that change whenever a key changes.

Every process on the box that serves or changes keys maps the same file. A
process that revokes a key or disables an account writes a new random value
there right after its transaction commits; a process that remembers keys
(ypv/key_cache.py) notes the value it read before looking a key up, and trusts
what it remembers only while the file still holds that value. Reading it is a
memory access (no system call, no database), which is the point: it is on every
request.

Random values rather than a counter: two processes changing keys at once cannot
both write the same "next" value, so no change can go unseen.
"""

import logging
import mmap
import os

log = logging.getLogger(__name__)

SIZE = 8


class EpochUnavailable(RuntimeError):
    """The file cannot be written: a key change here would go unseen by running servers."""


class KeyEpoch:
    def __init__(self, path: str | None):
        """``path`` None: a private epoch (an in-memory database lives in one process only)."""
        self.path = path
        self.writable = path is None
        self._map = bytearray(os.urandom(SIZE)) if path is None else self._open(path)

    @property
    def readable(self) -> bool:
        return self._map is not None

    def read(self) -> bytes:
        return bytes(self._map[:SIZE])

    def change(self) -> None:
        if not self.writable:
            raise EpochUnavailable(
                f"cannot write the key epoch file {self.path}: run ypv as the service's user, "
                "so running servers see this change at once")
        self._map[:SIZE] = os.urandom(SIZE)

    def _open(self, path: str):
        try:
            fd = self._open_file(path)
        except OSError as exc:
            log.warning("key epoch file %s: %s; keys are looked up on every request", path, exc)
            return None
        try:
            return self._map_file(fd)
        finally:
            os.close(fd)

    def _open_file(self, path: str) -> int:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o660)
        except PermissionError:  # another user's file: this process may remember keys, not change them
            return os.open(path, os.O_RDONLY)
        self.writable = True
        return fd

    def _map_file(self, fd: int):
        if self.writable and os.fstat(fd).st_size < SIZE:
            os.ftruncate(fd, SIZE)  # new file: eight zero bytes (never shrunk: a mapped file cut short kills readers)
        access = mmap.ACCESS_WRITE if self.writable else mmap.ACCESS_READ  # ACCESS_WRITE: shared, written through
        try:
            return mmap.mmap(fd, SIZE, access=access)
        except (OSError, ValueError) as exc:
            log.warning("key epoch file %s cannot be mapped: %s; keys are looked up on every request", self.path, exc)
            self.writable = False
            return None
