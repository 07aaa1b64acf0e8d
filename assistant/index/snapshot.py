"""Private copies of a published Chroma directory, one per open reader (embedded mode only).

Embedded Chroma writes into its directory on every open, even for reads (measured with chromadb 1.5.9: an
`acquire_write` row in chroma.sqlite3 and a rewritten HNSW length.bin). If readers opened published versions
in place, a writer copying the current version could copy a file in the middle of such a write, and two
processes would write the same HNSW files. So published versions are never opened by Chroma: each reader
opens its own copy under <index_dir>/readers/, held with a shared flock and deleted on close; copies of
processes that died are swept by the next reader or writer.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

READERS = "readers"
HELD = ".held"
# A copy younger than this is never swept even if its lock is free: its creator may be between mkdtemp and
# flock (a window of microseconds).
_SWEEP_MIN_AGE_S = 30.0

_live: set[ReaderCopy] = set()
_live_lock = threading.Lock()


class ReaderCopy:
    """A private copy of `source` (a version's chroma/ folder) that only this reader opens."""

    def __init__(self, source: Path, *, root: Path, version: str) -> None:
        base = _base(root)
        sweep(base)
        self.dir = Path(tempfile.mkdtemp(prefix=f"{version}.{os.getpid()}.", dir=base))
        self._fd: int | None = os.open(self.dir / HELD, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_SH)
        try:
            shutil.copytree(source, self.dir / "chroma")
        except BaseException:
            self.release()
            raise
        with _live_lock:
            _live.add(self)

    @property
    def path(self) -> Path:
        return self.dir / "chroma"

    def release(self) -> None:
        with _live_lock:
            _live.discard(self)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        shutil.rmtree(self.dir, ignore_errors=True)


def _base(root: Path) -> Path:
    base = root / READERS
    try:
        base.mkdir(parents=True, exist_ok=True)
        if os.access(base, os.W_OK):
            return base
    except OSError:
        pass
    # A read-only index directory (e.g. shipped with the app): copies go to the temp folder instead.
    fallback = Path(tempfile.gettempdir()) / "newsdesk-readers"
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def sweep(base: Path) -> list[Path]:
    """Delete copies whose reader is gone (its flock is free). Returns what was deleted."""
    removed: list[Path] = []
    try:
        entries = list(base.iterdir())
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        try:
            if not entry.is_dir() or now - entry.stat().st_mtime < _SWEEP_MIN_AGE_S:
                continue
            held = entry / HELD
            if not held.exists():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
                continue
            fd = os.open(held, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            continue  # a live reader holds it
        else:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        finally:
            os.close(fd)
    return removed


@atexit.register
def _release_all() -> None:
    with _live_lock:
        live = list(_live)
    for copy in live:
        copy.release()
