"""Hybrid retrieval: dense (Chroma) + BM25, score fusion, filters, time awareness, an optional cross-encoder, and
diversity (one chunk per story, near-duplicates once).

`HybridSearch` is the search itself; `HybridRetriever` (retrieval/retriever.py), the one the app and the
evaluation use, is the same search as a LlamaIndex retriever. Kept apart so that a cold `newsdesk ask`, which
searches with `HybridSearch`, does not import LlamaIndex (~0.8 s of CPU)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from assistant.embedding import Encoder
from assistant.errors import NewsdeskError
from assistant.index.reader import ReaderCache
from assistant.records import Filters, ScoredChunk
from assistant.retrieval.calendar import ArchiveCalendar
from assistant.retrieval.issueref import IssueRef, issue_refs, matching_issues
from assistant.retrieval.rerank import CrossEncoderReranker
from assistant.retrieval.timeframe import TimeFrame, recency_bonus, resolve
from assistant.retrieval.versions import NamedVersion, release_pattern, releases

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.index.reader import IndexReader

# The recent-window candidate query reaches back this many half-lives (the bonus is then below 1/16).
RECENT_HALF_LIVES = 4.0
# Chunks holding every word of a question's release ("Kubernetes 1.24") checked for its exact wording.
NAMED_LEXICAL_K = 400


class FilterError(NewsdeskError, ValueError):
    """A filter that names something the index does not hold; the message lists what it does hold."""


@dataclass
class SearchResult:
    query: str
    hits: list[ScoredChunk]
    query_vector: np.ndarray
    filters: Filters | None = None
    window: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def best_dense(self) -> float:
        return max((h.dense for h in self.hits if h.dense is not None), default=-1.0)


@dataclass
class ArchiveInfo:
    """Per index version: what filters may name and the dates time phrases need. Built once per version."""

    version: str
    sources: dict[str, str]   # lower-cased -> as stored
    sections: dict[str, str]
    issues: set[str]
    calendar: ArchiveCalendar
    # newsletter issue id -> (title, source): how a question's "issue 540" finds its issue
    issue_titles: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def build(cls, reader: IndexReader) -> ArchiveInfo:
        rows = reader.lexical.corpus
        sources: dict[str, str] = {}
        sections: dict[str, str] = {}
        issues: set[str] = set()
        issue_dates: dict[str, tuple[date, str, str]] = {}
        titles: dict[str, tuple[str, str]] = {}
        latest = 0
        days: set[int] = set()
        for row in rows:
            source, section, issue = str(row.get("source_name", "")), str(row.get("section", "")), \
                str(row.get("issue_id", ""))
            sources.setdefault(source.lower(), source)
            if section:
                sections.setdefault(section.lower(), section)
            issues.add(issue)
            day = int(row.get("date_int", 0) or 0)
            latest = max(latest, day)
            if day:
                days.add(day)
            if row.get("source_kind", "newsletter") == "newsletter" and issue not in titles:
                titles[issue] = (str(row.get("issue_title", "")), source)
                if day:
                    issue_dates[issue] = (_from_int(day), issue, source)

        def mentions(term: str) -> list[date]:
            # Exact word match (case-sensitive for names like "GTC") among BM25's best matches for the term.
            pattern = re.compile(rf"(?<!\w){re.escape(term)}(?!\w)", 0 if term != term.lower() else re.I)
            return [_from_int(h.chunk.date_int) for h in reader.search_lexical(term, k=100)
                    if h.chunk.date_int and pattern.search(h.chunk.text)]

        calendar = ArchiveCalendar(issue_dates=sorted(issue_dates.values()),
                                   latest=_from_int(latest) if latest else None,
                                   days=sorted({_from_int(d).toordinal() for d in days}), sources=set(sources),
                                   mentions=mentions)
        return cls(version=reader.version, sources=sources, sections=sections, issues=issues, calendar=calendar,
                   issue_titles=titles)

    def named_issue(self, question: str, sources: list[str] | None) -> tuple[str, IssueRef] | None:
        """The one issue a question names by number ("in issue 540"), among the given sources; else None."""
        wanted = {s.lower() for s in sources or []}
        titles = {iid: title for iid, (title, source) in self.issue_titles.items()
                  if not wanted or source.lower() in wanted}
        for ref in issue_refs(question):
            hits = matching_issues(ref.number, titles)
            if len(hits) == 1:
                return hits[0], ref
        return None


def _from_int(value: int) -> date:
    return date(value // 10000, value // 100 % 100, value % 100)


@dataclass
class QueryPlan:
    """Everything decided before touching the vectors: the effective filters, the time frame, the text."""

    query: str
    text: str
    filters: Filters | None
    frame: TimeFrame | None
    reader: Any
    recency: bool
    releases: list[NamedVersion] = field(default_factory=list)  # "Kubernetes 1.24" (versions.py)


class HybridSearch:
    """Dense and lexical candidates fused by a weighted sum of the cosine and the max-normalised BM25 score,
    plus a bounded recency bonus toward the as-of date when the question names no time.

    Plain RRF loses to dense alone on news (measured, README); a small lexical weight keeps dense's ranking
    and lets exact names and numbers break ties."""

    def __init__(self, *, readers: ReaderCache, embedder: Encoder, top_k: int = 6, candidates: int = 40,
                 lexical_weight: float = 0.2, recency_weight: float = 0.15, recency_half_life_days: float = 14.0,
                 per_story: int = 1, reranker: CrossEncoderReranker | None = None, recent_pass: bool = True,
                 named_first: bool = True) -> None:
        if top_k < 1 or candidates < top_k:
            raise ValueError("need 1 <= top_k <= candidates")
        for name, value in (("lexical_weight", lexical_weight), ("recency_weight", recency_weight)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if recency_half_life_days <= 0:
            raise ValueError("recency_half_life_days must be > 0")
        super().__init__()  # LlamaIndex's BaseRetriever in HybridRetriever (retrieval/retriever.py)
        self.readers = readers
        self.embedder = embedder
        self.top_k = top_k
        self.candidates = candidates
        self.lexical_weight = lexical_weight
        self.recency_weight = recency_weight
        self.half_life = recency_half_life_days
        self.per_story = per_story
        self.reranker = reranker
        self.recent_pass = recent_pass
        self.named_first = named_first
        self.filters: Filters | None = None
        self.as_of: date | None = None
        self._info: ArchiveInfo | None = None
        self._info_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, *, readers: ReaderCache, embedder: Encoder) -> Self:
        reranker = (CrossEncoderReranker(settings.reranker, top_n=settings.rerank_top_n,
                                         device=settings.embed_device) if settings.reranker else None)
        return cls(readers=readers, embedder=embedder, top_k=settings.top_k,
                   candidates=max(40, settings.top_k, settings.rerank_top_n if reranker else 0),
                   lexical_weight=settings.lexical_weight, recency_weight=settings.recency_weight,
                   recency_half_life_days=settings.recency_half_life_days, reranker=reranker,
                   recent_pass=settings.recent_pass, named_first=settings.named_version_first)

    # ------------------------------------------------------------ planning
    def archive(self, reader: IndexReader) -> ArchiveInfo:
        with self._info_lock:
            if self._info is None or self._info.version != reader.version:
                self._info = ArchiveInfo.build(reader)
            return self._info

    def plan(self, query: str, *, filters: Filters | None = None, as_of: date | None = None,
             time_aware: bool = True) -> QueryPlan:
        reader = self.readers.get()
        info = self.archive(reader)
        filters = check_filters(filters, info)
        frame = resolve(query, as_of=as_of, archive=info.calendar,
                        sources=filters.sources if filters else None) if time_aware else None
        effective = _effective(filters, frame, info)
        text = frame.query if frame else query
        named = info.named_issue(text, filters.sources if filters else None) \
            if time_aware and not (filters and filters.issues) else None
        if named is not None:
            # The issue is the filter now; its number in the text would only pull in other issues' numbers.
            effective = replace(effective or Filters(), issues=[named[0]])
            text = " ".join(f"{text[:named[1].start]} {text[named[1].end:]}".split())
        user_dates = filters is not None and bool(filters.since or filters.until)
        recency = bool(frame and frame.recency and not user_dates and self.recency_weight > 0)
        # A question that names an issue or a release is anchored in time by it: no bonus for recent stories.
        named_releases = releases(text)
        return QueryPlan(query=query, text=text, filters=effective, frame=frame, reader=reader,
                         recency=recency and named is None and not named_releases, releases=named_releases)

    # ------------------------------------------------------------ searching
    def search(self, query: str, *, filters: Filters | None = None, k: int | None = None,
               as_of: date | None = None, query_vector: np.ndarray | None = None) -> SearchResult:
        plan = self.plan(query, filters=filters, as_of=as_of)
        vector = query_vector if query_vector is not None else self.embedder.encode_one(plan.text)
        return self.run(plan, vector, k=k)

    def run(self, plan: QueryPlan, vector: np.ndarray, *, k: int | None = None) -> SearchResult:
        k = k or self.top_k
        reader, eff = plan.reader, plan.filters
        dense = reader.dense(vector, k=self.candidates, filters=eff)
        lexical = reader.search_lexical(plan.text, k=self.candidates, filters=eff) if self.lexical_weight else []
        frame = plan.frame
        if plan.recency and frame is not None and self.recent_pass:
            # A recent story that only a bonus could lift must be a candidate first: in a large archive,
            # look-alike stories from other weeks fill the top of the unfiltered list. One more (filtered)
            # vector and BM25 query over the weeks where the bonus matters; skipped when that window holds no
            # story, or every story (then the first query already saw them all). Measured on RealTime QA:
            # +0.4 points Hits@5 for +7 ms p50 at 5k chunks (README "Retrieval"); NEWSDESK_RECENT_PASS=false.
            reach = int(RECENT_HALF_LIVES * self.half_life)
            recent = replace(eff or Filters(), since=frame.as_of - timedelta(days=reach), until=frame.as_of)
            cal = self.archive(reader).calendar
            whole = bool(cal.days) and recent.since is not None and recent.since.toordinal() <= cal.days[0]
            if cal.covers(recent.since, recent.until) and not whole:
                dense += reader.dense(vector, k=self.candidates, filters=recent)
                if self.lexical_weight:
                    lexical += reader.search_lexical(plan.text, k=self.candidates, filters=recent)
        release = release_pattern(plan.releases)
        named: list[str] = []
        if release is not None:
            # The release's own stories as candidates, whatever their length or wording (see versions.py).
            named = [c.chunk_id for v in plan.releases
                     for c in reader.lexical.containing(str(v), k=NAMED_LEXICAL_K, filters=eff)
                     if release.search(c.text)][: self.candidates]
        # Every candidate is fused with its real cosine. HNSW misses close chunks in archives full of
        # near-identical listings (measured: This Week in Rust's weekly meetup rows trap the graph search, so
        # a story at cosine 0.36 was absent from a top 40 whose best was 0.26); a BM25 hit it missed would
        # otherwise count as cosine 0.
        seen = {h.chunk.chunk_id for h in dense}
        unscored = list(dict.fromkeys(i for i in [*(h.chunk.chunk_id for h in lexical), *named] if i not in seen))
        if unscored:
            dense += reader.dense_among(vector, unscored)
        fused = fuse(dense, lexical, lexical_weight=self.lexical_weight)
        if release is not None and self.named_first:
            # A release is an identifier: the stories that name it come before every look-alike ("Kubernetes is
            # now built with Go 1.24.7" is closer to "the codename of Kubernetes 1.24" than the announcement).
            # A bonus of 0.15 or 0.3 left the announcement (cosine 0.49) under look-alikes at 0.67-0.75.
            fused.sort(key=lambda h: (not release.search(h.chunk.text), -h.score))
        bonus = np.zeros(len(fused))
        if plan.recency and frame is not None and fused:
            as_of_int = int(frame.as_of.strftime("%Y%m%d"))
            ages = np.array([(frame.as_of - _from_int(h.chunk.date_int)).days
                             if 0 < h.chunk.date_int <= as_of_int else 10_000 for h in fused], dtype=np.float64)
            bonus = recency_bonus(ages, weight=self.recency_weight, half_life_days=self.half_life)
            for hit, extra in zip(fused, bonus, strict=True):
                hit.score += float(extra)
            order = np.argsort([-h.score for h in fused], kind="stable")
            fused, bonus = [fused[i] for i in order], bonus[order]
        if self.reranker is not None and fused:
            fused = self._rerank(plan.text, fused, bonus)
        notes = list(frame.notes) if frame else []
        window = None
        if frame is not None:
            window = frame.describe(half_life_days=self.half_life if plan.recency else None,
                                    since=eff.since if eff else None, until=eff.until if eff else None)
        return SearchResult(query=plan.query, hits=diversify(fused, k=k, per_story=self.per_story),
                            query_vector=vector, filters=eff, window=window, notes=notes)

    def _rerank(self, text: str, fused: list[ScoredChunk], bonus: np.ndarray) -> list[ScoredChunk]:
        assert self.reranker is not None
        head = fused[: self.reranker.top_n]
        scores = self.reranker.scores(text, [h.chunk.text for h in head])
        for hit, s, extra in zip(head, scores, bonus[: len(head)], strict=True):
            hit.score = float(s) + float(extra)
        return sorted(head, key=lambda h: h.score, reverse=True) + fused[len(head):]


def _pick(values: list[str], known: dict[str, str], label: str) -> list[str]:
    out = []
    for value in values:
        found = known.get(value.strip().lower())
        if found is None:
            names = sorted(known.values())
            shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
            raise FilterError(f"unknown {label} {value!r}; the index has: {shown or 'none'}")
        out.append(found)
    return out


def check_filters(filters: Filters | None, info: ArchiveInfo) -> Filters | None:
    """Names are matched case-insensitively to what the index holds; an unknown one is a clear error."""
    if filters is None or filters.empty:
        return filters
    sources = _pick(filters.sources, info.sources, "source")
    sections = _pick(filters.sections, info.sections, "section")
    for issue in filters.issues:
        if issue not in info.issues:
            raise FilterError(f"unknown issue {issue!r}; `newsdesk stats` and the citations show issue ids")
    return replace(filters, sources=sources, sections=sections)


def _effective(filters: Filters | None, frame: TimeFrame | None, info: ArchiveInfo) -> Filters | None:
    """The user's filters intersected with the question's window; nothing after an explicit as-of date."""
    if frame is None:
        return filters
    base = filters or Filters()
    since, until = base.since, base.until
    if frame.window is not None:
        if frame.window.since:
            since = max(since, frame.window.since) if since else frame.window.since
        if frame.window.until:
            until = min(until, frame.window.until) if until else frame.window.until
    latest = info.calendar.latest
    # Answer as of that date: nothing published later. Skip the filter when nothing is later anyway, since a
    # filtered vector query costs more than an unfiltered one.
    later = (until is not None and until > frame.as_of) or (until is None and latest and latest > frame.as_of)
    if frame.explicit_as_of and later:
        until = frame.as_of
    if since and until and since > until:
        what = f"the question's window ({frame.window.label})" if frame.window else "the date range"
        raise FilterError(f"{what} and the filters leave no dates: {since} is after {until}")
    if since == base.since and until == base.until:
        return filters
    return replace(base, since=since, until=until)


def fuse(dense: list[ScoredChunk], lexical: list[ScoredChunk], *, lexical_weight: float) -> list[ScoredChunk]:
    by_id: dict[str, ScoredChunk] = {}
    for hit in dense:
        by_id.setdefault(hit.chunk.chunk_id, ScoredChunk(chunk=hit.chunk, score=0.0, dense=hit.dense))
    top_lex = max((h.lexical or 0.0 for h in lexical), default=0.0)
    for hit in lexical:
        entry = by_id.setdefault(hit.chunk.chunk_id, ScoredChunk(chunk=hit.chunk, score=0.0))
        entry.lexical = (hit.lexical or 0.0) / top_lex if top_lex > 0 else 0.0
    # A chunk seen only lexically gets a dense score below anything dense retrieved.
    floor = min((h.dense for h in dense if h.dense is not None), default=0.0)
    for entry in by_id.values():
        d = entry.dense if entry.dense is not None else floor - 0.05
        entry.score = (1.0 - lexical_weight) * d + lexical_weight * (entry.lexical or 0.0)
    return sorted(by_id.values(), key=lambda h: h.score, reverse=True)


_WORD_RE = re.compile(r"\w+")
NEAR_DUPLICATE = 0.9


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD_RE.findall(text.lower()))


def diversify(hits: list[ScoredChunk], *, k: int, per_story: int = 1) -> list[ScoredChunk]:
    """At most `per_story` chunks per story, and near-duplicates (the same item reprinted by another issue or
    feed, lightly edited: word-set Jaccard >= 0.9) only once, the best-scored copy. Weekly template items such
    as "Updates from the Rust Project" overlap by 0.76-0.87 but carry different facts, so they stay apart."""
    out: list[ScoredChunk] = []
    kept: list[frozenset[str]] = []
    per: dict[str, int] = {}
    for hit in hits:
        if per.get(hit.chunk.story_id, 0) >= per_story:
            continue
        words = _words(hit.chunk.text)
        if words and any(len(words & other) >= NEAR_DUPLICATE * len(words | other) for other in kept):
            continue
        per[hit.chunk.story_id] = per.get(hit.chunk.story_id, 0) + 1
        kept.append(words)
        out.append(hit)
        if len(out) >= k:
            break
    return out
