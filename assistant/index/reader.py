"""Read side of one published index version: dense search in Chroma, lexical search in BM25, filters."""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.index.lexical import LexicalIndex
from assistant.models import Chunk, Filters, ScoredChunk

if TYPE_CHECKING:
    from assistant.index.store import IndexStore, Manifest


class IndexReader:
    def __init__(self, store: IndexStore, version: str) -> None:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from assistant.index.store import IndexUnavailableError, Manifest

        self.store = store
        self.version = version
        self.manifest: Manifest = Manifest.load(store.version_dir(version) / "manifest.json")
        self._client = store.client(version)
        try:
            self.collection = self._client.get_collection(store.collection_name(version))
        except Exception as exc:  # noqa: BLE001
            raise IndexUnavailableError(f"index version {version} cannot be opened: {exc}") from exc
        self.vector_store = ChromaVectorStore(chroma_collection=self.collection)
        self._lexical: LexicalIndex | None = None
        self._lex_lock = threading.Lock()

    # ------------------------------------------------------------ lexical side
    @property
    def lexical(self) -> LexicalIndex:
        with self._lex_lock:
            if self._lexical is None:
                self._lexical = LexicalIndex.load(self.store.version_dir(self.version) / "bm25")
            return self._lexical

    # ------------------------------------------------------------ search
    def dense(self, query_vector: np.ndarray, *, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        from assistant.index.store import IndexUnavailableError, chroma_where

        where = chroma_where(filters)
        try:
            result = self.vector_store.query(
                VectorStoreQuery(query_embedding=query_vector.tolist(), similarity_top_k=k),
                where=where,
            ) if where else self.vector_store.query(
                VectorStoreQuery(query_embedding=query_vector.tolist(), similarity_top_k=k))
        except Exception as exc:  # noqa: BLE001 - a dead server, a broken file: one clear message
            raise IndexUnavailableError(f"the vector index could not be queried: {exc}") from exc
        out: list[ScoredChunk] = []
        for node, sim in zip(result.nodes or [], result.similarities or [], strict=False):
            # ChromaVectorStore reports exp(-distance); with cosine space, distance = 1 - cosine.
            cosine = 1.0 + math.log(max(sim, 1e-12))
            chunk = Chunk.from_metadata(node.node_id, node.get_content(), node.metadata)
            out.append(ScoredChunk(chunk=chunk, score=cosine, dense=cosine))
        return out

    def search_lexical(self, query: str, *, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        return self.lexical.search(query, k=k, filters=filters)

    def count(self) -> int:
        return int(self.collection.count())

    def get_chunks(self, *, where: dict[str, Any] | None = None, limit: int | None = None) -> list[Chunk]:
        got = self.collection.get(where=where, limit=limit, include=["documents", "metadatas"])
        return [Chunk.from_metadata(i, d or "", m or {}) for i, d, m in
                zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=False)]

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # noqa: BLE001 - closing twice or an older client without close()
            pass
