"""Briefing sentences written by a real LLM: llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct (the
session's `llm_server`, tests/answer/conftest.py), the real MiniLM verifier and the bundled corpus index. Whatever
the small model writes, every item's sentences are either verified LLM sentences citing the item's own stories, or
its extractive sentences; the order, headlines and sources are the extractive briefing's."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.answer.verify import Claim, Passage, Verifier
from assistant.briefing.brief import Briefing
from assistant.briefing.request import brief
from assistant.config import Settings
from assistant.pipeline import Newsdesk
from tests.answer.conftest import llm_server  # noqa: F401 - the llama.cpp server fixture, shared with tests/answer

WEEK_339 = {"since": date(2026, 3, 17), "until": date(2026, 3, 23)}


@pytest.fixture(scope="module")
def llm_desk(corpus_index: Settings, llm_server: str, embedder) -> Newsdesk:  # noqa: F811
    # Small prompts, as in tests/answer: the model runs at ~10-20 tokens/s on 2 cores. Five items are written.
    settings = corpus_index.model_copy(update={
        "answer_mode": "openai", "llm_base_url": f"{llm_server}/v1", "llm_model": "smollm2", "llm_sources": 2,
        "llm_source_words": 60, "llm_max_tokens": 70, "llm_temperature": 0.0, "brief_llm_timeout": 300.0,
        "brief_llm_items": 5})
    desk = Newsdesk(settings)
    desk.__dict__["embedder"] = embedder
    return desk


def test_items_are_verified_llm_sentences_or_the_extractive_ones(llm_desk: Newsdesk, embedder) -> None:
    reader = llm_desk.readers.get()
    extractive = brief(reader, **WEEK_339, max_items=6)
    writer = llm_desk.brief_writer()
    assert writer is not None and writer.max_items == 5
    briefing: Briefing = brief(reader, **WEEK_339, max_items=6, writer=writer)
    assert writer.stats.calls == 5 and writer.stats.failures == 0, writer.stats
    assert [(i.headline, [s.story_id for s in i.sources]) for i in briefing.items] == \
        [(i.headline, [s.story_id for s in i.sources]) for i in extractive.items]
    assert briefing.items[5].written_by == "extractive"  # beyond NEWSDESK_BRIEF_LLM_ITEMS
    leads = llm_desk.story_leads([s.story_id for i in briefing.items for s in i.sources])
    verifier = Verifier(embedder=embedder)
    for got, plain in zip(briefing.items, extractive.items, strict=True):
        if got.written_by == "extractive":
            assert got.sentences == plain.sentences and got.sentence_cites == []
            continue
        own = {s.n: s for s in got.sources}
        assert 1 <= len(got.sentences) <= 2 and len(got.sentence_cites) == len(got.sentences)
        for sentence, cites in zip(got.sentences, got.sentence_cites, strict=True):
            assert cites and set(cites) <= set(own), (sentence, cites, list(own))
            # Checked again, independently: each sentence is supported by the stories it cites.
            passages = {n: Passage(n=n, text=leads[own[n].story_id].text,
                                   meta=f"{own[n].headline} {own[n].issue} {own[n].source} {own[n].date or ''}")
                        for n in cites}
            check = verifier.check(Claim(text=sentence, cites=list(cites)), passages)
            assert check.supported, (sentence, check.reason)
    print(f"SmolLM2: {writer.stats.kept} of {writer.stats.written} sentences kept; "
          f"{sum(i.written_by == 'llm' for i in briefing.items)} of 5 items written; {writer.stats.seconds:.1f} s")


def test_server_down_gives_the_extractive_briefing_and_a_note(llm_desk: Newsdesk) -> None:
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/v1"
    down = Newsdesk(llm_desk.settings.model_copy(update={"llm_base_url": url}))
    down.__dict__["embedder"] = llm_desk.embedder
    briefing = down.brief(**WEEK_339, max_items=6)
    extractive = llm_desk.brief(**WEEK_339, max_items=6, mode="extractive")
    assert [i.sentences for i in briefing.items] == [i.sentences for i in extractive.items]
    assert briefing.notes == [f"note: extractive sentences for items 1-5: the LLM server at {url} failed: "
                              "Connection error"]
