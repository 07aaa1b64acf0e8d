"""The build side of the BM25 index: what each version's bm25/ folder was built from, kept beside it so the next
version is built from these rows plus the change instead of from every chunk again.

A version's bm25/ folder holds the files LexicalIndex.load reads (bm25s's arrays, vocabulary and corpus.jsonl,
LlamaIndex's retriever.json, exactly as BM25Retriever.persist wrote them) plus rows.json (chunk, issue and story
id of each row) and tokens.npy (each row's token columns, all rows concatenated; lengths in rows.json). Adding one
issue to the 339-issue archive used to read all 12,667 chunks back from Chroma (1.9 s), tokenize and stem them
again and score them in bm25s's per-document Python loop (1.7 s); now only the new chunks are tokenized, the other
rows' JSON lines are copied as bytes, and the score matrix is recomputed with numpy over the stored token columns
(BM25's idf and average length are global, so every score changes; that is tens of ms for the archive). The
scores are bm25s's "lucene" BM25 (its defaults, which BM25Retriever uses), checked against bm25s itself in
tests/index/test_lexical_rows.py.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from assistant.records import Chunk
from assistant.terms import bm25_tokenize, new_stemmer

ROWS_FILE = "rows.json"
TOKENS_FILE = "tokens.npy"
EMPTY = "EMPTY"
_FORMAT = 1
# Tokenisation: assistant/terms.py bm25_tokenize (BM25Retriever's); the text is the chunk's text alone (all
# metadata is excluded from the embed view).
# bm25s.BM25() defaults, which BM25Retriever uses and stores in params.index.json.
_K1, _B, _DELTA = 1.5, 0.75, 0.5
# What BM25Retriever.persist writes beside bm25s's files.
_RETRIEVER_JSON = {"similarity_top_k": 10, "verbose": False, "corpus_weight_mask": None}


def row_line(chunk: Chunk) -> bytes:
    """A chunk as its corpus.jsonl line: the slim row LexicalIndex keeps (metadata, node_id, text)."""
    row = {**chunk.metadata(), "node_id": chunk.chunk_id, "text": chunk.text}
    return (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8", "replace")


def tokenize(texts: list[str], stemmer: Any) -> tuple[list[np.ndarray], list[str]]:
    """Token ids per text (into the returned vocabulary), as BM25Retriever tokenizes them."""
    if not texts:
        return [], []
    tok = bm25_tokenize(texts, stemmer)
    vocab = [""] * len(tok.vocab)
    for token, i in tok.vocab.items():
        vocab[i] = token
    return [np.asarray(ids, dtype=np.int32) for ids in tok.ids], vocab


@dataclass
class LexicalRows:
    """Rows of a BM25 side in order: ids, issue and story ids, token columns and the stored JSON line of each."""

    ids: list[str] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    stories: list[str] = field(default_factory=list)
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    tokens: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    vocab: list[str] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    # ------------------------------------------------------------ building
    @classmethod
    def from_chunks(cls, chunks: list[Chunk]) -> LexicalRows:
        return cls().plus(chunks)

    def plus(self, chunks: list[Chunk]) -> LexicalRows:
        """These rows followed by `chunks` (tokenized here; nothing else is)."""
        if not chunks:
            return self
        per_doc, local_vocab = tokenize([c.text for c in chunks], new_stemmer())
        vocab = list(self.vocab)
        index = {token: i for i, token in enumerate(vocab)}
        remap = np.empty(len(local_vocab), dtype=np.int32)
        for i, token in enumerate(local_vocab):
            if token not in index:
                index[token] = len(vocab)
                vocab.append(token)
            remap[i] = index[token]
        new_tokens = [remap[ids] for ids in per_doc]
        return LexicalRows(
            ids=self.ids + [c.chunk_id for c in chunks],
            issues=self.issues + [c.issue_id for c in chunks],
            stories=self.stories + [c.story_id for c in chunks],
            lengths=np.concatenate([self.lengths, np.asarray([len(t) for t in new_tokens], dtype=np.int64)]),
            tokens=np.concatenate([self.tokens, *new_tokens]).astype(np.int32, copy=False),
            vocab=vocab,
            lines=self.lines + [row_line(c) for c in chunks])

    def without(self, ids: Collection[str]) -> LexicalRows:
        """These rows less the ones whose id is in `ids` (order kept)."""
        if not ids or not self.ids:
            return self
        keep = np.fromiter((i not in ids for i in self.ids), dtype=bool, count=len(self.ids))
        if keep.all():
            return self
        idx = np.flatnonzero(keep)
        return LexicalRows(
            ids=[self.ids[i] for i in idx], issues=[self.issues[i] for i in idx],
            stories=[self.stories[i] for i in idx], lengths=self.lengths[keep],
            tokens=self.tokens[np.repeat(keep, self.lengths)], vocab=self.vocab,
            lines=[self.lines[i] for i in idx])

    # ------------------------------------------------------------ scoring
    def scores(self) -> tuple[dict[str, Any], dict[str, int], np.ndarray]:
        """bm25s's score matrix (CSC: data, indices, indptr, num_docs) and vocabulary for these rows, as a fresh
        bm25s.BM25().index() builds them (tokens no row uses any more left out), and the rows' token columns in
        that vocabulary."""
        n = len(self.ids)
        used = np.bincount(self.tokens, minlength=len(self.vocab)) > 0
        columns = (np.cumsum(used) - 1).astype(np.int32)  # our column -> the compacted one, for used tokens
        vocab_dict = {self.vocab[i]: int(columns[i]) for i in np.flatnonzero(used)}
        cols = columns[self.tokens]
        docs = np.repeat(np.arange(n, dtype=np.int64), self.lengths)
        # Sorted by column, then row: the order of bm25s's CSC arrays, so no second sort is needed.
        pairs, tf = np.unique(cols.astype(np.int64) * max(n, 1) + docs, return_counts=True)
        col, doc = pairs // max(n, 1), pairs % max(n, 1)
        df = np.bincount(col, minlength=len(vocab_dict))
        # The arithmetic of bm25s.scoring (_score_idf_lucene, _score_tfc_robertson): float64, stored float32.
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg_len = float(np.asarray(self.lengths).mean()) or 1.0
        norm = _K1 * ((1 - _B) + _B * self.lengths / avg_len)
        tf32 = tf.astype(np.float32)
        data = (idf[col] * (tf32 / (norm[doc] + tf32))).astype(np.float32)
        indptr = np.zeros(len(vocab_dict) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        if "" not in vocab_dict:  # bm25s.BM25.index adds the empty token after the matrix's last column
            vocab_dict[""] = len(vocab_dict)
        scores = {"data": data, "indices": doc.astype(np.int32), "indptr": indptr, "num_docs": n}
        return scores, vocab_dict, cols

    # ------------------------------------------------------------ files
    def write(self, path: Path) -> None:
        """Persist in bm25s / BM25Retriever's layout plus rows.json and tokens.npy; an empty side is an EMPTY
        marker, so readers know it is empty."""
        path.mkdir(parents=True, exist_ok=True)
        if not self.ids:
            (path / EMPTY).write_text("0")
            return
        scores, vocab_dict, cols = self.scores()
        bm25 = bm25s.BM25()
        bm25.scores, bm25.vocab_dict, bm25.nonoccurrence_array = scores, vocab_dict, None
        bm25.save(str(path), corpus=None, show_progress=False)  # arrays, vocab and params; the corpus follows
        offsets = np.zeros(len(self.lines), dtype=np.int64)
        if len(self.lines) > 1:
            np.cumsum([len(line) for line in self.lines[:-1]], out=offsets[1:])
        with open(path / "corpus.jsonl", "wb") as fh:
            fh.writelines(self.lines)
        (path / "corpus.mmindex.json").write_text(json.dumps(offsets.tolist()))
        (path / "retriever.json").write_text(json.dumps(_RETRIEVER_JSON, indent=2))
        np.save(path / TOKENS_FILE, cols, allow_pickle=False)  # columns of vocab.index.json, for the next build
        (path / ROWS_FILE).write_text(json.dumps({
            "format": _FORMAT, "ids": self.ids, "issues": self.issues, "stories": self.stories,
            "lengths": self.lengths.tolist()}, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> LexicalRows | None:
        """The rows a version's BM25 side was built from; None when that version was written without them (by an
        older Newsdesk) or they do not agree with each other: the caller then builds from the chunks."""
        if (path / EMPTY).exists():
            return cls()
        try:
            meta = json.loads((path / ROWS_FILE).read_text(encoding="utf-8"))
            if meta.get("format") != _FORMAT:
                return None
            vocab_dict = json.loads((path / "vocab.index.json").read_text(encoding="utf-8"))
            tokens = np.load(path / TOKENS_FILE, allow_pickle=False)
            n_cols = np.load(path / "indptr.csc.index.npy", mmap_mode="r").size - 1
            lines = (path / "corpus.jsonl").read_bytes().splitlines(keepends=True)
        except (OSError, ValueError):
            return None
        vocab = [""] * n_cols
        for token, col in vocab_dict.items():
            if col < n_cols:
                vocab[col] = token
        lengths = np.asarray(meta["lengths"], dtype=np.int64)
        rows = cls(ids=list(meta["ids"]), issues=list(meta["issues"]), stories=list(meta["stories"]),
                   lengths=lengths, tokens=tokens.astype(np.int32, copy=False), vocab=vocab, lines=lines)
        consistent = (len(rows.ids) == len(rows.issues) == len(rows.stories) == len(lengths) == len(lines)
                      and int(lengths.sum()) == tokens.size and (tokens.size == 0 or
                                                                   0 <= int(tokens.min()) <= int(tokens.max()) < n_cols))
        return rows if consistent else None

    # ------------------------------------------------------------ checks before publishing
    def verify(self, path: Path, probes: Iterable[str]) -> str | None:
        """Read the written side back (as files, the way the next writer and LexicalIndex.load read them) and
        check it holds these rows; a BM25 query for each probe chunk's headline must score that chunk's row.
        Returns what is wrong, or None."""
        if not self.ids:
            return None if (path / EMPTY).exists() else "BM25 side of an empty index has no EMPTY marker"
        back = LexicalRows.load(path)
        if back is None:
            return "BM25 side cannot be read back"
        if back.ids != self.ids or not np.array_equal(back.lengths, self.lengths):
            return f"BM25 side holds {len(back)} rows that differ from the {len(self)} written"
        bm25 = bm25s.BM25.load(str(path), load_corpus=False)
        if int(bm25.scores["num_docs"]) != len(self.ids) or bm25.scores["indptr"][-1] != bm25.scores["data"].size:
            return f"BM25 matrix holds {int(bm25.scores['num_docs'])} rows, expected {len(self.ids)}"
        json.loads((path / "retriever.json").read_text())
        position = {cid: i for i, cid in enumerate(self.ids)}
        stemmer = new_stemmer()
        for cid in probes:
            row = position.get(cid)
            stored = json.loads(back.lines[row]) if row is not None else {}
            if stored.get("node_id") != cid:
                return f"BM25 side lacks chunk {cid}"
            query = bm25_tokenize([str(stored.get("headline") or stored.get("text", ""))[:200]], stemmer,
                                  return_ids=False)[0]
            ids = bm25.get_tokens_ids(query)
            if ids and bm25.get_scores(ids)[row] <= 0:
                return f"BM25 query for chunk {cid}'s headline does not score it"
        return None
