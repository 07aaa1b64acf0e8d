"""Index versions: Chroma (embedded or server) plus BM25, published atomically through a pointer file.

Layout of <index_dir>:
  CURRENT            the pointer: line 1 is the current version, the next lines the earlier published versions
                     (newest first, the rollback chain), then a comment line. Replaced with os.replace only, so
                     a reader sees the old pointer or the new one, never a mix.
  versions/<v>/      chroma/ (embedded mode), bm25/, sources.json (what was ingested), manifest.json
  readers/           private copies of chroma/ that readers open (see snapshot.py)
  .write.lock        the single-writer flock
  LAST_RUN.json      what the last completed write run did (embedded/reused/removed, the version current after
                     it), written even when the run published nothing; `stats` reads it (IndexStore.last_run)

Published versions are never written again: a writer copies the current version into a new directory (or a
new collection on a Chroma server), changes the copy, validates it, fsyncs it and only then replaces the
pointer. A writer killed at any point leaves the published versions as they were; its leftovers are dropped
by the next writer.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.config import Settings as ChromaSettings

from assistant.config import Settings
from assistant.fileio import fsync_dir, write_atomic
from assistant.index.errors import (
    IndexMissingError,
    IndexUnavailableError,
    IndexWriteError,
    best_effort,
    chroma_failures,
    one_line,
)
from assistant.index.lock import WriterLock
from assistant.records import Filters

__all__ = ["IndexMissingError", "IndexUnavailableError", "IndexWriteError", "IndexStore", "Manifest",
           "chroma_where", "new_version_name", "iter_batches"]

POINTER = "CURRENT"
VERSIONS = "versions"
LOCK = ".write.lock"
MANIFEST = "manifest.json"
LAST_RUN = "LAST_RUN.json"
_POINTER_NOTE = "# lines after the first: earlier published versions, newest first (`newsdesk rollback`)"
_VERSION_RE = re.compile(r"^v\d{8}T\d{6,12}$")


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
    if filters.until and not filters.since:
        # A date range leaves undated stories (date_int 0) out, as the BM25 side's mask does; `since` alone
        # already excludes them.
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
    operation: str | None = None  # ingest, remove, rebuild, ...
    sources: int | None = None  # records in sources.json (what `newsdesk rebuild` re-reads)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        data = json.loads(path.read_text())
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]

    def save(self, path: Path) -> None:
        write_atomic(path, json.dumps(self.__dict__, indent=2))


def fsync_tree(root: Path) -> None:
    """Flush every file and folder of a new version before the pointer names it, so a power cut after the
    switch cannot leave a pointer to data still in the page cache."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(dirpath))


log = logging.getLogger(__name__)


class IndexStore:
    """Where versions live and which one is current. Cheap to create; opens nothing until asked."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.index_dir
        self.server = urlparse(settings.chroma_url) if settings.chroma_url else None

    # ------------------------------------------------------------ the pointer
    def _pointer_lines(self) -> tuple[list[str], bool]:
        try:
            text = (self.root / POINTER).read_text()
        except (FileNotFoundError, NotADirectoryError):
            return [], False
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        names = [ln for ln in lines if not ln.startswith("#") and _VERSION_RE.match(ln)]
        return names, any(ln.startswith("#") for ln in lines)

    def current(self) -> str | None:
        names, _ = self._pointer_lines()
        return names[0] if names else None

    def chain(self) -> list[str]:
        """The current version, then the earlier published ones that still exist, newest first."""
        names, new_format = self._pointer_lines()
        if not names:
            return []
        current, earlier = names[0], names[1:]
        if not new_format:
            # A pointer written before the rollback chain existed: earlier versions are the older folders.
            earlier = sorted((v for v in self._folders() if v < current), reverse=True)
        return [current] + [v for v in earlier if v != current and self._published(v)]

    def history(self) -> list[str]:
        return self.chain()[1:]

    def pointer_stamp(self) -> tuple[int, int] | None:
        try:
            st = (self.root / POINTER).stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    def version_dir(self, version: str) -> Path:
        return self.root / VERSIONS / version

    def _folders(self) -> list[str]:
        base = self.root / VERSIONS
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def _published(self, version: str) -> bool:
        return (self.version_dir(version) / MANIFEST).is_file()

    def published_versions(self) -> list[str]:
        """Versions that were published and are kept (oldest first): the current one and the rollback chain.
        A folder with a manifest that was never named by the pointer (a writer killed just before the switch)
        is not published."""
        return sorted(self.chain())

    def manifest(self, version: str | None = None) -> Manifest:
        version = version or self.current()
        if version is None:
            raise IndexMissingError(self.missing_message())
        try:
            return Manifest.load(self.version_dir(version) / MANIFEST)
        except FileNotFoundError:
            raise IndexMissingError(f"index version {version} named in {self.root / POINTER} is missing; "
                                    "run `newsdesk rollback` or `newsdesk rebuild`") from None

    def missing_message(self) -> str:
        return f"no index at {self.root} yet; build one with `newsdesk ingest PATH` or `newsdesk rebuild`"

    def set_current(self, version: str, *, keep: int | None = None) -> list[str]:
        """Publish `version`: it becomes line 1, the previous chain follows, cut to `keep` versions. Returns the
        new chain. This one os.replace is the commit point of every write."""
        keep = keep or self.settings.keep_versions
        chain = [version] + [v for v in self.chain() if v != version]
        chain = chain[:keep]
        self._write_pointer(chain)
        return chain

    def _write_pointer(self, chain: list[str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.root / POINTER, "\n".join([*chain, _POINTER_NOTE]) + "\n")

    def record_last_run(self, *, version: str | None, operation: str, embedded: int, reused: int, removed: int,
                        published: bool) -> None:
        """Note what a finished write run did, beside the pointer (under the writer lock, atomically)."""
        self.root.mkdir(parents=True, exist_ok=True)
        write_atomic(self.root / LAST_RUN, json.dumps({
            "version": version, "operation": operation, "published": published, "embedded": embedded,
            "reused": reused, "removed": removed,
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds")}, indent=1) + "\n")

    def last_run(self, version: str | None = None) -> dict[str, Any] | None:
        """The last write run's note, when it left `version` (default: the current one) current; None when there
        is none, it is unreadable, or the pointer has moved since (a rollback, an older Newsdesk's write)."""
        try:
            data = json.loads((self.root / LAST_RUN).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("version") != (version or self.current()):
            return None
        return data

    def lock(self, *, wait_seconds: float = 0.0) -> WriterLock:
        return WriterLock(self.root / LOCK, wait_seconds=wait_seconds)

    # ------------------------------------------------------------ chroma
    def collection_name(self, version: str) -> str:
        # Server mode keeps every version as its own collection; embedded mode has one per directory.
        return f"{self.settings.collection}-{version}" if self.server else self.settings.collection

    def unavailable(self, exc: BaseException, *, doing: str = "query") -> IndexUnavailableError:
        """One clear line for a failed Chroma call."""
        if self.server:
            return IndexUnavailableError(
                f"cannot {doing} the Chroma server at {self.settings.chroma_url} ({one_line(exc, limit=120)}); "
                "is `chroma run` up? Newsdesk retries on the next request")
        return IndexUnavailableError(f"the vector index could not be opened or queried ({one_line(exc)}); "
                                     "`newsdesk rebuild` or `newsdesk rollback` restores a working version")

    def client(self, version: str, *, path: Path | None = None) -> Any:
        """A Chroma client: the server's, or an embedded one on `path` (default: the version's own chroma/,
        which only the writer of that version may open)."""
        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self.server:
            with chroma_failures(lambda exc: self.unavailable(exc, doing="reach")):  # connection problems
                # chromadb's HttpClient waits for a reply without limit (httpx timeout=None, chromadb 1.5.9), so a
                # frozen or half-open server hung writers and queries for ever. A heartbeat with a timeout covers
                # the requests the constructor makes; the session's timeout covers every later one.
                timeout = self.settings.chroma_timeout
                try:
                    with urllib.request.urlopen(f"{str(self.settings.chroma_url).rstrip('/')}/api/v2/heartbeat",
                                                timeout=timeout):
                        pass
                except urllib.error.URLError as exc:  # "[Errno 111] Connection refused", not "<urlopen error ...>"
                    raise ConnectionError(str(exc.reason)) from exc
                client = chromadb.HttpClient(host=self.server.hostname or "127.0.0.1",
                                             port=self.server.port or 8000,
                                             ssl=self.server.scheme == "https", settings=chroma_settings)
                cast(Any, client)._server._session.timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
                return client
        return chromadb.PersistentClient(path=str(path or self.version_dir(version) / "chroma"),
                                         settings=chroma_settings)

    def readable_version(self, version: str | None = None) -> str:
        """The version a reader may open (the current one by default); a clear error when there is none."""
        version = version or self.current()
        if version is None:
            raise IndexMissingError(self.missing_message())
        if not self._published(version):
            self.manifest(version)  # raises the clear "missing" message
        return version

    # ------------------------------------------------------------ cleanup
    def drop_version(self, version: str, *, level: int = logging.WARNING) -> bool:
        """Delete a version (its collection first, then its folder, so a kill in between leaves a folder that
        the next prune drops again). Returns False when the server could not be reached; the folder is kept
        so a later prune retries. A failure is logged at `level`."""
        if self.server:
            # Server down: keep the folder as a reminder.
            with best_effort(f"could not drop version {version} on the Chroma server", log, level=level) as failed:
                client = self.client(version)
                try:
                    names = {getattr(c, "name", c) for c in client.list_collections()}
                    if self.collection_name(version) in names:
                        client.delete_collection(self.collection_name(version))
                finally:
                    client.close()
            if failed:
                return False
        shutil.rmtree(self.version_dir(version), ignore_errors=True)
        return True

    def prune(self, *, keep: int) -> list[str]:
        """Drop leftovers of killed writers and published versions beyond `keep`. Call only while holding the
        writer lock (another writer's half-built folder would look like a leftover)."""
        chain = self.chain()
        if len(chain) > keep:
            self._write_pointer(chain[:keep])
            chain = chain[:keep]
        dropped: list[str] = []
        for name in self._folders():
            if name not in chain and self.drop_version(name):
                dropped.append(name)
        from assistant.index.snapshot import _base, sweep

        sweep(_base(self.root))
        return dropped

    def rollback(self, *, wait_seconds: float = 0.0) -> str:
        with self.lock(wait_seconds=wait_seconds):
            chain = self.chain()
            if len(chain) < 2:
                raise IndexMissingError("there is no earlier index version to roll back to")
            try:
                self._write_pointer(chain[1:])
            except OSError as exc:
                raise IndexWriteError(f"cannot switch back ({one_line(exc)}); the current version "
                                      f"{chain[0]} is unchanged") from exc
            # The abandoned version is not kept: a later write would otherwise find it newer than current.
            self.drop_version(chain[0])
            return chain[1]


def iter_batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]

