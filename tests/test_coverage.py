"""Archive search and the coverage timeline (assistant/archive/), and `newsdesk search` / `newsdesk coverage`."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from assistant.archive.catalog import example_questions, question_for
from assistant.archive.search import ArchiveHit, SortOrder, sort_hits
from assistant.archive.timeline import build_coverage
from assistant.config import Settings
from assistant.records import Filters
from tests.conftest import run_cli

HBM4_HEADLINE = "AMD + Samsung: HBM4 for the MI455X"


def hit(day: str | None, score: float, issue: str = "i1", headline: str = "h") -> ArchiveHit:
    return ArchiveHit(story_id=f"{issue}#{headline}", issue_id=issue, issue=issue.upper(), date=day,
                      headline=headline, url=None, snippet="", score=score, source="S", section="", kind="newsletter")


@pytest.fixture(scope="module")
def desk(seed_index: Settings, embedder: Any) -> Any:
    from assistant.pipeline import Newsdesk

    d = Newsdesk(seed_index)
    d.__dict__["embedder"] = embedder
    return d


def test_a_mention_needs_every_word(desk: Any) -> None:
    found = desk.archive("Samsung HBM4")
    assert found.exact and found.total == 1 and found.hits[0].headline == HBM4_HEADLINE
    assert found.terms == ["samsung", "hbm4"]
    assert "HBM4" in found.hits[0].snippet

    missing = desk.archive("HBM4 zebra")  # one word no story holds: no mentions, closest stories instead
    assert not missing.exact and missing.total == 0 and missing.hits
    assert desk.coverage("HBM4 zebra").total == 0


def test_quoted_phrases_must_appear_as_written(desk: Any) -> None:
    assert desk.archive('"primary HBM4 supplier"').total == 1
    assert desk.archive('"HBM4 primary supplier"').total == 0


def test_filters_apply_and_undated_stories_are_counted_apart(desk: Any) -> None:
    cov = desk.coverage("HBM4")
    assert (cov.total, cov.undated, cov.weeks, cov.first_mention) == (1, 1, [], None)
    assert [i.stories for i in cov.issues] == [1]
    # A date range leaves undated stories out.
    assert desk.archive("HBM4", filters=Filters(since=date(2026, 1, 1))).total == 0
    assert desk.archive("HBM4", filters=Filters(sources=["clustermind"])).total == 1  # any case
    with pytest.raises(ValueError, match="unknown source 'Nobody'; the index has: Clustermind"):
        desk.archive("HBM4", filters=Filters(sources=["Nobody"]))


def test_timeline_fills_empty_weeks_and_finds_first_and_last_mention() -> None:
    hits = [hit("2026-01-07", 0.5, "a", "wed"), hit("2026-01-05", 0.4, "a", "mon"),
            hit("2026-01-21", 0.9, "b", "late"), hit(None, 0.7, "c", "undated")]
    cov = build_coverage("q", ["q"], hits)
    assert [(w.week.isoformat(), w.stories) for w in cov.weeks] == [
        ("2026-01-05", 2), ("2026-01-12", 0), ("2026-01-19", 1)]
    assert cov.first_mention is not None and cov.first_mention.headline == "mon"
    assert cov.last_mention is not None and cov.last_mention.headline == "late"
    assert (cov.total, cov.undated) == (4, 1)
    assert [(i.issue_id, i.stories) for i in cov.issues] == [("a", 2), ("b", 1), ("c", 1)]  # by date, undated last
    assert cov.to_json()["weeks"][1] == {"week": "2026-01-12", "stories": 0}


def test_sorting_by_date_keeps_relevance_within_a_day_and_undated_last() -> None:
    hits = [hit("2026-01-02", 0.2, headline="old"), hit(None, 0.9, headline="nodate"),
            hit("2026-02-01", 0.3, headline="new-low"), hit("2026-02-01", 0.8, headline="new-high")]
    newest = [h.headline for h in sort_hits(hits, SortOrder.NEWEST)]
    oldest = [h.headline for h in sort_hits(hits, SortOrder.OLDEST)]
    relevance = [h.headline for h in sort_hits(hits, SortOrder.RELEVANCE)]
    assert newest == ["new-high", "new-low", "old", "nodate"]
    assert oldest == ["old", "new-high", "new-low", "nodate"]
    assert relevance == ["nodate", "new-high", "new-low", "old"]
    assert SortOrder.parse("date") is SortOrder.NEWEST
    with pytest.raises(ValueError, match="relevance, newest or oldest"):
        SortOrder.parse("alphabetical")


def test_example_questions_come_from_recent_headlines_of_every_source() -> None:
    assert question_for("OpenAI Unveils Its New, More Powerful GPT-5.5 Model - The New York Times") == \
        "What happened with “OpenAI Unveils Its New, More Powerful GPT-5.5 Model”?"
    for listing in ("2026-09-08 | Paris, FR | Rust Paris", "The Embedded Rustacean Issue #78", "Rust", "1234"):
        assert question_for(listing) is None
    metas = [
        {"story_id": "a#0", "chunk_index": 0, "date_int": 20260101, "issue_id": "a", "story_index": 0,
         "source_name": "A", "headline": "An old story from source A here"},
        {"story_id": "b#0", "chunk_index": 0, "date_int": 20260301, "issue_id": "b", "story_index": 0,
         "source_name": "A", "headline": "A newer story from source A here"},
        {"story_id": "c#0", "chunk_index": 0, "date_int": 20260201, "issue_id": "c", "story_index": 0,
         "source_name": "B", "headline": "The only story from source B here"},
    ]
    assert example_questions(metas, n=2) == ["What happened with “A newer story from source A here”?",
                                             "What happened with “The only story from source B here”?"]


@pytest.mark.slow
def test_cli_search_and_coverage(seed_index: Settings) -> None:
    index = str(seed_index.index_dir)
    found = run_cli("search", "Samsung HBM4", "--json", "--index-dir", index)
    assert found.returncode == 0, found.stderr
    data = json.loads(found.stdout)
    assert data["total"] == 1 and data["hits"][0]["headline"] == HBM4_HEADLINE

    cov = run_cli("coverage", "HBM4", "--index-dir", index, "--source", "Clustermind")
    assert cov.returncode == 0, cov.stderr
    assert "1 story in 1 issue, 1 undated" in cov.stdout and "issues that covered it:" in cov.stdout

    bad = run_cli("coverage", "HBM4", "--since", "2026-05-01", "--until", "2026-01-01", "--index-dir", index)
    assert bad.returncode != 0 and "date range is empty" in bad.stderr and "Traceback" not in bad.stderr



class TestNames:
    def test_multi_word_names_are_found_with_their_words_together(self) -> None:
        from assistant.archive.search import _in_order_near, is_name

        for term in ("Rust GPU", "React Forget", "Llama 3", "KubeCon India"):
            assert is_name(term), term
        # One word needs nothing more; a described topic is words, not a name.
        for term in ("Groq", "AMD's HBM4 deal", "the React compiler", "A B C D E"):
            assert not is_name(term), term
        assert _in_order_near(["see", "kubecon", "cloudnativecon", "india", "cfp"], ["kubecon", "india"])
        assert _in_order_near(["state", "of", "rust", "gpu", "programming"], ["rust", "gpu"])
        # "React Native ... don't forget to mention": the words are there, far apart.
        assert not _in_order_near(["react", "native", "role", "pay", "bonus", "dm", "don't", "forget", "mention"], ["react", "forget"])
        assert not _in_order_near(["gpu", "rust"], ["rust", "gpu"])

    def test_a_story_names_what_it_links_to(self) -> None:
        # LWKD 2025-01-12: "The main track CfPs for [India](https://events.linuxfoundation.org/kubecon-cloudnativecon-
        # india/program/cfp/) and [Japan](...) are also open." names KubeCon India only in its link.
        from assistant.archive.search import _mentions, _parse_query
        from assistant.records import Chunk
        from assistant.terms import new_stemmer

        def chunk(text: str, links: list[str]) -> Chunk:
            return Chunk(chunk_id="c", story_id="s", chunk_index=0, text=text, content_hash="h", issue_id="i",
                         issue_title="t", headline="Developer News", section="", story_index=0, date=None,
                         date_int=0, url=None, source_kind="newsletter", source_name="LWKD", links=links)

        stemmer = new_stemmer()
        query = _parse_query("KubeCon India", stemmer)
        query.near = True
        linked = chunk("Maintainer Track submissions for Kubecon China are now open. The main track CfPs for India "
                       "and Japan are also open.",
                       ["https://events.linuxfoundation.org/kubecon-cloudnativecon-india/program/cfp/"])
        together = chunk("KubeCon India is next month.", [])
        apart = chunk("Maintainer Track submissions for Kubecon China are now open. The main track CfPs for India "
                      "and Japan are also open.", ["https://example.com/cfp"])
        assert _mentions([linked, together, apart], query, stemmer) == [True, True, False]
        # A link's words are no continuation of the text: "... on KubeCon" + "india.example" is no mention.
        across = chunk("Notes on KubeCon", ["https://india.example/"])
        assert _mentions([across, together], query, stemmer) == [False, True]
