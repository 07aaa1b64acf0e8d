"""BM25 search picks its best rows itself: bm25s.retrieve selects with np.argpartition over every row, 15 ms of a
17 ms query at 100k chunks (README "Performance"). The scores must stay bm25s's own and the rows the same, except
which of several exactly tied rows makes the cut: that is now row order, where argpartition's pick was arbitrary."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import bm25s
import numpy as np
import pytest

from assistant.config import Settings
from assistant.index.lexical import LexicalIndex
from assistant.index.reader import open_reader
from assistant.index.store import IndexStore
from assistant.records import Chunk, Filters

QUERIES = ("What did OpenAI release?", "Rust compiler performance", "robots in warehouses",
           "GPU GPU chips chips chips", "the", "zzqxv qqzzy")


@pytest.fixture(scope="module")
def reader(corpus_index: Settings):
    reader = open_reader(IndexStore(corpus_index))
    yield reader
    reader.close()


def _tokens(lexical: LexicalIndex, query: str):
    return bm25s.tokenize([query], stopwords="en", stemmer=lexical.stemmer, show_progress=False)


def test_top_keeps_bm25s_scores_and_rows(reader) -> None:
    lexical: LexicalIndex = reader.lexical
    source = Counter(str(row.get("source_name", "")) for row in lexical.corpus).most_common()[-1][0]
    dated = sorted(int(row.get("date_int", 0)) for row in lexical.corpus if row.get("date_int"))
    middle = dated[len(dated) // 2]
    masks = [None, lexical.mask(Filters(sources=[source])),
             lexical.mask(Filters(since=date(middle // 10000, middle // 100 % 100, middle % 100)))]
    checked = 0
    for query in QUERIES:
        tokens = _tokens(lexical, query)
        if not tokens.vocab:
            continue
        for mask in masks:
            for k in (5, 40):
                got = lexical.top(tokens, k=k, mask=mask)
                docs, scores = lexical.retriever.bm25.retrieve(
                    tokens, k=k, show_progress=False, n_threads=1,
                    weight_mask=mask.astype(np.float32) if mask is not None else None)
                want = [(lexical.corpus.index(d) if isinstance(d, dict) else int(d), float(s))
                        for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
                assert [s for _, s in got] == [s for _, s in want], (query, k)  # bit-identical scores
                cut = want[-1][1] if len(want) == k else 0.0
                assert {r for r, s in got if s > cut} == {r for r, s in want if s > cut}, (query, k)
                assert all(mask[r] for r, _ in got) if mask is not None else True
                # best first, ties in row order
                assert got == sorted(got, key=lambda rs: (-rs[1], rs[0]))
                checked += len(got)
    assert checked > 100
    assert lexical.top(_tokens(lexical, "zzqxv qqzzy"), k=5) == []


def _chunk(i: int, text: str) -> Chunk:
    return Chunk(chunk_id=f"c{i}", story_id=f"s{i}", chunk_index=0, text=text, content_hash=f"h{i}",
                 issue_id="i1", issue_title="Issue", headline=text.split(".")[0], section="", story_index=i,
                 date="2024-01-01", date_int=20240101, url=None, source_kind="newsletter", source_name="Desk")


def test_exact_ties_are_cut_in_row_order(tmp_path: Path) -> None:
    reprint = "Tidal barrage sets a record. The barrage made more power than ever."
    texts = [reprint if i % 3 == 0 else f"Ferry timetable {i} changes. Boats run later on day {i}." for i in range(30)]
    LexicalIndex.build([_chunk(i, t) for i, t in enumerate(texts)], tmp_path / "bm25")
    lexical = LexicalIndex.load(tmp_path / "bm25")
    got = lexical.top(_tokens(lexical, "tidal barrage record"), k=4)
    assert [r for r, _ in got] == [0, 3, 6, 9]  # ten identical reprints tie: the first four rows make the cut
    assert len({s for _, s in got}) == 1
    hits = lexical.search("tidal barrage record", k=4)
    assert [h.chunk.chunk_id for h in hits] == ["c0", "c3", "c6", "c9"]
    assert hits[0].chunk == _chunk(0, reprint)
    mask = np.zeros(len(texts), dtype=bool)
    mask[[4, 9, 12]] = True  # one ferry row and two reprints allowed
    assert [r for r, _ in lexical.top(_tokens(lexical, "tidal barrage record"), k=4, mask=mask)] == [9, 12]


def test_chunk_counts_are_bm25s_document_frequencies(reader) -> None:
    lexical: LexicalIndex = reader.lexical
    bm25 = lexical.retriever.bm25
    counts = lexical.chunk_counts(["OpenAI", "Rust", "zzqxv", "the"])
    for name in ("OpenAI", "Rust"):
        [token] = bm25s.tokenization.convert_tokenized_to_string_list(_tokens(lexical, name))[0]
        scoring = int((bm25.get_scores_from_ids(bm25.get_tokens_ids([token])) > 0).sum())
        assert counts[name] == scoring > 0, name     # the chunks the word scores in, as a search counts them
    assert counts["zzqxv"] == 0                      # no chunk holds it: an invented name
    assert counts["the"] == len(lexical.corpus)      # a stop word is everywhere
