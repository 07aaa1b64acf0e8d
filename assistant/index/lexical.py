"""The BM25 side of the index (llama-index-retrievers-bm25 over bm25s), persisted beside each Chroma version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer

from assistant.models import Chunk, Filters, ScoredChunk

_FILTER_KEYS = ("date_int", "source_name", "section", "issue_id", "source_kind")
# LlamaIndex's serialised node repeats the text and every metadata field (~2 KB a chunk); kept in memory it made
# the BM25 side 590 MB of the app's 1.6 GB at 100k chunks (benchmarks/bench_footprint.py). Rows keep "text".
_NODE_KEYS = ("_node_content", "_node_type", "document_id", "doc_id", "ref_doc_id")


def _nodes(chunks: list[Chunk]) -> list[Any]:
    from llama_index.core.schema import TextNode

    nodes = []
    for chunk in chunks:
        meta = chunk.metadata()
        nodes.append(TextNode(id_=chunk.chunk_id, text=chunk.text, metadata=meta,
                              excluded_embed_metadata_keys=list(meta), excluded_llm_metadata_keys=list(meta)))
    return nodes


class LexicalIndex:
    # Filter helpers computed on first use (see _dates, _isin, where_ids).
    _date_ints: np.ndarray | None = None
    _codes: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
    _ids: Any = None  # object array of chunk ids; False when some row lacks one

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever
        self.stemmer = retriever.stemmer
        corpus = retriever.corpus or []
        for row in corpus:  # in place: bm25s hands back these same dicts
            _slim(row)
        self.corpus: list[dict[str, Any]] = corpus
        self._columns = {key: np.asarray([row.get(key, 0 if key == "date_int" else "") for row in corpus])
                         for key in _FILTER_KEYS}

    @classmethod
    def build(cls, chunks: list[Chunk], path: Path) -> LexicalIndex | None:
        """Build and persist; an empty index is written as an empty marker so readers know it is empty."""
        from llama_index.retrievers.bm25 import BM25Retriever

        path.mkdir(parents=True, exist_ok=True)
        if not chunks:
            (path / "EMPTY").write_text("0")
            return None
        retriever = BM25Retriever(nodes=_nodes(chunks), stemmer=Stemmer.Stemmer("english"), language="en",
                                  similarity_top_k=10)
        for row, chunk in zip(retriever.corpus, chunks, strict=True):  # persisted slim: smaller, faster to load
            row["text"] = chunk.text
            _slim(row)
        retriever.persist(str(path), show_progress=False)
        return cls(retriever)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        from llama_index.retrievers.bm25 import BM25Retriever

        if (path / "EMPTY").exists():
            return _EmptyLexical()
        return cls(BM25Retriever.from_persist_dir(str(path), show_progress=False))

    def __len__(self) -> int:
        return len(self.corpus)

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or filters.empty:
            return None
        keep = np.ones(len(self.corpus), dtype=bool)
        dates = self._dates()
        if filters.since:
            keep &= dates >= int(filters.since.strftime("%Y%m%d"))
        if filters.until:
            keep &= (dates <= int(filters.until.strftime("%Y%m%d"))) & (dates > 0)
        for key, values in (("source_name", filters.sources), ("section", filters.sections),
                            ("issue_id", filters.issues), ("source_kind", filters.kinds)):
            if values:
                keep &= self._isin(key, values)
        return keep

    # Per-query filter work runs on every search; at 100k chunks converting the date column and comparing
    # strings took ~8 ms a query, integer codes computed once take well under 1 ms.
    def _dates(self) -> np.ndarray:
        if self._date_ints is None:
            self._date_ints = self._columns["date_int"].astype(np.int64)
        return self._date_ints

    def _isin(self, key: str, values: list[str]) -> np.ndarray:
        if self._codes is None:
            self._codes = {}
        codes = self._codes
        if key not in codes:
            codes[key] = np.unique(self._columns[key], return_inverse=True)
        uniques, inverse = codes[key]
        return np.isin(inverse, np.flatnonzero(np.isin(uniques, values)))

    def where_ids(self, filters: Filters) -> list[str] | None:
        """Ids of the chunks that `chroma_where(filters)` selects (same rules, undated chunks included by
        `until` alone), from the columns held in memory; None when a row lacks its id. The dense side queries
        Chroma with these ids: its own metadata filter is 5-10x slower at 100k chunks (index/reader.py)."""
        if not self.corpus:
            return []
        ids = self._ids
        if ids is None:
            ids = np.asarray([str(row.get("node_id") or "") for row in self.corpus], dtype=object)
            self._ids = ids if all(ids) else False
        if ids is False:
            return None
        keep = np.ones(len(self.corpus), dtype=bool)
        dates = self._dates()
        if filters.since:
            keep &= dates >= int(filters.since.strftime("%Y%m%d"))
        if filters.until:
            keep &= dates <= int(filters.until.strftime("%Y%m%d"))
        if filters.since and not filters.until:
            keep &= dates > 0
        for key, values in (("source_name", filters.sources), ("section", filters.sections),
                            ("issue_id", filters.issues), ("source_kind", filters.kinds)):
            if values:
                keep &= self._isin(key, values)
        return list(ids[keep].tolist())

    def search(self, query: str, *, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        if not self.corpus:
            return []
        mask = self.mask(filters)
        if mask is not None and not mask.any():
            return []
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=self.stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        k = min(k, len(self.corpus))
        indexes, scores = self.retriever.bm25.retrieve(
            tokens, k=k, show_progress=False, n_threads=1,
            weight_mask=mask.astype(np.float32) if mask is not None else None)
        out: list[ScoredChunk] = []
        for idx, score in zip(indexes[0], scores[0], strict=False):
            if score <= 0:
                continue
            row = idx if isinstance(idx, dict) else self.corpus[int(idx)]
            out.append(ScoredChunk(chunk=_row_to_chunk(row), score=float(score), lexical=float(score)))
        return out


class _EmptyLexical(LexicalIndex):
    def __init__(self) -> None:
        self.corpus = []
        self._columns = {}

    def search(self, query: str, *, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        return []


def _slim(row: dict[str, Any]) -> None:
    if "text" not in row:
        content = row.get("_node_content")
        text = ""
        if isinstance(content, str):
            try:
                text = json.loads(content).get("text", "")
            except ValueError:
                text = ""
        row["text"] = text
    for key in _NODE_KEYS:
        row.pop(key, None)


def _row_to_chunk(row: dict[str, Any]) -> Chunk:
    _slim(row)
    return Chunk.from_metadata(str(row.get("node_id", "")), str(row.get("text", "")), row)
