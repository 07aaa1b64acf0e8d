"""Index versions: Chroma (embedded or server) plus BM25, published atomically through a pointer file.

Readers only ever open published versions, which are never written again; a writer copies the current
version into a new directory (or collection), changes the copy, validates it and then swaps the pointer with
os.replace. A writer killed at any point leaves the published version untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings

from assistant.config import Settings
from assistant.index.lock import WriterLock
from assistant.models import Filters

POINTER = "CURRENT"
VERSIONS = "versions"
LOCK = ".write.lock"
MANIFEST = "manifest.json"


class IndexMissingError(RuntimeError):
    """No published index yet."""


class IndexUnavailableError(RuntimeError):
    """The index (or the Chroma server) cannot be reached right now."""


def new_version_name() -> str:
    return "v" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")


def chroma_where(filters: Filters | None) -> dict[str, Any] | None:
    if filters is None or filters.empty:
        return None
    conds: list[dict[str, Any]] = []
    if filters.since:
        conds.append({"date_int": {"$gte": int(filters.since.strftime("%Y%m%d"))}})
    if filters.until:
        conds.append({"date_int": {"$lte": int(filters.until.strftime("%Y%m%d"))}})
    if filters.since and not filters.until:
        conds.append({"date_int": {"$gt": 0}})
    for key, values in (("source_name", filters.sources), ("section", filters.sections),
                        ("issue_id", filters.issues), ("source_kind", filters.kinds)):
        if len(values) == 1:
            conds.append({key: values[0]})
        elif values:
            conds.append({key: {"$in": list(values)}})
    if not conds:
        return None
    return conds[0] if len(conds) == 1 else {"$and": conds}


@dataclass
class Manifest:
    version: str
    created: str
    parent: str | None
    chunks: int
    stories: int
    issues: int
    embed_model: str
    dimension: int
    embedded_last_run: int
    reused_last_run: int
    removed_last_run: int
    last_refresh: str | None = None

    @classmethod
    def load(cls, path: Path) -> Manifest:
        data = json.loads(path.read_text())
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.__dict__, indent=2))
        os.replace(tmp, path)


class IndexStore:
    """Where versions live and which one is current. Cheap to create; opens nothing until asked."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.index_dir
        self.server = urlparse(settings.chroma_url) if settings.chroma_url else None

    # ------------------------------------------------------------ versions
    def current(self) -> str | None:
        try:
            name = (self.root / POINTER).read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def pointer_stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.root / POINTER).stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    def version_dir(self, version: str) -> Path:
        return self.root / VERSIONS / version

    def published_versions(self) -> list[str]:
        base = self.root / VERSIONS
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / MANIFEST).is_file())

    def manifest(self, version: str | None = None) -> Manifest:
        version = version or self.current()
        if version is None:
            raise IndexMissingError(self.missing_message())
        return Manifest.load(self.version_dir(version) / MANIFEST)

    def missing_message(self) -> str:
        return f"no index at {self.root} yet; build one with `newsdesk ingest PATH` or `newsdesk rebuild`"

    def set_current(self, version: str) -> None:
        tmp = self.root / f".{POINTER}.{os.getpid()}.tmp"
        tmp.write_text(version + "\n")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.root / POINTER)
        dir_fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def lock(self, *, wait_seconds: float = 0.0) -> WriterLock:
        return WriterLock(self.root / LOCK, wait_seconds=wait_seconds)

    # ------------------------------------------------------------ chroma
    def collection_name(self, version: str) -> str:
        # Server mode keeps every version as its own collection; embedded mode has one per directory.
        return f"{self.settings.collection}-{version}" if self.server else self.settings.collection

    def client(self, version: str) -> Any:
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self.server:
            try:
                return chromadb.HttpClient(host=self.server.hostname or "127.0.0.1",
                                           port=self.server.port or 8000,
                                           ssl=self.server.scheme == "https", settings=chroma_settings)
            except Exception as exc:  # noqa: BLE001 - connection problems of every kind
                raise IndexUnavailableError(f"cannot reach the Chroma server at {self.settings.chroma_url}: "
                                            f"{exc}") from exc
        return chromadb.PersistentClient(path=str(self.version_dir(version) / "chroma"), settings=chroma_settings)

    def open_reader(self, version: str | None = None) -> IndexReader:
        from assistant.index.reader import IndexReader

        version = version or self.current()
        if version is None or not (self.version_dir(version) / MANIFEST).is_file():
            raise IndexMissingError(self.missing_message())
        return IndexReader(self, version)

    # ------------------------------------------------------------ cleanup
    def drop_version(self, version: str) -> None:
        if self.server:
            try:
                self.client(version).delete_collection(self.collection_name(version))
            except Exception:  # noqa: BLE001 - already gone is fine
                pass
        shutil.rmtree(self.version_dir(version), ignore_errors=True)

    def prune(self, *, keep: int) -> list[str]:
        """Drop unpublished leftovers (a killed writer's) and published versions beyond `keep`.
        Call only while holding the writer lock."""
        base = self.root / VERSIONS
        if not base.is_dir():
            return []
        current = self.current()
        published = self.published_versions()
        dropped: list[str] = []
        for path in base.iterdir():
            if path.name != current and path.name not in published:
                self.drop_version(path.name)
                dropped.append(path.name)
        older = [v for v in published if v != current]
        for version in older[: max(0, len(older) - (keep - 1))]:
            self.drop_version(version)
            dropped.append(version)
        return dropped

    def rollback(self, *, wait_seconds: float = 0.0) -> str:
        with self.lock(wait_seconds=wait_seconds):
            current = self.current()
            published = self.published_versions()
            earlier = [v for v in published if current is None or v < current]
            if not earlier:
                raise IndexMissingError("there is no earlier index version to roll back to")
            self.set_current(earlier[-1])
            # The abandoned version would be the newest again; move it out of the way.
            if current:
                self.drop_version(current)
            return earlier[-1]


class ReaderCache:
    """Holds the reader of the current version and swaps it when the pointer changes, so a running app
    picks up a rebuild without a restart and never sees a half-built index."""

    def __init__(self, store: IndexStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._reader: IndexReader | None = None
        self._stamp: tuple[int, int] | None = None
        self._retired: list[IndexReader] = []
        self._checked = 0.0

    def get(self) -> IndexReader:
        now = time.monotonic()
        with self._lock:
            if self._reader is not None and now - self._checked < 0.5:
                return self._reader
            self._checked = now
            stamp = self.store.pointer_stamp()
            if self._reader is None or stamp != self._stamp:
                reader = self.store.open_reader()
                if self._reader is not None:
                    self._retired.append(self._reader)
                    # Keep one retired reader open for queries still running on it.
                    while len(self._retired) > 1:
                        self._retired.pop(0).close()
                self._reader, self._stamp = reader, stamp
            return self._reader

    def invalidate(self) -> None:
        with self._lock:
            self._checked = 0.0
            self._stamp = None


def iter_batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# Imported at the end for type checkers; the reader module imports this one lazily.
from assistant.index.reader import IndexReader  # noqa: E402
