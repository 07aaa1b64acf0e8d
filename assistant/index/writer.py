"""The write side: one new index version at a time, under the writer lock, published only when valid."""

from __future__ import annotations

import json
import logging
import random
import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

import httpx
import numpy as np

from assistant.embedding import Encoder
from assistant.index.errors import (
    IndexMissingError,
    IndexUnavailableError,
    IndexWriteError,
    best_effort,
    one_line,
)
from assistant.index.lexical_rows import LexicalRows
from assistant.index.lock import WriterBusyError, WriterLock
from assistant.index.sources import SOURCES_FILE, SourceRegistry
from assistant.index.store import (
    MANIFEST,
    IndexStore,
    Manifest,
    fsync_tree,
    iter_batches,
    new_version_name,
    write_atomic,
)
from assistant.records import Chunk

PAGE = 5000
# Chroma keeps vectors added since the HNSW files were last written in its log and replays them into the graph
# on every open: with its default (1000) a version carried up to ~1000 of them, and each open of it (the writer,
# validation, every reader's copy) took 0.2-0.5 s at 12.7k chunks before its first answer; at 100 (Chroma's
# batch size, the least it allows) 0.02 s. Writing the graph more often costs nothing measurable: Chroma writes
# only the changed elements, and a 12.7k-chunk build took 15.6 s vs 20.2 s.
HNSW_SYNC = 100
log = logging.getLogger(__name__)

# Named points of a write, in order; the fault suite kills or fails the writer at each of them.
FAULT_STEPS = ("open", "copied", "opened", "read", "deleted", "upserted", "lexical", "closed", "validate", "manifest",
               "switch", "switched")
FaultFn = Callable[[str], None]


class ValidationError(IndexWriteError):
    """A freshly built version failed its checks; the current version stays in place."""


class IndexWriter:
    """Context manager: copies the current version (unless fresh), lets the caller change the copy, then
    validates and publishes it; a write that changed nothing publishes nothing (`published` stays None). Any
    exception, or a kill, leaves the published version as it was; exceptions other than the expected ones come
    out as IndexWriteError with one clear line."""

    def __init__(self, store: IndexStore, embedder: Encoder, *, fresh: bool = False,
                 wait_seconds: float = 0.0, fault: FaultFn | None = None, operation: str = "ingest") -> None:
        self.store = store
        self.embedder = embedder
        self.fresh = fresh
        self.operation = operation
        self.version = new_version_name()
        self.parent: str | None = None
        self.embedded = 0
        self.reused = 0
        self.removed = 0
        self.carried = 0
        self.last_refresh: str | None = None
        # Issues that must be in the new version (a rebuild must not lose any); checked before publishing.
        self.required_issues: set[str] = set()
        self.sources = SourceRegistry()
        self._lock: WriterLock = store.lock(wait_seconds=wait_seconds)
        self._client: Any = None
        self.collection: Any = None
        self.vector_store: Any = None
        # Test hook: called with a step name (FAULT_STEPS) so the fault suite can fail or kill at known points.
        self._fault = fault or (lambda step: None)
        self.published: Manifest | None = None
        # Every chunk id this writer wrote (-> the chunk) or deleted (-> None): the BM25 side of the new version is
        # the parent's rows less these ids plus the written chunks, and validation checks these ids.
        self.changed: dict[str, Chunk | None] = {}
        self._parent_sources = ""

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> IndexWriter:
        self._lock.acquire()
        try:
            self._open()
        except BaseException as exc:
            self._discard()
            self._lock.release()
            raise self._as_write_error(exc) from exc
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc is None:
                self._publish()
            else:
                self._discard()
        except BaseException as failure:
            self._discard()
            raise self._as_write_error(failure) from failure
        finally:
            self._lock.release()
        if exc is not None:
            wrapped = self._as_write_error(exc)
            if wrapped is not exc:
                raise wrapped from exc

    def _as_write_error(self, exc: BaseException) -> BaseException:
        # Rust panics inside Chroma arrive as pyo3's PanicException, a BaseException: wrapped like the rest.
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit, IndexWriteError, WriterBusyError,
                            LookupError, IndexMissingError)):
            return exc
        kept = f"index version {self.parent} is still current" if self.parent else "no index was written"
        reason = one_line(exc)
        if self.store.server and isinstance(exc, (httpx.TransportError, IndexUnavailableError)):
            # The server died or froze mid-write (a broken connection, a timeout) or was down when a client was
            # opened: say so, not only "Connection reset by peer", and not the readers' "retries on the next
            # request".
            cause = exc.__cause__ if isinstance(exc, IndexUnavailableError) and exc.__cause__ else exc
            reason = (f"the Chroma server at {self.store.settings.chroma_url} did not answer "
                      f"({one_line(cause, limit=120)}); is `chroma run` up?")
        return IndexWriteError(f"{self.operation} failed and changed nothing ({kept}): {reason}")

    def _open(self) -> None:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        store = self.store
        store.root.mkdir(parents=True, exist_ok=True)
        store.prune(keep=store.settings.keep_versions)
        self.parent = store.current()
        if self.parent and not (store.version_dir(self.parent) / MANIFEST).is_file():
            self.parent = None
        target = store.version_dir(self.version)
        target.mkdir(parents=True, exist_ok=False)
        self._fault("open")
        if self.parent:
            self.last_refresh = store.manifest(self.parent).last_refresh
            self.sources = SourceRegistry.load(store.version_dir(self.parent))
            self._parent_sources = _sources_key(self.sources)
            if not self.fresh and not store.server:
                # Published versions are never opened in place (snapshot.py), so this copy cannot be torn.
                shutil.copytree(store.version_dir(self.parent) / "chroma", target / "chroma")
        self._fault("copied")
        self._client = store.client(self.version)
        name = store.collection_name(self.version)
        if store.server and name in {getattr(c, "name", c) for c in self._client.list_collections()}:
            self._client.delete_collection(name)  # a leftover of a killed writer with the same name
        self.collection = self._client.get_or_create_collection(
            name, configuration={"hnsw": {"space": "cosine", "sync_threshold": HNSW_SYNC}})
        # Only speed depends on it.
        with best_effort("could not lower the HNSW sync threshold", log, level=logging.INFO):
            if (self.collection.configuration.get("hnsw") or {}).get("sync_threshold", HNSW_SYNC) > HNSW_SYNC:
                # A version written before HNSW_SYNC: this copy (never a published version) gets it from now on.
                self.collection.modify(configuration={"hnsw": {"sync_threshold": HNSW_SYNC}})
        if store.server and self.parent and not self.fresh:
            self._copy_from_server(self.parent)
        self.vector_store = ChromaVectorStore(chroma_collection=self.collection)
        self._fault("opened")

    def _copy_from_server(self, parent: str) -> None:
        source = self._client.get_collection(self.store.collection_name(parent))
        offset = 0
        while True:
            got = source.get(limit=PAGE, offset=offset, include=["embeddings", "documents", "metadatas"])
            if not got["ids"]:
                break
            self.collection.add(ids=got["ids"], embeddings=got["embeddings"], documents=got["documents"],
                                metadatas=got["metadatas"])
            offset += len(got["ids"])

    def step(self, name: str) -> None:
        """A named point of the caller's work (e.g. "read" in a rebuild), for the fault hook."""
        self._fault(name)

    # ------------------------------------------------------------ reads on the copy
    def existing(self, where: dict[str, Any]) -> tuple[dict[str, str], dict[str, np.ndarray]]:
        """Chunk id -> content hash, and content hash -> stored embedding, for reuse without re-embedding."""
        got = self.collection.get(where=where, include=["metadatas", "embeddings"])
        ids_to_hash: dict[str, str] = {}
        hash_to_vec: dict[str, np.ndarray] = {}
        embeddings = got.get("embeddings")
        for i, (cid, meta) in enumerate(zip(got["ids"], got["metadatas"] or [], strict=False)):
            h = str((meta or {}).get("content_hash", ""))
            ids_to_hash[cid] = h
            if embeddings is not None and len(embeddings) > i:
                hash_to_vec[h] = np.asarray(embeddings[i], dtype=np.float32)
        return ids_to_hash, hash_to_vec

    def all_chunks(self) -> list[Chunk]:
        out: list[Chunk] = []
        offset = 0
        while True:
            got = self.collection.get(limit=PAGE, offset=offset, include=["documents", "metadatas"])
            if not got["ids"]:
                break
            out.extend(Chunk.from_metadata(i, d or "", m or {}) for i, d, m in
                       zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=False))
            offset += len(got["ids"])
        return out

    # ------------------------------------------------------------ writes on the copy
    def upsert(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        from llama_index.core.schema import TextNode

        if not chunks:
            return
        ids = [c.chunk_id for c in chunks]
        self.collection.delete(ids=ids)  # upsert semantics through LlamaIndex's add()
        self.changed.update((c.chunk_id, c) for c in chunks)
        for batch in iter_batches(list(zip(chunks, vectors, strict=True)), 1000):
            nodes = []
            for chunk, vec in batch:
                meta = chunk.metadata()
                nodes.append(TextNode(id_=chunk.chunk_id, text=chunk.text, metadata=meta,
                                      embedding=[float(x) for x in vec]))
            self.vector_store.add(nodes)
        self._fault("upserted")

    def carry(self, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Copy chunks with their stored embeddings (a rebuild keeping what it cannot read again)."""
        self.upsert(chunks, vectors)
        self.carried += len(chunks)

    def delete(self, ids: list[str]) -> None:
        for batch in iter_batches(ids, 1000):
            self.collection.delete(ids=batch)
            self.changed.update(dict.fromkeys(batch))
        self.removed += len(ids)
        if ids:
            self._fault("deleted")

    def delete_where(self, where: dict[str, Any]) -> int:
        got = self.collection.get(where=where, include=[])
        self.delete(list(got["ids"]))
        return len(got["ids"])

    # ------------------------------------------------------------ publish
    @property
    def unchanged(self) -> bool:
        """True when this write would publish a version identical to its parent (no chunk written or deleted,
        the same sources and refresh time): then nothing is published."""
        return (not self.fresh and self.parent is not None and not self.changed
                and _sources_key(self.sources) == self._parent_sources
                and self.last_refresh == self.store.manifest(self.parent).last_refresh)

    def _lexical_rows(self) -> LexicalRows:
        """The new version's BM25 rows: the parent's stored rows less what changed, plus what was written. Only a
        parent written without stored rows (an older Newsdesk) makes this read every chunk back from Chroma."""
        base: LexicalRows | None = LexicalRows()
        if self.parent and not self.fresh:
            base = LexicalRows.load(self.store.version_dir(self.parent) / "bm25")
        if base is None:
            return LexicalRows.from_chunks(self.all_chunks())
        written = [c for c in self.changed.values() if c is not None]
        return base.without(self.changed.keys()).plus(written)

    def _publish(self) -> None:
        store = self.store
        target = store.version_dir(self.version)
        if self.unchanged:
            log.info("nothing changed: index version %s stays current, no new version", self.parent)
            self._discard()
            self._record_run(self.parent, published=False)
            return
        rows = self._lexical_rows()
        self._fault("lexical")
        rows.write(target / "bm25")
        manifest = Manifest(
            version=self.version,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            parent=self.parent,
            chunks=len(rows),
            stories=len(set(rows.stories)),
            issues=len(set(rows.issues)),
            embed_model=self.embedder.label,
            dimension=self.embedder.dimension,
            embedded_last_run=self.embedded,
            reused_last_run=self.reused,
            removed_last_run=self.removed,
            last_refresh=self.last_refresh,
            operation=self.operation,
            sources=len(self.sources.records),
        )
        self._close_client()
        self._fault("closed")
        self._validate(manifest, rows)
        write_atomic(target / SOURCES_FILE, self.sources.to_json())
        self._fault("manifest")
        manifest.save(target / MANIFEST)
        fsync_tree(target)
        self._fault("switch")
        store.set_current(self.version)
        self.published = manifest
        self._fault("switched")
        self._record_run(self.version, published=True)
        # The write is committed; the next writer prunes again.
        with best_effort("pruning old index versions failed", log):
            store.prune(keep=store.settings.keep_versions)

    def _record_run(self, version: str | None, *, published: bool) -> None:
        """What this run embedded, for `stats` (0 after a run that changed nothing); the manifest says only what
        the run that published the current version embedded. Best effort: the write itself is done."""
        try:
            self.store.record_last_run(version=version, operation=self.operation, embedded=self.embedded,
                                       reused=self.reused, removed=self.removed, published=published)
        except OSError as exc:
            log.warning("recording the last write run failed: %s", exc)

    def _validate(self, manifest: Manifest, rows: LexicalRows) -> None:
        """Checks in proportion to the change, on a fresh client, so the version is read back from disk (or the
        server) the way readers will see it: the whole-index counts, every chunk written present, every chunk
        deleted gone, a sample of the untouched ones present, a dense self-query for a few stored vectors, and
        the BM25 side read back with a query for the written chunks. The parent was checked the same way when it
        was published and the copy starts from it, so together these cover the whole version; only a change
        made behind the writer's back (not through upsert/delete) could hide from them, and the count catches
        all but an exact trade of one chunk for another."""
        self._fault("validate")
        store = self.store
        missing_issues = self.required_issues - set(rows.issues)
        if missing_issues:
            raise ValidationError(f"the new version would lose {len(missing_issues)} issues "
                                  f"({', '.join(sorted(missing_issues)[:3])}...)")
        written = [c for c in self.changed.values() if c is not None]
        written_ids = {c.chunk_id for c in written}
        gone = [cid for cid, chunk in self.changed.items() if chunk is None and cid not in written_ids]
        rng = random.Random()
        untouched = [cid for cid in rng.sample(rows.ids, min(len(rows.ids), 40)) if cid not in written_ids][:20]
        client = store.client(self.version)
        try:
            collection = client.get_collection(store.collection_name(self.version))
            count = collection.count()
            if count != manifest.chunks:
                raise ValidationError(f"new index holds {count} chunks, expected {manifest.chunks}")
            for batch in iter_batches([*written_ids, *untouched], PAGE):
                found = set(collection.get(ids=batch, include=[])["ids"])
                if len(found) != len(batch):
                    raise ValidationError(f"new index lacks {len(batch) - len(found)} chunks that were written")
            for batch in iter_batches(gone, PAGE):
                if collection.get(ids=batch, include=[])["ids"]:
                    raise ValidationError("new index still holds chunks that were deleted")
            probes = rng.sample(sorted(written_ids) or rows.ids, min(5, len(written_ids) or len(rows.ids)))
            if probes:
                got = collection.get(ids=probes, include=["embeddings"])
                hits = collection.query(query_embeddings=[list(v) for v in got["embeddings"]], n_results=1,
                                        include=["distances"])
                for pid, dist in zip(got["ids"], hits["distances"] or [], strict=False):
                    if not dist or dist[0] > 1e-3:
                        raise ValidationError(f"smoke query on the new index does not find chunk {pid}")
            if len(rows) != manifest.chunks:
                raise ValidationError(f"BM25 side holds {len(rows)} chunks, expected {manifest.chunks}")
            problem = rows.verify(store.version_dir(self.version) / "bm25", probes)
            if problem:
                raise ValidationError(problem)
        finally:
            with best_effort("closing the validation client", log, level=logging.DEBUG):
                client.close()

    def _close_client(self) -> None:
        if self._client is not None:
            with best_effort("closing the writer's client", log, level=logging.DEBUG):
                self._client.close()
            self._client = None

    def _discard(self) -> None:
        self._close_client()
        # The next writer's prune drops it otherwise. A server that is down is already the one line the user gets
        # (the write's error), so its failure to drop is not a second one (logged at INFO).
        with best_effort(f"could not remove the unfinished index version {self.version}", log):
            if self.store.current() != self.version:
                self.store.drop_version(self.version, level=logging.INFO)


def _sources_key(sources: SourceRegistry) -> str:
    """The registry as it matters for publishing: a record ingested again carries a new `added` time only."""
    return json.dumps({"records": {k: {**vars(v), "added": None} for k, v in sorted(sources.records.items())},
                       "excluded": sources.excluded}, sort_keys=True)
