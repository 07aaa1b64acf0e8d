"""The single-writer lock: an flock on a file in the index directory, released by the kernel if we die."""

from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from assistant.errors import NewsdeskError


class WriterBusyError(NewsdeskError, RuntimeError):
    """Another process is writing this index."""


class WriterLock:
    def __init__(self, path: Path, *, wait_seconds: float = 0.0) -> None:
        if wait_seconds < 0:
            raise ValueError("wait_seconds must be >= 0")
        self.path = path
        self.wait_seconds = wait_seconds
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    raise WriterBusyError(
                        f"another newsdesk process (pid {holder}) is writing the index at {self.path.parent}; "
                        "wait for it to finish or pass --wait SECONDS"
                    ) from None
                time.sleep(0.2)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError:
            pass  # the pid is only for the "busy" message; a full disk must not stop the writer here
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
