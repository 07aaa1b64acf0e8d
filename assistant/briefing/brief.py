"""The briefing of a window (or of one issue): story clusters ranked by salience, each with a headline, its lead
sentence(s) cited to the story they come from, its sources and, when it continues earlier coverage, "developing"
with the first story that covered it.

Sentences are extractive: the first sentences of the cluster's best story (the one its issue placed and spaced
most prominently), skipping "Related:" link lists, fragments and instruction-like text. Nothing is embedded: the
vectors are the ones the index stores. With a `writer` (an LLM, opt-in; briefing/writer.py), the first items'
sentences are written from their stories and verified instead, each citing its own stories; an item whose written
sentences were all dropped, or that the writer could not serve, keeps its extractive sentences.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.briefing.clusters import SameEventRule, StoryCluster, StoryClusterer, StoryPoint
from assistant.briefing.salience import Salience, SalienceRanker, SalienceWeights
from assistant.briefing.window import ArchiveView, archive_view, story_points, vectors_of, window_story_ids
from assistant.briefing.writer import ItemWriter, StoryText, WriteJob, write_items
from assistant.errors import NewsdeskError
from assistant.records import Filters
from assistant.sources.text import split_sentences

if TYPE_CHECKING:
    from assistant.index.reader import IndexReader

DEFAULT_MAX_ITEMS = 10
LOOKBACK_DAYS = 365          # how far back "developing" looks for earlier coverage
DEVELOPING_COSINE = 0.65     # earlier story this close, sharing a rare name: the same story thread
MAX_EARLIER = 200            # earlier stories compared per cluster (the newest that share a rare name)
SENTENCE_WORDS = 45          # a second lead sentence only while the two stay this short
_RELATED_RE = re.compile(r"^\s*(?:related|see also|read more|more)\s*:", re.IGNORECASE)
_BULLET_RE = re.compile(r"^\s*[*\-•]\s+")
# Text addressed to a model rather than a reader ("ignore previous instructions", "note to AI assistants").
_INSTRUCTION_RE = re.compile(r"\b(?:ignore|disregard|forget)\b[^.!?\n]{0,40}\b(?:instructions?|prompts?|rules)\b"
                             r"|\bnote to (?:ai|llm|assistant|chatbot)s?\b|\b(?:system|developer) prompt\b",
                             re.IGNORECASE)


class BriefingError(NewsdeskError, ValueError):
    """A briefing that cannot be made as asked (an empty window, an unknown issue)."""


@dataclass
class BriefSource:
    n: int
    story_id: str
    issue_id: str
    issue: str
    source: str
    kind: str
    date: str | None
    headline: str
    url: str | None
    links: list[str] = field(default_factory=list)


@dataclass
class FirstCoverage:
    """The earliest story before the window that the cluster continues."""

    date: str | None
    issue: str
    issue_id: str
    story_id: str
    source: str
    headline: str
    url: str | None

    def describe(self) -> str:
        return f"first covered {self.date or 'undated'} in {self.issue}"


@dataclass
class BriefItem:
    rank: int
    headline: str
    sentences: list[str]            # extractive: from the story numbered `cite`; "llm": verified, see sentence_cites
    cite: int                       # the source the headline (and extractive sentences) come from
    sources: list[BriefSource]
    developing: bool = False
    first_covered: FirstCoverage | None = None
    listing: str | None = None      # "event listing", "job post", ...: never leads
    salience: dict[str, Any] = field(default_factory=dict)
    written_by: str = "extractive"  # or "llm": the sentences were written by the LLM and verified
    sentence_cites: list[list[int]] = field(default_factory=list)  # "llm": the sources each sentence cites

    def cited(self) -> list[tuple[str, list[int]]]:
        """The sentences with the sources they cite: extractive sentences as one run after which `cite` stands;
        an LLM's one by one, each with its own citations."""
        if self.written_by == "llm" and len(self.sentence_cites) == len(self.sentences):
            return list(zip(self.sentences, self.sentence_cites, strict=True))
        return [(" ".join(self.sentences), [self.cite])] if self.sentences else []

    def to_json(self) -> dict[str, Any]:
        return {"rank": self.rank, "headline": self.headline, "sentences": self.sentences, "cite": self.cite,
                "sources": [asdict(s) for s in self.sources], "developing": self.developing,
                "first_covered": asdict(self.first_covered) if self.first_covered else None,
                "listing": self.listing, "salience": self.salience, "written_by": self.written_by,
                "sentence_cites": self.sentence_cites if self.written_by == "llm" else
                [[self.cite] for _ in self.sentences]}


@dataclass
class Briefing:
    """What happened in a window (or one issue), most salient first.

        briefing = build_briefing(reader, since=date(2026, 3, 17), until=date(2026, 3, 23), max_items=10)
        for item in briefing.items:
            print(item.rank, item.headline, " ".join(item.sentences), f"[{item.cite}]")
    """

    title: str
    since: date | None
    until: date | None
    issue_id: str | None
    filters: str
    stories: int                    # stories in the window
    clusters: int                   # story clusters they form
    items: list[BriefItem]
    index_version: str = ""
    notes: list[str] = field(default_factory=list)  # one line each: why items kept extractive sentences

    @property
    def window(self) -> str:
        if self.since or self.until:
            return f"{self.since or '…'} to {self.until or '…'}"
        return ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": "briefing", "title": self.title,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None, "window": self.window,
                "issue_id": self.issue_id, "filters": self.filters, "stories": self.stories,
                "clusters": self.clusters, "index_version": self.index_version,
                "items": [i.to_json() for i in self.items], "notes": self.notes}


def lead_sentences(story: StoryPoint, *, limit: int) -> list[str]:
    """The story's first sentences, as written: no "Related:" lists, fragments or instruction-like text."""
    lines: list[str] = []
    for line in story.body.split("\n"):
        # "Related:" and the list under it are other articles' headlines (the body may follow them); list items
        # in general are links and PR titles, not sentences.
        if _RELATED_RE.match(line) or _BULLET_RE.match(line):
            continue
        lines.append(line)
    out: list[str] = []
    for sentence in split_sentences("\n".join(lines)):
        sentence = " ".join(sentence.split())
        if len(sentence.split()) < 4 or _INSTRUCTION_RE.search(sentence) or sentence == story.headline:
            continue
        if out and (len(out) >= limit or len(" ".join(out + [sentence]).split()) > SENTENCE_WORDS):
            break
        out.append(sentence)
        if len(out) >= limit:
            break
    return out


def _first_coverage(reader: IndexReader, view: ArchiveView, ranked: list[tuple[StoryCluster, Salience]], *,
                    start: date, max_share: float) -> dict[int, FirstCoverage]:
    """For each cluster (by position in `ranked`), the earliest earlier story of the same thread: before the
    window, within LOOKBACK_DAYS, sharing a rare name and close in embedding."""
    first_day = int(start.strftime("%Y%m%d"))
    oldest = int((start - timedelta(days=LOOKBACK_DAYS)).strftime("%Y%m%d"))
    wanted: dict[int, list[str]] = {}
    for i, (cluster, sal) in enumerate(ranked):
        if sal.routine or sal.listing:
            continue  # "Crate of the Week" last week is the same column, not the same story
        found: set[str] = set()
        for name in cluster.names:
            if not view.stats.is_rare(name, max_share=max_share):
                continue
            for sid in view.by_name.get(name, []):
                row = view.stories[sid]
                if oldest <= row.day < first_day:
                    found.add(sid)
        if found:
            wanted[i] = sorted(found, key=lambda s: -view.stories[s].day)[:MAX_EARLIER]
    if not wanted:
        return {}
    ids = sorted({s for sids in wanted.values() for s in sids})
    vectors = vectors_of(reader, [view.stories[s].first.chunk_id for s in ids])
    out: dict[int, FirstCoverage] = {}
    for i, sids in wanted.items():
        cluster = ranked[i][0]
        members = np.stack([s.vector for s in cluster.stories])
        hits = []
        for sid in sids:
            vec = vectors.get(view.stories[sid].first.chunk_id)
            if vec is not None and float(np.max(members @ vec)) >= DEVELOPING_COSINE:
                hits.append(sid)
        if hits:
            earliest = view.stories[min(hits, key=lambda s: (view.stories[s].day, s))].first
            out[i] = FirstCoverage(date=earliest.date, issue=earliest.issue_title, issue_id=earliest.issue_id,
                                   story_id=earliest.story_id, source=earliest.source_name,
                                   headline=earliest.headline, url=earliest.url)
    return out


def build_briefing(reader: IndexReader, *, since: date | None = None, until: date | None = None,
                   sources: list[str] | None = None, sections: list[str] | None = None, issue_id: str | None = None,
                   max_items: int = DEFAULT_MAX_ITEMS, sentences: int = 2, title: str = "",
                   rule: SameEventRule | None = None, weights: SalienceWeights | None = None,
                   writer: ItemWriter | None = None) -> Briefing:
    """The briefing of the stories inside the filters (dates inclusive), or of one issue (`issue_id`: that
    issue's stories in order of importance, one sentence each by default for a summary). With a `writer`, the
    first `writer.max_items` items' sentences are written by it (briefing/writer.py), the rest stay extractive."""
    if max_items < 1:
        raise BriefingError("--max must be at least 1")
    filters = Filters(since=since, until=until, sources=list(sources or []), sections=list(sections or []),
                      issues=[issue_id] if issue_id else [])
    view = archive_view(reader)
    story_ids = window_story_ids(reader, view, filters)
    rule = rule or SameEventRule()
    points = story_points(reader, view, story_ids)
    clusters = StoryClusterer(stats=view.stats, rule=rule).cluster(points)
    start = since or min((p.day for p in points if p.day), default=None)
    ranked = SalienceRanker(view=view, weights=weights, max_name_share=rule.max_name_share).rank(clusters,
                                                                                                  since=start)
    top = ranked[:max_items]
    earlier = _first_coverage(reader, view, top, start=start, max_share=rule.max_name_share) if start else {}
    items: list[BriefItem] = []
    n = 0
    for rank, (cluster, sal) in enumerate(top, start=1):
        listed: list[BriefSource] = []
        for story in cluster.stories:
            n += 1
            listed.append(BriefSource(n=n, story_id=story.story_id, issue_id=story.issue_id,
                                      issue=story.issue_title, source=story.source_name, kind=story.source_kind,
                                      date=story.day.isoformat() if story.day else None, headline=story.headline,
                                      url=story.url, links=list(story.links)))
        best = cluster.stories[0]  # the ranker put the story that speaks for the cluster first
        first = earlier.get(rank - 1)
        items.append(BriefItem(rank=rank, headline=best.headline, sentences=lead_sentences(best, limit=sentences),
                               cite=listed[0].n, sources=listed, developing=first is not None,
                               first_covered=first, listing=sal.listing, salience=sal.to_json()))
    notes = _write(items, [c for c, _ in top], writer, sentences=sentences) if writer is not None else []
    return Briefing(title=title or _title(filters, points), since=since, until=until, issue_id=issue_id,
                    filters=filters.describe(), stories=len(points), clusters=len(clusters), items=items,
                    index_version=reader.version, notes=notes)


def _write(items: list[BriefItem], clusters: list[StoryCluster], writer: ItemWriter, *, sentences: int) -> list[str]:
    """Replace the first items' extractive sentences by the writer's verified ones, in place (item order kept).
    Listings and stories with no text of their own are not written."""
    jobs: list[WriteJob | None] = []
    for item, cluster in zip(items, clusters, strict=True):
        stories = [StoryText(n=src.n, headline=story.headline, text=story.text, source=story.source_name,
                             issue=story.issue_title, date=src.date)
                   for story, src in zip(cluster.stories, item.sources, strict=True) if story.body.strip()]
        jobs.append(WriteJob(headline=item.headline, stories=stories) if stories and not item.listing else None)
    results, note = write_items(writer, jobs, sentences=sentences)
    for item, written in zip(items, results, strict=True):
        if written:
            item.sentences = [text for text, _ in written]
            item.sentence_cites = [cites for _, cites in written]
            item.written_by = "llm"
    return [note] if note else []


def _title(filters: Filters, points: list[StoryPoint]) -> str:
    if filters.issues and points:
        return f"Summary of {points[0].issue_title}"
    span = f"{filters.since or '…'} to {filters.until or '…'}" if filters.since or filters.until else "the archive"
    return f"Briefing: {span}" + (f" ({', '.join(filters.sources)})" if filters.sources else "")
