"""Read side of one published index version: dense search in Chroma, lexical search in BM25, filters; and the
ReaderCache that a long-running process (the web app) keeps across index versions."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np

from assistant.index.errors import IndexMissingError, IndexUnavailableError, chroma_failures
from assistant.index.lexical import LexicalIndex
from assistant.index.snapshot import ReaderCopy
from assistant.index.store import MANIFEST, IndexStore, Manifest, chroma_where
from assistant.records import Chunk, Filters, ScoredChunk

log = logging.getLogger(__name__)
# An unfiltered query for this many neighbours costs ~9 ms at 100k chunks, about a restricted query over
# 8k ids: past it, passing the ids is cheaper.
OVERFETCH_MAX = 1000


class _GuardedCollection:
    """The Chroma collection as callers see it (reader.collection.get(...) etc.): any failure becomes one
    IndexUnavailableError and marks the reader broken, so the ReaderCache opens a fresh one next time."""

    def __init__(self, reader: IndexReader, collection: Any) -> None:
        self._reader = reader
        self._collection = collection

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr

        def guarded(*args: Any, **kwargs: Any) -> Any:
            return self._reader.guard(lambda: attr(*args, **kwargs))

        return guarded


class IndexReader:
    def __init__(self, store: IndexStore, version: str) -> None:
        self.store = store
        self.version = version
        self.broken = False
        self.manifest: Manifest = Manifest.load(store.version_dir(version) / MANIFEST)
        self._copy: ReaderCopy | None = None
        self._client: Any = None
        try:  # a dead server, a broken or missing file: one clear line
            with chroma_failures(lambda exc: store.unavailable(exc, doing=f"open index version {version} on")):
                if not store.server:
                    self._copy = ReaderCopy(store.version_dir(version) / "chroma", root=store.root,
                                            version=version)
                self._client = store.client(version, path=self._copy.path if self._copy else None)
                raw = self._client.get_collection(store.collection_name(version))
        except IndexUnavailableError:
            self.close()
            raise
        self.collection: Any = _GuardedCollection(self, raw)
        self._raw = raw
        self._lexical: LexicalIndex | None = None
        self._lex_lock = threading.Lock()

    @cached_property
    def vector_store(self) -> Any:
        """LlamaIndex's ChromaVectorStore over this version's collection (made on first use)."""
        from llama_index.vector_stores.chroma import ChromaVectorStore

        return ChromaVectorStore(chroma_collection=self._raw)

    def guard(self, call: Callable[[], Any]) -> Any:
        try:  # a dead server, a broken file: one clear message
            with chroma_failures(self.store.unavailable):
                return call()
        except IndexUnavailableError:
            self.broken = True
            raise

    # ------------------------------------------------------------ lexical side
    @property
    def lexical(self) -> LexicalIndex:
        with self._lex_lock:
            if self._lexical is None:
                self._lexical = LexicalIndex.load(self.store.version_dir(self.version) / "bm25")
            return self._lexical

    # ------------------------------------------------------------ search
    def dense(self, query_vector: np.ndarray, *, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        """The k nearest chunks (cosine), within the filters.

        Chroma gives the nearest ids with their distances; the chunks' text and metadata come from the BM25
        side's rows of the same version, held in memory (from Chroma only for ids those rows lack). Asking Chroma
        for documents and metadata costs several times more (100k chunks, 2 cores: one query with them 11 ms vs
        2 ms for ids and distances; the 40 chunks by id 5-6 ms more). Filters never reach Chroma's `where`,
        which scans its metadata table (150-1,100 ms): the BM25 side's in-memory columns give the allowed rows;
        a broad filter is served by over-fetching unfiltered and keeping the allowed hits (exact whenever k of
        them come back), a narrow one by passing the ids. Measured in benchmarks/bench_query.py."""

        where = chroma_where(filters)
        vector = [query_vector.tolist()]
        lexical = self.lexical
        ids = lexical.where_ids(filters) if where and filters is not None else None
        if ids is None:  # no filter (or an index whose BM25 rows lack ids): Chroma filters, as before
            got = self.collection.query(query_embeddings=vector, n_results=k, where=where, include=["distances"])
            nearest = list(zip(got["ids"][0], got["distances"][0], strict=True))
        else:
            nearest = self._nearest_within(vector, k, ids)
        return self._scored(nearest)

    def dense_among(self, query_vector: np.ndarray, ids: list[str]) -> list[ScoredChunk]:
        """These chunks' cosines to the query, nearest first (candidates another signal picked)."""
        found = self.cosines(query_vector, ids)
        return self._scored(sorted(((i, 1.0 - c) for i, c in found.items()), key=lambda pair: pair[1]))

    def cosines(self, query_vector: np.ndarray, ids: list[str], *, page: int = 1000) -> dict[str, float]:
        """Exact cosines of the query to these chunks, from their stored embeddings (nothing is re-embedded): a
        vector query restricted to ids is an approximate search, which can leave some of them out."""
        out: dict[str, float] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), page):
            got = self.collection.get(ids=unique[start:start + page], include=["embeddings"])
            embeddings = got.get("embeddings")
            if embeddings is None:
                continue
            mat = np.asarray(embeddings, dtype=np.float32)
            if mat.size:
                for cid, sim in zip(got["ids"], mat @ query_vector, strict=True):
                    out[cid] = float(sim)
        return out

    def _scored(self, nearest: list[tuple[str, float]]) -> list[ScoredChunk]:
        if not nearest:
            return []
        lexical = self.lexical
        by_id = lexical.chunks_by_id([i for i, _ in nearest])
        missing = [i for i, _ in nearest if i not in by_id]
        if missing:
            rows = self.collection.get(ids=missing, include=["documents", "metadatas"])
            by_id.update({i: Chunk.from_metadata(i, d or "", m or {}) for i, d, m in
                          zip(rows["ids"], rows["documents"] or [], rows["metadatas"] or [], strict=False)})
        out: list[ScoredChunk] = []
        for cid, distance in nearest:
            if cid in by_id:
                cosine = 1.0 - float(distance)  # cosine space: distance = 1 - cosine
                out.append(ScoredChunk(chunk=by_id[cid], score=cosine, dense=cosine))
        return out

    def _nearest_within(self, vector: list[list[float]], k: int, ids: list[str]) -> list[tuple[str, float]]:
        if not ids:
            return []
        total = max(len(ids), len(self.lexical))
        wide = math.ceil(k * 1.5 * total / len(ids))
        if wide <= OVERFETCH_MAX:
            got = self.collection.query(query_embeddings=vector, n_results=min(total, wide), include=["distances"])
            allowed = set(ids)
            kept = [(i, d) for i, d in zip(got["ids"][0], got["distances"][0], strict=True) if i in allowed][:k]
            if len(kept) >= min(k, len(ids)):
                return kept
        return self._query_ids(vector, min(k, len(ids)), ids)

    def _query_ids(self, vector: list[list[float]], n: int, ids: list[str]) -> list[tuple[str, float]]:
        """The n nearest among these ids, by Chroma (ids and distances only)."""
        got = self.collection.query(query_embeddings=vector, n_results=n, ids=ids, include=["distances"])
        return list(zip(got["ids"][0], got["distances"][0], strict=True))

    def search_lexical(self, query: str, *, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        return self.lexical.search(query, k=k, filters=filters)

    def count(self) -> int:
        return int(self.collection.count())

    def get_chunks(self, *, where: dict[str, Any] | None = None, limit: int | None = None,
                   offset: int | None = None) -> list[Chunk]:
        got = self.collection.get(where=where, limit=limit, offset=offset, include=["documents", "metadatas"])
        return [Chunk.from_metadata(i, d or "", m or {}) for i, d, m in
                zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=False)]

    def vectors(self, *, where: dict[str, Any] | None = None, page: int = 5000
                ) -> list[tuple[Chunk, np.ndarray]]:
        """Every chunk with its stored embedding (paged), e.g. for a rebuild that reuses embeddings."""
        out: list[tuple[Chunk, np.ndarray]] = []
        offset = 0
        while True:
            got = self.collection.get(where=where, limit=page, offset=offset,
                                      include=["documents", "metadatas", "embeddings"])
            if not got["ids"]:
                return out
            embeddings = got["embeddings"]
            for i, cid in enumerate(got["ids"]):
                chunk = Chunk.from_metadata(cid, (got["documents"] or [])[i] or "", (got["metadatas"] or [])[i] or {})
                out.append((chunk, np.asarray(embeddings[i], dtype=np.float32)))
            offset += len(got["ids"])

    def close(self) -> None:
        if self._client is not None:
            # Closing twice or an older client without close() is no reason to fail.
            with contextlib.suppress(IndexUnavailableError), chroma_failures(self.store.unavailable):
                self._client.close()
            self._client = None
        if self._copy is not None:
            self._copy.release()
            self._copy = None


def open_reader(store: IndexStore, version: str | None = None) -> IndexReader:
    """A reader of `version` (the current one by default); IndexMissingError when there is none."""
    return IndexReader(store, store.readable_version(version))


# How often, at most, a reader cache looks at the index pointer for a newer version (seconds).
CHECK_EVERY = 0.5


class ReaderCache:
    """Holds the reader of the current version and swaps it when the pointer changes, so a running app picks
    up a new version without a restart and never sees a half-built one. A reader that failed (a Chroma server
    that went away, a broken file) is replaced on the next call, so the app recovers once the cause is gone.
    If the new version cannot be opened, the old reader keeps serving."""

    def __init__(self, store: IndexStore, *, check_every: float = CHECK_EVERY, retire_after: float = 30.0,
                 on_open: Callable[[IndexReader], object] | None = None) -> None:
        self.store = store
        self.check_every = check_every
        # Called with each reader this cache opens (the web app starts the briefing's archive pass there); it
        # must return quickly: it runs under the cache's lock.
        self.on_open = on_open
        # Readers replaced by a newer version stay open this long for queries still running on them.
        self.retire_after = retire_after
        self._lock = threading.Lock()
        self._reader: IndexReader | None = None
        self._stamp: tuple[int, int] | None = None
        self._retired: list[tuple[float, IndexReader]] = []
        self._checked = 0.0

    def get(self) -> IndexReader:
        now = time.monotonic()
        with self._lock:
            if self._reader is not None and self._reader.broken:
                self._retire(self._reader, now)
                self._reader = None
            if self._reader is not None and now - self._checked < self.check_every:
                return self._reader
            self._checked = now
            stamp = self.store.pointer_stamp()
            if self._reader is None or stamp != self._stamp:
                try:
                    reader = open_reader(self.store)
                except (IndexUnavailableError, IndexMissingError, OSError) as exc:
                    if self._reader is None:
                        if isinstance(exc, OSError):
                            raise IndexUnavailableError(f"the index cannot be read: {exc}") from exc
                        raise
                    log.warning("keeping index version %s: the new one cannot be opened: %s",
                                self._reader.version, exc)
                    return self._reader
                if self._reader is not None:
                    self._retire(self._reader, now)
                self._reader, self._stamp = reader, stamp
                if self.on_open is not None:
                    try:
                        self.on_open(reader)
                    except Exception:  # noqa: BLE001 - a warm-up hook never breaks reading
                        log.warning("the reader hook failed for index version %s", reader.version, exc_info=True)
            self._close_retired(now)
            return self._reader

    def _retire(self, reader: IndexReader, now: float) -> None:
        self._retired.append((now, reader))

    def _close_retired(self, now: float) -> None:
        keep: list[tuple[float, IndexReader]] = []
        for when, reader in self._retired:
            # Broken ones too may still be in use by another thread; at most 4 stay open whatever their age.
            if now - when > self.retire_after:
                reader.close()
            else:
                keep.append((when, reader))
        for _, reader in keep[:-4]:
            reader.close()
        self._retired = keep[-4:]

    def invalidate(self) -> None:
        with self._lock:
            self._checked = 0.0
            self._stamp = None

    def close(self) -> None:
        with self._lock:
            for _, reader in self._retired:
                reader.close()
            self._retired = []
            if self._reader is not None:
                self._reader.close()
                self._reader = None
