"""The incremental BM25 side (index/lexical_rows.py): the same scores and rows as bm25s / BM25Retriever, a version
built from the last one plus the change equal to one built from scratch, an older version without stored rows
handled, and a side that differs from what was written refused before publishing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import pytest
import Stemmer

from assistant.index.errors import IndexWriteError
from assistant.index.lexical import LexicalIndex, _slim
from assistant.index.lexical_rows import ROWS_FILE, TOKENS_FILE, LexicalRows, row_line
from assistant.index.reader import open_reader
from assistant.index.store import IndexStore
from assistant.ingest.chunking import chunk_stories
from assistant.ingest.issues import collect_files, ingest_paths, parse_files
from assistant.records import Chunk
from tests.conftest import CORPUS_ISSUES, make_settings
from tests.index.conftest import index_state, seed_variant

QUERIES = ["HBM4 memory for AMD", "Rust compiler release", "OpenAI acquisition of a Python tool",
           "image generation model", "inference spending", "training data licensing deal"]


@pytest.fixture(scope="module")
def chunks() -> list[Chunk]:
    files, _ = collect_files([CORPUS_ISSUES])
    issues, _ = parse_files(files)
    out = [c for issue in issues for c in chunk_stories(issue.stories)]
    assert len(out) > 200
    return out


def _score_map(scores: dict[str, Any], vocab: dict[str, int]) -> dict[tuple[int, str], float]:
    token = {col: tok for tok, col in vocab.items()}
    indptr, indices, data = scores["indptr"], scores["indices"], scores["data"]
    return {(int(indices[j]), token[col]): float(data[j])
            for col in range(len(indptr) - 1) for j in range(indptr[col], indptr[col + 1])}


def test_scores_and_rows_are_those_of_bm25s_and_bm25retriever(chunks: list[Chunk]) -> None:
    from llama_index.core.schema import TextNode
    from llama_index.retrievers.bm25 import BM25Retriever

    # The way LexicalIndex.build built every version before (text only: all metadata excluded from the embed view).
    nodes = [TextNode(id_=c.chunk_id, text=c.text, metadata=c.metadata(), excluded_embed_metadata_keys=list(
        c.metadata()), excluded_llm_metadata_keys=list(c.metadata())) for c in chunks]
    reference = BM25Retriever(nodes=nodes, stemmer=Stemmer.Stemmer("english"), language="en", similarity_top_k=10)
    scores, vocab, _ = LexicalRows.from_chunks(chunks).scores()
    assert set(vocab) == set(reference.bm25.vocab_dict) and vocab[""] == len(vocab) - 1
    assert _score_map(scores, vocab) == _score_map(reference.bm25.scores, reference.bm25.vocab_dict)  # bit for bit
    assert scores["data"].dtype == np.float32 and scores["indices"].dtype == np.int32
    assert scores["indptr"].dtype == np.int64
    for row, chunk in zip(reference.corpus, chunks, strict=True):
        row["text"] = chunk.text
        _slim(row)
        assert json.loads(row_line(chunk)) == row


def _all_scores(index: LexicalIndex, query: str) -> dict[str, float]:
    tokens = bm25s.tokenize([query], stopwords="en", stemmer=index.stemmer, return_ids=False,
                            show_progress=False)[0]
    got = index.retriever.bm25.get_scores(tokens)
    return {str(row["node_id"]): float(s) for row, s in zip(index.corpus, got, strict=True) if s > 0}


def test_a_version_built_from_the_last_equals_one_built_from_scratch(chunks: list[Chunk], tmp_path: Path) -> None:
    old, added = chunks[:-40], chunks[-40:]
    removed = {c.chunk_id for c in old[5:25]}
    edited = [Chunk.from_metadata(c.chunk_id, c.text + " Zanzibar quokka hydrofoil.", c.metadata())
              for c in old[100:110]]
    final = [c for c in old if c.chunk_id not in removed and c.chunk_id not in {e.chunk_id for e in edited}]
    final += edited + added

    LexicalRows.from_chunks(old).write(tmp_path / "old")
    base = LexicalRows.load(tmp_path / "old")
    assert base is not None and len(base) == len(old)
    changed = removed | {c.chunk_id for c in edited}
    incremental = base.without(changed).plus(edited + added)
    incremental.write(tmp_path / "next")
    LexicalIndex.build(final, tmp_path / "scratch")

    assert incremental.verify(tmp_path / "next", [c.chunk_id for c in edited[:3] + added[:3]]) is None
    nxt, scratch = LexicalIndex.load(tmp_path / "next"), LexicalIndex.load(tmp_path / "scratch")
    assert len(nxt) == len(scratch) == len(final)
    assert {r["node_id"]: r for r in nxt.corpus} == {r["node_id"]: r for r in scratch.corpus}
    assert set(nxt.retriever.bm25.vocab_dict) == set(scratch.retriever.bm25.vocab_dict)  # unused tokens dropped
    for query in [*QUERIES, "Zanzibar quokka hydrofoil"]:
        a, b = _all_scores(nxt, query), _all_scores(scratch, query)
        assert a.keys() == b.keys() and a, query
        assert all(a[k] == pytest.approx(b[k], rel=1e-5) for k in a), query
        top_a = [s.chunk.chunk_id for s in nxt.search(query, k=5)]
        top_b = [s.chunk.chunk_id for s in scratch.search(query, k=5)]
        assert top_a == top_b, query
    assert {s.chunk.chunk_id for s in nxt.search("Zanzibar quokka hydrofoil", k=20)} == {c.chunk_id for c in edited}

    # A side whose files disagree with each other is not used as a base (the writer then reads the chunks back).
    rows = json.loads((tmp_path / "next" / ROWS_FILE).read_text())
    rows["lengths"] = rows["lengths"][:-1]
    (tmp_path / "next" / ROWS_FILE).write_text(json.dumps(rows))
    assert LexicalRows.load(tmp_path / "next") is None
    assert incremental.verify(tmp_path / "next", []) == "BM25 side cannot be read back"


def test_a_version_written_without_stored_rows_is_read_back_from_chroma(tmp_path: Path, fake_embedder) -> None:
    settings = make_settings(tmp_path / "idx")
    issue = tmp_path / "issues" / "clustermind" / "000_seed.txt"
    issue.parent.mkdir(parents=True)
    issue.write_text(seed_variant("a"))
    first = ingest_paths(settings, fake_embedder, [issue])
    store = IndexStore(settings)
    # As an older Newsdesk wrote it: no rows.json / tokens.npy beside the BM25 files.
    bm25_dir = store.version_dir(first.version) / "bm25"
    (bm25_dir / ROWS_FILE).unlink()
    (bm25_dir / TOKENS_FILE).unlink()
    issue.write_text(seed_variant("b"))
    second = ingest_paths(settings, fake_embedder, [issue])
    assert second.version and (store.version_dir(second.version) / "bm25" / ROWS_FILE).is_file()
    reader = open_reader(store)
    try:
        assert len(reader.lexical) == reader.count() == 4
        assert reader.lexical.search("HBM4 memory for AMD", k=1)
    finally:
        reader.close()


def test_a_bm25_side_that_differs_from_the_change_is_not_published(tmp_path: Path, fake_embedder,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path / "idx")
    issue = tmp_path / "issues" / "clustermind" / "000_seed.txt"
    issue.parent.mkdir(parents=True)
    issue.write_text(seed_variant("a"))
    ingest_paths(settings, fake_embedder, [issue])
    before = index_state(settings)
    issue.write_text(seed_variant("b"))
    real_write = LexicalRows.write

    def lossy_write(self: LexicalRows, path: Path) -> None:  # drops the last row, as a torn write would
        real_write(self.without({self.ids[-1]}), path)

    monkeypatch.setattr(LexicalRows, "write", lossy_write)
    with pytest.raises(IndexWriteError, match="BM25 side"):
        ingest_paths(settings, fake_embedder, [issue])
    assert index_state(settings) == before
    monkeypatch.undo()
    assert ingest_paths(settings, fake_embedder, [issue]).version == IndexStore(settings).current()
