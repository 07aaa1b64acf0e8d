"""The write side: one new index version at a time, under the writer lock, published only when valid."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from types import TracebackType
from typing import Any

import numpy as np

from assistant.embedding import Embedder
from assistant.index.lexical import LexicalIndex
from assistant.index.lock import WriterLock
from assistant.index.store import MANIFEST, IndexStore, Manifest, iter_batches, new_version_name
from assistant.models import Chunk

PAGE = 5000


class ValidationError(RuntimeError):
    """A freshly built version failed its checks; the current version stays in place."""


class IndexWriter:
    """Context manager: copies the current version (unless fresh), lets the caller change the copy, then
    validates and publishes it. Any exception, or a kill, leaves the published version as it was."""

    def __init__(self, store: IndexStore, embedder: Embedder, *, fresh: bool = False,
                 wait_seconds: float = 0.0, fault: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.fresh = fresh
        self.version = new_version_name()
        self.parent: str | None = None
        self.embedded = 0
        self.reused = 0
        self.removed = 0
        self.last_refresh: str | None = None
        self._lock: WriterLock = store.lock(wait_seconds=wait_seconds)
        self._client: Any = None
        self.collection: Any = None
        self.vector_store: Any = None
        # Test hook: called with a step name so the fault suite can fail or kill at known points.
        self._fault = fault or (lambda step: None)
        self.published: Manifest | None = None

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> IndexWriter:
        self._lock.acquire()
        try:
            self._open()
        except BaseException:
            self._discard()
            self._lock.release()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self._publish()
            else:
                self._discard()
        except BaseException:
            self._discard()
            raise
        finally:
            self._lock.release()

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
        if self.parent and not self.fresh:
            parent_manifest = store.manifest(self.parent)
            self.last_refresh = parent_manifest.last_refresh
            if not store.server:
                shutil.copytree(store.version_dir(self.parent) / "chroma", target / "chroma")
        self._client = store.client(self.version)
        self.collection = self._client.get_or_create_collection(
            store.collection_name(self.version), configuration={"hnsw": {"space": "cosine"}})
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
        for batch in iter_batches(list(zip(chunks, vectors, strict=True)), 1000):
            nodes = []
            for chunk, vec in batch:
                meta = chunk.metadata()
                nodes.append(TextNode(id_=chunk.chunk_id, text=chunk.text, metadata=meta,
                                      embedding=[float(x) for x in vec]))
            self.vector_store.add(nodes)
        self._fault("upserted")

    def delete(self, ids: list[str]) -> None:
        for batch in iter_batches(ids, 1000):
            self.collection.delete(ids=batch)
        self.removed += len(ids)

    def delete_where(self, where: dict[str, Any]) -> int:
        got = self.collection.get(where=where, include=[])
        self.delete(list(got["ids"]))
        return len(got["ids"])

    # ------------------------------------------------------------ publish
    def _publish(self) -> None:
        store = self.store
        target = store.version_dir(self.version)
        chunks = self.all_chunks()
        self._fault("lexical")
        LexicalIndex.build(chunks, target / "bm25")
        manifest = Manifest(
            version=self.version,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            parent=self.parent,
            chunks=len(chunks),
            stories=len({c.story_id for c in chunks}),
            issues=len({c.issue_id for c in chunks}),
            embed_model=self.embedder.label,
            dimension=self.embedder.dimension,
            embedded_last_run=self.embedded,
            reused_last_run=self.reused,
            removed_last_run=self.removed,
            last_refresh=self.last_refresh,
        )
        self._close_client()
        self._fault("validate")
        self._validate(manifest, chunks)
        manifest.save(target / MANIFEST)
        self._fault("switch")
        store.set_current(self.version)
        self.published = manifest
        store.prune(keep=store.settings.keep_versions)

    def _validate(self, manifest: Manifest, chunks: list[Chunk]) -> None:
        store = self.store
        client = store.client(self.version)
        try:
            collection = client.get_collection(store.collection_name(self.version))
            count = collection.count()
            if count != manifest.chunks:
                raise ValidationError(f"new index holds {count} chunks, expected {manifest.chunks}")
            if chunks:
                probe = collection.get(ids=[chunks[0].chunk_id], include=["embeddings"])
                hit = collection.query(query_embeddings=[probe["embeddings"][0]], n_results=1, include=[])
                if not hit["ids"] or not hit["ids"][0]:
                    raise ValidationError("smoke query on the new index returned nothing")
            lexical = LexicalIndex.load(store.version_dir(self.version) / "bm25")
            if len(lexical) != manifest.chunks:
                raise ValidationError(f"BM25 side holds {len(lexical)} chunks, expected {manifest.chunks}")
            if chunks and not lexical.search(chunks[0].headline or chunks[0].text[:80], k=1):
                raise ValidationError("smoke query on the BM25 side returned nothing")
        finally:
            try:
                client.close()
            except Exception:  # noqa: BLE001
                pass

    def _close_client(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001
                pass
            self._client = None

    def _discard(self) -> None:
        self._close_client()
        if self.store.current() != self.version:
            self.store.drop_version(self.version)
