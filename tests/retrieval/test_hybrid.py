"""Hybrid retrieval on the real bundled corpus: filters, time awareness, diversity, the LlamaIndex interface,
and the reranker hook. Real model, real Chroma, real BM25 (the session's corpus index)."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.records import Chunk, Filters, ScoredChunk
from assistant.retrieval.hybrid import FilterError, diversify, fuse
from assistant.retrieval.retriever import HybridRetriever


def _chunk(cid: str, story: str, text: str, day: int = 20260101) -> Chunk:
    return Chunk(chunk_id=cid, story_id=story, chunk_index=0, text=text, content_hash=cid, issue_id="i",
                 issue_title="I", headline=text.split("\n")[0], section="", story_index=0, date=None,
                 date_int=day, url=None, source_kind="newsletter", source_name="S")


def test_fuse_rewards_agreement_and_keeps_dense_order_otherwise() -> None:
    a, b, c = _chunk("a", "A", "alpha"), _chunk("b", "B", "beta"), _chunk("c", "C", "gamma")
    dense = [ScoredChunk(a, 0.80, dense=0.80), ScoredChunk(b, 0.78, dense=0.78)]
    lexical = [ScoredChunk(b, 12.0, lexical=12.0), ScoredChunk(c, 2.0, lexical=2.0)]
    fused = fuse(dense, lexical, lexical_weight=0.15)
    assert [h.chunk.chunk_id for h in fused] == ["b", "a", "c"]
    assert fused[2].dense is None and fused[2].score < fused[1].score  # lexical-only ranks below dense hits
    assert [h.chunk.chunk_id for h in fuse(dense, lexical, lexical_weight=0.0)][:2] == ["a", "b"]


def test_diversify_one_chunk_per_story_and_near_duplicates_once() -> None:
    text = "OpenAI signs a deal worth $10B for compute from Cerebras through 2028 to speed up inference"
    hits = [ScoredChunk(_chunk("s1:0", "s1", text), 0.9), ScoredChunk(_chunk("s1:1", "s1", "other part"), 0.85),
            ScoredChunk(_chunk("s2:0", "s2", text + " today"), 0.8),  # the same item reprinted elsewhere
            ScoredChunk(_chunk("s3:0", "s3", "A different story about robotaxis"), 0.7)]
    out = diversify(hits, k=5)
    assert [h.chunk.chunk_id for h in out] == ["s1:0", "s3:0"]


def ids(result) -> list[str]:
    return [h.chunk.headline for h in result.hits]


def test_source_section_issue_and_date_filters(corpus_desk) -> None:
    r = corpus_desk.search("compiler performance improvements", filters=Filters(sources=["this week in rust"]), k=6)
    assert r.hits and all(h.chunk.source_name == "This Week in Rust" for h in r.hits)
    r = corpus_desk.search("funding round valuation", filters=Filters(sections=["Business"]), k=6)
    assert r.hits and all(h.chunk.section == "Business" for h in r.hits)
    issue = "last-week-in-ai--2026-03-23-339"
    r = corpus_desk.search("OpenAI", filters=Filters(issues=[issue]), k=6)
    assert r.hits and all(h.chunk.issue_id == issue for h in r.hits)
    r = corpus_desk.search("Anthropic funding", filters=Filters(since=date(2026, 2, 1), until=date(2026, 2, 28)), k=6)
    assert r.hits and all(20260201 <= h.chunk.date_int <= 20260228 for h in r.hits)
    assert r.window and "2026-02-01 to 2026-02-28" in r.window


def test_unknown_filter_names_are_clear_errors(corpus_desk) -> None:
    with pytest.raises(FilterError, match="unknown source 'The Onion'.*Last Week in AI"):
        corpus_desk.search("anything", filters=Filters(sources=["The Onion"]))
    with pytest.raises(FilterError, match="unknown section"):
        corpus_desk.search("anything", filters=Filters(sections=["Horoscopes"]))
    with pytest.raises(FilterError, match="unknown issue"):
        corpus_desk.search("anything", filters=Filters(issues=["no-such-issue"]))
    with pytest.raises(ValueError, match="date range is empty"):
        Filters(since=date(2026, 3, 1), until=date(2026, 2, 1))


def test_last_week_relative_to_as_of(corpus_desk) -> None:
    r = corpus_desk.search("What did Anthropic release last week?", as_of=date(2026, 2, 25), k=5)
    assert "Anthropic releases Sonnet 4.6" in ids(r)  # MiniLM ranks its link-list body low, but it is there
    assert all(20260216 <= h.chunk.date_int <= 20260225 for h in r.hits)
    assert r.window and r.window.startswith("2026-02-16 to 2026-02-25") and "last week" in r.window
    # The same question a month later looks at a different week.
    later = corpus_desk.search("What did Anthropic release last week?", as_of=date(2026, 3, 18), k=5)
    assert all(20260309 <= h.chunk.date_int <= 20260318 for h in later.hits)


def test_since_the_previous_issue_and_as_of_hides_later_stories(corpus_desk) -> None:
    r = corpus_desk.search("What happened in Musk's case against OpenAI since the previous issue?",
                           as_of=date(2026, 5, 27), k=5)
    assert ids(r)[0].startswith("Elon Musk Loses $150 Billion Suit")
    assert all(h.chunk.date_int >= 20260505 for h in r.hits)
    early = corpus_desk.search("OpenAI funding", as_of=date(2026, 2, 20), k=10)
    assert early.hits and all(0 < h.chunk.date_int <= 20260220 for h in early.hits)
    assert early.window and "as of 2026-02-20" in early.window and "recent stories weighted up" in early.window


def test_recency_prefers_the_latest_of_look_alike_stories(corpus_desk) -> None:
    question = "How many pull requests were merged in the Rust project?"
    plain = corpus_desk.retriever.run(corpus_desk.retriever.plan(question, time_aware=False),
                                      corpus_desk.embedder.encode_one(question), k=4)
    recent = corpus_desk.search(question, as_of=date(2026, 8, 13), k=4)
    assert recent.hits[0].chunk.headline == "Updates from the Rust Project"
    assert recent.hits[0].chunk.issue_id == "this-week-in-rust--2026-08-12-this-week-in-rust"
    assert plain.window is None and {h.chunk.headline for h in plain.hits} >= {"Updates from the Rust Project"}


def test_no_story_twice(corpus_desk) -> None:
    r = corpus_desk.search("OpenAI GPT-5.4 launch", k=8)
    stories = [h.chunk.story_id for h in r.hits]
    assert len(stories) == len(set(stories)) == 8


def test_llamaindex_retriever_interface(corpus_desk) -> None:
    retriever = corpus_desk.retriever
    retriever.filters, retriever.as_of = Filters(sources=["Last Week in AI"]), date(2026, 3, 20)
    try:
        nodes = retriever.retrieve("Anthropic sues the Trump administration")
    finally:
        retriever.filters, retriever.as_of = None, None
    assert nodes and nodes[0].node.metadata["headline"] == "Anthropic sues Trump administration in AI dispute with Pentagon"
    assert all(n.node.metadata["source_name"] == "Last Week in AI" for n in nodes)


def test_reranker_hook_with_a_real_cross_encoder_class(corpus_desk) -> None:
    """No trained cross-encoder ships offline, so this loads the bundled MiniLM weights as a CrossEncoder (its
    scoring head is untrained): it proves the plumbing (load, score, reorder), not a quality gain."""
    from assistant.embedding.encoder import default_model_path
    from assistant.retrieval.rerank import CrossEncoderReranker, RerankerError

    reranker = CrossEncoderReranker(str(default_model_path()), top_n=5)
    base = corpus_desk.retriever
    hooked = HybridRetriever(readers=base.readers, embedder=base.embedder, top_k=5, reranker=reranker,
                             recency_weight=0.0)
    question = "Which company will supply HBM4 memory for AMD?"
    result = hooked.search(question, k=5)
    texts = [h.chunk.text for h in result.hits]
    # The hits come back ordered by the cross-encoder's own scores, which replace the fused ones.
    assert [h.score for h in result.hits] == pytest.approx(reranker.scores(question, texts).tolist(), abs=1e-5)
    assert all(a.score >= b.score for a, b in zip(result.hits, result.hits[1:], strict=False))
    plain = {h.chunk.story_id for h in base.search(question, k=10).hits}
    assert {h.chunk.story_id for h in result.hits} <= plain  # it reorders candidates, it invents none
    with pytest.raises(RerankerError, match="cannot load reranker"):
        CrossEncoderReranker("/nonexistent/cross-encoder").scores("q", ["a"])


def test_a_question_naming_an_issue_number_searches_that_issue(corpus_desk) -> None:
    # Last Week in AI #338 is dated 2026-03-16; "OpenAI" is in most issues of the bundled corpus.
    r = corpus_desk.search("What did issue #338 say about OpenAI?", k=6)
    assert r.hits and {h.chunk.issue_id for h in r.hits} == {"last-week-in-ai--2026-03-16-338"}
    plan = corpus_desk.retriever.plan("What did issue #338 say about OpenAI?")
    assert plan.text == "What did say about OpenAI?" and plan.filters and plan.filters.issues
    # A number no issue carries changes nothing.
    unknown = corpus_desk.retriever.plan("What did issue #9999 say about OpenAI?")
    assert not (unknown.filters and unknown.filters.issues)
    assert len({h.chunk.issue_id for h in corpus_desk.search("What did OpenAI announce?", k=6).hits}) > 1


def test_every_candidate_is_ranked_with_its_real_cosine(corpus_desk) -> None:
    # A BM25 hit that the approximate vector search did not return used to be fused as cosine 0; now each gets
    # its own (exact) cosine, so the fused order does not depend on which of two searches found a chunk.
    for question in ("What did AMD announce about HBM4?", "Which crate was crate of the week?",
                     "How many pull requests were merged in the Rust project?", "Anthropic Pentagon designation"):
        hits = corpus_desk.search(question, k=8).hits
        assert hits and all(h.dense is not None and h.dense > 0.0 for h in hits), question


def test_a_named_release_anchors_the_question_and_ranks_its_stories(corpus_desk) -> None:
    question = "What did early testers say about Opus 4.5?"
    plan = corpus_desk.retriever.plan(question, as_of=date(2026, 5, 27))
    assert plan.frame is not None and plan.frame.recency and not plan.recency  # the release dates it, not "now"
    assert corpus_desk.retriever.plan("How many Covid-19 tests can households order?").recency  # a name, no date
    hits = corpus_desk.search(question, as_of=date(2026, 5, 27), k=4).hits
    assert "Opus 4.5" in hits[0].chunk.text
    # Without the ordering, the release's story still comes back, as a candidate.
    plain = HybridRetriever(readers=corpus_desk.readers, embedder=corpus_desk.embedder, named_first=False)
    assert any("Opus 4.5" in h.chunk.text for h in plain.search(question, as_of=date(2026, 5, 27), k=6).hits)
