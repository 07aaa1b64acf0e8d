"""The BM25 side of the index (llama-index-retrievers-bm25 over bm25s), persisted beside each Chroma version."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from assistant.records import Chunk, Filters, ScoredChunk
from assistant.terms import bm25_tokenize, new_stemmer

_FILTER_KEYS = ("date_int", "source_name", "section", "issue_id", "source_kind")
# LlamaIndex's serialised node repeats the text and every metadata field (~2 KB a chunk); kept in memory it made
# the BM25 side 590 MB of the app's 1.6 GB at 100k chunks (benchmarks/bench_footprint.py). Rows keep "text".
_NODE_KEYS = ("_node_content", "_node_type", "document_id", "doc_id", "ref_doc_id")


class LexicalIndex:
    # Filter helpers computed on first use (see _dates, _isin, where_ids).
    _date_ints: np.ndarray | None = None
    _codes: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
    _ids: Any = None  # object array of chunk ids; False when some row lacks one
    _positions: dict[str, int] | None = None  # chunk id -> row (positions())

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
    def build(cls, chunks: list[Chunk], path: Path) -> None:
        """Build from scratch and persist (index/lexical_rows.py builds the next version from the last one)."""
        from assistant.index.lexical_rows import LexicalRows

        LexicalRows.from_chunks(chunks).write(path)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        """The BM25 side of a version: the files LlamaIndex's BM25Retriever persists, read as its
        `from_persist_dir` reads them (bm25s's load with the corpus, an English stemmer). Only the bm25s index,
        its rows and the stemmer are used here, so importing LlamaIndex for them (~0.8 s of CPU) buys nothing."""
        if (path / "EMPTY").exists():
            return _EmptyLexical()
        return cls(_Bm25Files(bm25s.BM25.load(str(path), load_corpus=True, show_progress=False)))

    def __len__(self) -> int:
        return len(self.corpus)

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Which rows the filters keep (None: no filter); the same rules as `chroma_where`, so the dense and BM25
        sides of a search see the same chunks. A date bound leaves undated chunks out."""
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
        """Ids of the chunks that `chroma_where(filters)` selects (the rows `mask` keeps), from the columns held
        in memory; None when a row lacks its id. The dense side queries
        Chroma with these ids: its own metadata filter is 5-10x slower at 100k chunks (index/reader.py)."""
        if not self.corpus:
            return []
        ids = self._ids
        if ids is None:
            ids = np.asarray([str(row.get("node_id") or "") for row in self.corpus], dtype=object)
            self._ids = ids if all(ids) else False
        if ids is False:
            return None
        keep = self.mask(filters)
        return list(ids.tolist() if keep is None else ids[keep].tolist())

    def positions(self) -> dict[str, int]:
        """Row index of each chunk id (built on first use: ~10 MB at 100k chunks)."""
        if self._positions is None:
            self._positions = {str(row.get("node_id") or ""): i for i, row in enumerate(self.corpus)}
        return self._positions

    def chunks_by_id(self, ids: list[str]) -> dict[str, Chunk]:
        """The chunks with these ids from the rows held in memory: the text and the metadata Chroma holds for the
        same version (both are written from the same chunks). Fetching 40 chunks by id from Chroma took 5-6 ms a
        search at 100k chunks; this takes ~0.3 ms. Ids this side lacks are left out."""
        positions = self.positions()
        found = ((cid, positions.get(cid)) for cid in ids)
        return {cid: _row_to_chunk(self.corpus[i]) for cid, i in found if i is not None}

    def search(self, query: str, *, k: int, filters: Filters | None = None) -> list[ScoredChunk]:
        if not self.corpus:
            return []
        mask = self.mask(filters)
        if mask is not None and not mask.any():
            return []
        tokens = bm25_tokenize([query], self.stemmer)
        if not tokens.vocab:
            return []
        k = min(k, len(self.corpus))
        out: list[ScoredChunk] = []
        for idx, score in self.top(tokens, k=k, mask=mask):
            out.append(ScoredChunk(chunk=_row_to_chunk(self.corpus[idx]), score=score, lexical=score))
        return out

    def containing(self, query: str, *, k: int, filters: Filters | None = None) -> list[Chunk]:
        """Up to k chunks that hold every word of the query (after BM25's tokenizing), best BM25 score first:
        the rows a phrase can be in ("Kubernetes 1.24"), for the caller to check the exact wording."""
        if not self.corpus:
            return []
        mask = self.mask(filters)
        tokens = bm25_tokenize([query], self.stemmer)
        strings = bm25s.tokenization.convert_tokenized_to_string_list(tokens)[0] if tokens.vocab else []
        bm25 = self.retriever.bm25
        token_ids = bm25.get_tokens_ids(strings)
        if not token_ids or len(token_ids) < len(set(strings)):
            return []  # a word no chunk has: no chunk has them all
        weights = mask.astype(np.float32) if mask is not None else None
        every = np.ones(len(self.corpus), dtype=bool)
        for token_id in token_ids:
            every &= bm25.get_scores_from_ids([token_id], weight_mask=weights) > 0
        rows = np.flatnonzero(every)
        if len(rows) > k:
            total = bm25.get_scores_from_ids(token_ids, weight_mask=weights)
            rows = rows[np.argsort(-total[rows], kind="stable")[:k]]
        return [_row_to_chunk(self.corpus[int(i)]) for i in rows]

    def chunk_counts(self, words: Iterable[str]) -> dict[str, int]:
        """How many chunks hold each word (after BM25's tokenizing and stemming): 0 for a word no chunk has, and
        every chunk for a stop word. A word of several tokens counts by its rarest token."""
        if not self.corpus:
            return {w: 0 for w in words}
        bm25 = self.retriever.bm25
        indptr = bm25.scores["indptr"]  # bm25s's sparse matrix: a token's chunks lie between two offsets
        out: dict[str, int] = {}
        for word in words:
            tokens = bm25_tokenize([word], self.stemmer)
            strings = bm25s.tokenization.convert_tokenized_to_string_list(tokens)[0] if tokens.vocab else []
            if not strings:
                out[word] = len(self.corpus)
                continue
            ids = bm25.get_tokens_ids(strings)
            out[word] = 0 if len(ids) < len(set(strings)) else \
                min(int(indptr[i + 1] - indptr[i]) for i in ids)
        return out

    def top(self, tokens: Any, *, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The k best-scoring rows (index, score > 0) for a tokenized query, best first, ties in row order.

        The scores are bm25s's own (BM25.get_scores_from_ids: the same float32 sums, the mask applied the same
        way); only the selection differs. bm25s.retrieve picks the top k with np.argpartition over every row, and
        numpy's selection is slow when most values are equal: at 100k chunks, where a query reaches 5-45k rows and
        the rest score 0, it took 15 ms of a 17 ms BM25 query (filtered or not); the argpartition over only the
        rows that score takes well under 1 ms (benchmarks/bench_query.py)."""
        bm25 = self.retriever.bm25
        strings = bm25s.tokenization.convert_tokenized_to_string_list(tokens)[0]
        token_ids = bm25.get_tokens_ids(strings)
        if not token_ids:
            return []
        scores = bm25.get_scores_from_ids(token_ids,
                                          weight_mask=mask.astype(np.float32) if mask is not None else None)
        rows = np.flatnonzero(scores > 0)
        values = scores[rows]
        if len(rows) > k:
            kth = np.partition(values, len(values) - k)[len(values) - k]  # the k-th best score
            above = np.flatnonzero(values > kth)
            chosen = np.concatenate([above, np.flatnonzero(values == kth)[: k - len(above)]])
            rows, values = rows[chosen], values[chosen]
        order = np.lexsort((rows, -values))
        return [(int(rows[i]), float(values[i])) for i in order]


class _Bm25Files:
    """What LexicalIndex uses of a BM25Retriever (its bm25s index, stemmer and corpus rows), loaded as
    `BM25Retriever.from_persist_dir` loads them."""

    def __init__(self, bm25: bm25s.BM25) -> None:
        self.bm25 = bm25
        self.corpus = bm25.corpus
        self.stemmer = new_stemmer()  # BM25Retriever's default: Stemmer.Stemmer("english")


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
