"""Dense search asks Chroma for ids and distances, then the chunks by id, and takes the ids a filter keeps from
the BM25 side's columns instead of Chroma's `where` (both much faster at 100k chunks, README "Performance"); it
must return exactly what one LlamaIndex query with `where` returns."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta

import pytest
from llama_index.core.vector_stores.types import VectorStoreQuery

from assistant.config import Settings
from assistant.index.reader import open_reader
from assistant.index.store import IndexStore, chroma_where
from assistant.records import Filters


def _dates(value: int) -> date:
    return date(value // 10000, value // 100 % 100, value % 100)


@pytest.fixture(scope="module")
def reader(corpus_index: Settings):
    reader = open_reader(IndexStore(corpus_index))
    yield reader
    reader.close()


def _filters(reader) -> list[Filters | None]:
    chunks = reader.get_chunks()
    dated = sorted(c.date_int for c in chunks if c.date_int)
    sources = Counter(c.source_name for c in chunks).most_common()
    sections = Counter(c.section for c in chunks if c.section).most_common()
    first, last = _dates(dated[0]), _dates(dated[-1])
    return [
        None,                                                  # no filter
        Filters(since=first),                                  # broad: almost everything (over-fetch path)
        Filters(until=last),                                   # broad; undated chunks are left out
        Filters(since=last - timedelta(days=10), until=last),  # narrow: ids path
        Filters(sources=[sources[-1][0]]),
        Filters(sources=[s for s, _ in sources]),
        Filters(sections=[sections[0][0]]),
        Filters(since=first, sources=[sources[0][0]]),
        Filters(issues=["no-such-issue"]),                     # nothing
    ]


def test_filtered_dense_equals_chroma_where(reader, embedder) -> None:
    filters = _filters(reader)
    for question in ("What did OpenAI release?", "Rust compiler performance", "robots in warehouses"):
        vector = embedder.encode_one(question)
        for flt in filters:
            got = reader.dense(vector, k=8, filters=flt)
            want = reader.vector_store.query(VectorStoreQuery(query_embedding=vector.tolist(), similarity_top_k=8),
                                             where=chroma_where(flt))
            want_scores = [1.0 + math.log(sim) for sim in want.similarities or []]  # LlamaIndex: exp(-distance)
            assert [h.dense for h in got] == pytest.approx(want_scores, abs=1e-5), (question, flt)
            # Identical texts (reprinted link lists) tie; they may come in either order, or either at the cut.
            by_id = {n.node_id: n for n in want.nodes}
            untied = {n.node_id for n, sc in zip(want.nodes, want_scores, strict=True) if sc > want_scores[-1] + 1e-5}
            assert untied <= {h.chunk.chunk_id for h in got}, (question, flt)
            for hit in got:
                node = by_id.get(hit.chunk.chunk_id)
                if node is not None:
                    assert hit.chunk.text == node.get_content()
                    assert hit.chunk.headline == node.metadata["headline"]


def test_where_ids_follow_chroma_rules(reader) -> None:
    for flt in _filters(reader)[1:]:
        assert flt is not None
        ids = reader.lexical.where_ids(flt)
        got = reader.collection.get(where=chroma_where(flt), include=[])
        assert ids is not None
        assert sorted(ids) == sorted(got["ids"]), flt
        # The BM25 side filters the same rows, so both halves of a hybrid search see the same chunks.
        mask = reader.lexical.mask(flt)
        assert mask is not None
        assert sorted(row["node_id"] for row, keep in zip(reader.lexical.corpus, mask, strict=True) if keep) \
            == sorted(ids), flt
    undated = {c.chunk_id for c in reader.get_chunks() if not c.date_int}
    assert undated  # the seed issue has no date
    assert not undated & set(reader.lexical.where_ids(Filters(until=date(2100, 1, 1))) or [])


def test_dense_chunks_from_bm25_rows_equal_chromas(reader, embedder, monkeypatch) -> None:
    """The chunks of dense hits come from the BM25 side's rows held in memory (Chroma by id took 5-6 ms a search
    at 100k chunks); they must be the chunks Chroma holds, and an id the rows lack still comes from Chroma."""
    from assistant.records import Chunk

    def chroma_chunks(ids: list[str]) -> dict[str, Chunk]:
        got = reader.collection.get(ids=ids, include=["documents", "metadatas"])
        return {i: Chunk.from_metadata(i, d or "", m or {})
                for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)}

    every = [str(row["node_id"]) for row in reader.lexical.corpus]
    assert reader.lexical.chunks_by_id(every) == chroma_chunks(every)
    vector = embedder.encode_one("What did OpenAI release?")
    for flt in _filters(reader):
        hits = reader.dense(vector, k=8, filters=flt)
        if hits:  # the last filter selects nothing
            assert {h.chunk.chunk_id: h.chunk for h in hits} == chroma_chunks([h.chunk.chunk_id for h in hits])
    hits = reader.dense(vector, k=8)
    lacking = hits[0].chunk.chunk_id
    held = reader.lexical.chunks_by_id
    monkeypatch.setattr(reader.lexical, "chunks_by_id",
                        lambda ids: {i: c for i, c in held(ids).items() if i != lacking})
    again = reader.dense(vector, k=8)
    assert [(h.chunk, h.dense) for h in again] == [(h.chunk, h.dense) for h in hits]


def test_cosines_of_known_chunks_are_exact_and_complete(reader, embedder) -> None:
    # Candidates found by BM25 (and the coverage engine's mentions) get their cosines from the stored
    # embeddings: every id comes back, with the cosine an unfiltered nearest-neighbour query gives it.
    query = embedder.encode_one("Who supplies HBM4 memory for AMD's MI455X?")
    nearest = reader.dense(query, k=30)
    ids = [h.chunk.chunk_id for h in nearest]
    far = [c.chunk_id for c in reader.get_chunks(limit=400)][-50:]  # mostly far from the query
    exact = reader.cosines(query, ids + far + ids[:3])  # repeats are asked once
    assert set(exact) == set(ids) | set(far)
    for h in nearest:
        assert exact[h.chunk.chunk_id] == pytest.approx(h.dense, abs=1e-4)
    among = reader.dense_among(query, far)
    assert [h.chunk.chunk_id for h in among] == sorted(far, key=lambda i: -exact[i])
    assert all(h.dense == pytest.approx(exact[h.chunk.chunk_id], abs=1e-6) for h in among)
    assert reader.dense_among(query, []) == [] and reader.cosines(query, []) == {}
