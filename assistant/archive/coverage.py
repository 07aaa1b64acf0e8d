"""Earlier coverage: archive search with filters and sorting, and the coverage timeline of a query.

A story *mentions* a query when it holds every query word (stemmed like the BM25 side, stopwords ignored) and
every "quoted phrase" as written. That rule is what editors can check by eye, and it keeps the timeline honest:
MiniLM's cosine on a two-word query is too flat to say where coverage starts and stops (measured on the corpus:
"Rust 2024 edition" scores 0.7+ against every Rust meetup listing). Dense similarity still ranks the mentions.
When nothing mentions every word, the search falls back to the closest stories by hybrid retrieval and says so;
the timeline then stays empty rather than plotting near misses.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from enum import Enum
from typing import TYPE_CHECKING, Any

import bm25s
import numpy as np

from assistant.records import Chunk, Filters, ScoredChunk
from assistant.sources.text import split_sentences

if TYPE_CHECKING:
    from assistant.index.reader import IndexReader
    from assistant.pipeline import Newsdesk

# The lexical side is asked for at most this many chunks holding any query word; mentions are found among them.
LEXICAL_DEPTH = 5000
SNIPPET_CHARS = 280
PHRASE_RE = re.compile(r"[\"“”]([^\"“”]{2,200})[\"“”]")


class SortOrder(str, Enum):
    RELEVANCE = "relevance"
    NEWEST = "newest"
    OLDEST = "oldest"

    @classmethod
    def parse(cls, value: str | SortOrder | None) -> SortOrder:
        if isinstance(value, SortOrder):
            return value
        key = (value or "relevance").strip().lower()
        aliases = {"date": cls.NEWEST, "recent": cls.NEWEST, "new": cls.NEWEST, "old": cls.OLDEST,
                   "score": cls.RELEVANCE}
        if key in aliases:
            return aliases[key]
        try:
            return cls(key)
        except ValueError:
            raise ValueError(f"unknown sort order {value!r}: use relevance, newest or oldest") from None


@dataclass
class ArchiveHit:
    story_id: str
    issue_id: str
    issue: str
    date: str | None
    headline: str
    url: str | None
    snippet: str
    score: float
    source: str
    section: str
    kind: str


@dataclass
class ArchiveResult:
    query: str
    terms: list[str]
    hits: list[ArchiveHit]
    total: int  # stories that mention the query (before the limit); 0 when `exact` is False
    exact: bool  # False: nothing mentions every word, `hits` are the closest stories instead
    sort: str
    filters: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "hits": [asdict(h) for h in self.hits]}


@dataclass
class WeekCount:
    week: date  # the Monday that starts the ISO week
    stories: int


@dataclass
class IssueCoverage:
    issue_id: str
    issue: str
    date: str | None
    source: str
    stories: int
    headlines: list[str]


@dataclass
class Coverage:
    query: str
    terms: list[str]
    filters: str
    total: int
    undated: int
    first_mention: ArchiveHit | None
    last_mention: ArchiveHit | None
    weeks: list[WeekCount]
    issues: list[IssueCoverage]

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query, "terms": self.terms, "filters": self.filters, "total": self.total,
            "undated": self.undated,
            "first_mention": asdict(self.first_mention) if self.first_mention else None,
            "last_mention": asdict(self.last_mention) if self.last_mention else None,
            "weeks": [{"week": w.week.isoformat(), "stories": w.stories} for w in self.weeks],
            "issues": [asdict(i) for i in self.issues],
        }


# ---------------------------------------------------------------- matching
@dataclass
class _Query:
    text: str
    terms: list[str]  # stemmed, stopwords removed, as the BM25 side tokenises
    phrases: list[str] = field(default_factory=list)


def _tokens(texts: list[str], stemmer: Any) -> list[list[str]]:
    out = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)
    return [list(t) for t in out]


def _parse_query(text: str, stemmer: Any) -> _Query:
    phrases = [p.strip().lower() for p in PHRASE_RE.findall(text) if p.strip()]
    terms = list(dict.fromkeys(_tokens([text], stemmer)[0]))
    return _Query(text=text, terms=terms, phrases=phrases)


def _mentions(chunks: list[Chunk], query: _Query, stemmer: Any) -> list[bool]:
    if not query.terms and not query.phrases:
        return [False] * len(chunks)
    need = set(query.terms)
    toks = _tokens([c.text for c in chunks], stemmer) if need else [[] for _ in chunks]
    out = []
    for chunk, words in zip(chunks, toks, strict=True):
        low = chunk.text.lower()
        out.append(need <= set(words) and all(p in low for p in query.phrases))
    return out


def _cosines(reader: IndexReader, ids: list[str], vector: np.ndarray) -> dict[str, float]:
    """Cosine of the query to chunks BM25 found, from the embeddings already stored (nothing re-embedded)."""
    out: dict[str, float] = {}
    for start in range(0, len(ids), 1000):
        got = reader.collection.get(ids=ids[start:start + 1000], include=["embeddings"])
        embeddings = got.get("embeddings")
        if embeddings is None:
            continue
        mat = np.asarray(embeddings, dtype=np.float32)
        if mat.size:
            for cid, sim in zip(got["ids"], mat @ vector, strict=True):
                out[cid] = float(sim)
    return out


def _snippet(chunk: Chunk, query: _Query, stemmer: Any) -> str:
    sentences = split_sentences(chunk.text)
    body = sentences[1:] if len(sentences) > 1 else sentences  # the first line is the headline
    body = [s for s in body if len(s.split()) >= 3] or body  # skip stray "." and "Related:" fragments
    if not body:
        return ""
    best = body[0]
    if query.terms:
        need = set(query.terms)
        overlap = [len(need & set(t)) for t in _tokens(body, stemmer)]
        best = body[int(np.argmax(overlap))]  # the first sentence with the most query words
    best = " ".join(best.split())
    return best if len(best) <= SNIPPET_CHARS else best[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _hit(chunk: Chunk, score: float, snippet: str) -> ArchiveHit:
    return ArchiveHit(story_id=chunk.story_id, issue_id=chunk.issue_id, issue=chunk.issue_title,
                      date=chunk.date, headline=chunk.headline, url=chunk.url, snippet=snippet,
                      score=round(float(score), 4), source=chunk.source_name, section=chunk.section,
                      kind=chunk.source_kind)


def find_mentions(desk: Newsdesk, query: str, *, filters: Filters | None = None) -> tuple[_Query, list[ArchiveHit]]:
    """Every story (best chunk per story) that mentions the query, most relevant first."""
    from assistant.retrieval.hybrid import check_filters

    text = desk.check_question(query)
    reader = desk.readers.get()
    # Source and section names as the chat takes them: any case; an unknown name is a clear error.
    filters = check_filters(filters, desk.retriever.archive(reader))
    lexical = reader.lexical
    stemmer = lexical.stemmer
    parsed = _parse_query(text, stemmer)
    if not parsed.terms and not parsed.phrases:
        return parsed, []
    depth = min(LEXICAL_DEPTH, max(len(lexical), 1))
    candidates = lexical.search(text, k=depth, filters=filters)
    chunks = [c.chunk for c in candidates]
    matched = [c for c, ok in zip(candidates, _mentions(chunks, parsed, stemmer), strict=True) if ok]
    if not matched:
        return parsed, []
    vector = desk.embedder.encode_one(text)
    cosines = _cosines(reader, [m.chunk.chunk_id for m in matched], vector)
    top_lex = max((m.lexical or 0.0 for m in matched), default=0.0) or 1.0
    # The same blend as HybridRetriever, so the archive and the chat rank alike.
    weight = desk.settings.lexical_weight
    best: dict[str, ScoredChunk] = {}
    for m in matched:
        cos = cosines.get(m.chunk.chunk_id, 0.0)
        m.dense = cos
        m.score = (1 - weight) * cos + weight * (m.lexical or 0.0) / top_lex
        kept = best.get(m.chunk.story_id)
        if kept is None or m.score > kept.score:
            best[m.chunk.story_id] = m
    ranked = sorted(best.values(), key=lambda h: h.score, reverse=True)
    return parsed, [_hit(h.chunk, h.score, _snippet(h.chunk, parsed, stemmer)) for h in ranked]


def sort_hits(hits: list[ArchiveHit], order: SortOrder) -> list[ArchiveHit]:
    if order is SortOrder.RELEVANCE:
        return sorted(hits, key=lambda h: h.score, reverse=True)
    dated = [h for h in hits if h.date]
    undated = [h for h in hits if not h.date]
    # Stable sorts: same-day stories keep their relevance order; undated stories go last either way.
    dated.sort(key=lambda h: h.score, reverse=True)
    dated.sort(key=lambda h: h.date or "", reverse=order is SortOrder.NEWEST)
    return dated + undated


def explore(desk: Newsdesk, query: str, *, filters: Filters | None = None,
            sort: str | SortOrder = SortOrder.RELEVANCE, limit: int = 50) -> tuple[ArchiveResult, Coverage]:
    """The archive results and the coverage timeline of one query, from one matching pass."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    order = SortOrder.parse(sort)
    parsed, hits = find_mentions(desk, query, filters=filters)
    described = filters.describe() if filters else ""
    terms = parsed.terms + parsed.phrases
    cov = build_coverage(parsed.text, terms, hits, filters=described)
    if hits:
        return ArchiveResult(query=parsed.text, terms=terms, hits=sort_hits(hits, order)[:limit], total=len(hits),
                             exact=True, sort=order.value, filters=described), cov
    # Nothing mentions every word: show the closest stories, clearly marked as such.
    result = desk.search(parsed.text, filters=filters, k=min(limit, 20))
    stemmer = desk.readers.get().lexical.stemmer
    close = [_hit(h.chunk, h.dense if h.dense is not None else h.score, _snippet(h.chunk, parsed, stemmer))
             for h in result.hits]
    return ArchiveResult(query=parsed.text, terms=terms, hits=sort_hits(close, order), total=0, exact=False,
                         sort=order.value, filters=described), cov


def search_archive(desk: Newsdesk, query: str, *, filters: Filters | None = None,
                   sort: str | SortOrder = SortOrder.RELEVANCE, limit: int = 50) -> ArchiveResult:
    return explore(desk, query, filters=filters, sort=sort, limit=limit)[0]


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def build_coverage(query: str, terms: list[str], hits: list[ArchiveHit], *, filters: str = "") -> Coverage:
    dated = [(date.fromisoformat(h.date), h) for h in hits if h.date]
    dated.sort(key=lambda pair: (pair[0], -pair[1].score))
    weeks: list[WeekCount] = []
    if dated:
        counts = Counter(monday(d) for d, _ in dated)
        week, last = monday(dated[0][0]), monday(dated[-1][0])
        while week <= last:  # every week between first and last, zeros included, so gaps show on the plot
            weeks.append(WeekCount(week=week, stories=counts.get(week, 0)))
            week += timedelta(days=7)
    issues: OrderedDict[str, IssueCoverage] = OrderedDict()
    for h in sorted(hits, key=lambda h: (h.date or "9999-12-31", h.issue)):
        entry = issues.get(h.issue_id)
        if entry is None:
            entry = issues[h.issue_id] = IssueCoverage(issue_id=h.issue_id, issue=h.issue, date=h.date,
                                                       source=h.source, stories=0, headlines=[])
        entry.stories += 1
        entry.headlines.append(h.headline)
    return Coverage(query=query, terms=terms, filters=filters, total=len(hits),
                    undated=len(hits) - len(dated), first_mention=dated[0][1] if dated else None,
                    last_mention=max(dated, key=lambda p: (p[0], p[1].score))[1] if dated else None,
                    weeks=weeks, issues=list(issues.values()))


def coverage(desk: Newsdesk, query: str, *, filters: Filters | None = None) -> Coverage:
    parsed, hits = find_mentions(desk, query, filters=filters)
    return build_coverage(parsed.text, parsed.terms + parsed.phrases, hits,
                          filters=filters.describe() if filters else "")


# ---------------------------------------------------------------- what the index holds (for menus, examples)
@dataclass
class Catalog:
    version: str | None
    sources: list[str]
    sections: list[str]
    first_date: str | None
    last_date: str | None
    examples: list[str]


_HEADLINE_TAIL = re.compile(r"\s+(?:[-–—|]\s+[^-–—|]{2,40})$")
_LISTING = re.compile(r"^\W*\d{4}-\d{2}-\d{2}|^(?:\W|\d)+$|\||\bissue\s*#?\d", re.I)


def question_for(headline: str) -> str | None:
    """A headline -> a question a subscriber might ask; None for listings, dates and fragments."""
    text = " ".join(headline.split()).strip(" .:")
    text = _HEADLINE_TAIL.sub("", text)  # " - The New York Times", " | OpenAI"
    words = text.split()
    if _LISTING.search(text) or not 4 <= len(words) <= 14 or text.endswith("?"):
        return None
    return f"What happened with “{text}”?"


def example_questions(metas: list[dict[str, Any]], *, n: int = 4) -> list[str]:
    """Questions drawn from the newest issues, one source at a time so every newsletter or feed shows up."""
    stories: dict[str, dict[str, Any]] = {}
    for m in metas:
        sid = str(m.get("story_id", ""))
        if sid and int(m.get("chunk_index", 0)) == 0:
            stories[sid] = m
    ordered = sorted(stories.values(), key=lambda m: (-int(m.get("date_int") or 0), str(m.get("issue_id")),
                                                      int(m.get("story_index") or 0)))
    by_source: OrderedDict[str, list[str]] = OrderedDict()
    for m in ordered:
        question = question_for(str(m.get("headline", "")))
        if question:
            by_source.setdefault(str(m.get("source_name", "")), []).append(question)
    picked: list[str] = []
    while len(picked) < n and any(by_source.values()):
        for questions in by_source.values():
            if questions and len(picked) < n:
                q = questions.pop(0)
                if q not in picked:
                    picked.append(q)
    return picked


class CatalogCache:
    """The catalog of the current index version, computed once per version (menus and examples read it)."""

    def __init__(self) -> None:
        self._cache: dict[str, Catalog] = {}

    def get(self, desk: Newsdesk) -> Catalog:
        from assistant.index.store import IndexMissingError

        try:
            reader = desk.readers.get()
        except IndexMissingError:
            return Catalog(version=None, sources=[], sections=[], first_date=None, last_date=None, examples=[])
        if reader.version not in self._cache:
            metas: list[dict[str, Any]] = []
            offset = 0
            while True:
                got = reader.collection.get(include=["metadatas"], limit=5000, offset=offset)
                if not got["ids"]:
                    break
                metas.extend(dict(m or {}) for m in got["metadatas"] or [])
                offset += len(got["ids"])
            dates = sorted(str(m["date"]) for m in metas if m.get("date"))
            self._cache = {reader.version: Catalog(
                version=reader.version,
                sources=sorted({str(m.get("source_name")) for m in metas if m.get("source_name")}),
                sections=sorted({str(m.get("section")) for m in metas if m.get("section")}),
                first_date=dates[0] if dates else None,
                last_date=dates[-1] if dates else None,
                examples=example_questions(metas),
            )}
        return self._cache[reader.version]


# ---------------------------------------------------------------- text output for the CLI
def print_search(console: Any, result: ArchiveResult) -> None:
    """`newsdesk search`: one block per story. Plain text (markup=False): headlines are untrusted."""
    say = lambda text="": console.print(text, markup=False, highlight=False)  # noqa: E731
    where = f" ({result.filters})" if result.filters else ""
    if result.exact:
        say(f"{result.total} {'story mentions' if result.total == 1 else 'stories mention'} {result.query!r}"
            f"{where}, sorted by {result.sort}" + (f"; first {len(result.hits)}" if len(result.hits) < result.total
                                                    else "") + ":")
    else:
        say(f"No story mentions every word of {result.query!r}{where}. The closest stories:")
    for h in result.hits:
        say()
        say(f"{h.date or 'undated':<10}  {h.issue} ({h.source}{', ' + h.section if h.section else ''})")
        say(f"            {h.headline}" + (f"  {h.url}" if h.url else ""))
        if h.snippet:
            say(f"            {h.snippet}")


def print_coverage(console: Any, cov: Coverage) -> None:
    """`newsdesk coverage`: first/last mention, stories per week (with a bar), the issues that covered it."""
    say = lambda text="": console.print(text, markup=False, highlight=False)  # noqa: E731
    where = f" ({cov.filters})" if cov.filters else ""
    if not cov.total:
        say(f"No story mentions every word of {cov.query!r}{where}.")
        return
    say(f"{cov.query!r}{where}: {cov.total} {'story' if cov.total == 1 else 'stories'} in {len(cov.issues)} "
        f"{'issue' if len(cov.issues) == 1 else 'issues'}" + (f", {cov.undated} undated" if cov.undated else ""))
    for label, hit in (("first mention", cov.first_mention), ("last mention", cov.last_mention)):
        if hit:
            say(f"{label + ':':<15}{hit.date}  {hit.issue}: {hit.headline}" + (f"  {hit.url}" if hit.url else ""))
    if cov.weeks:
        say()
        say("stories per week (week starting):")
        top = max(w.stories for w in cov.weeks) or 1
        for w in cov.weeks:
            bar = "#" * max(1, round(30 * w.stories / top)) if w.stories else ""
            say(f"  {w.week.isoformat()}  {w.stories:>3}  {bar}")
    say()
    say("issues that covered it:")
    for i in cov.issues:
        say(f"  {i.date or 'undated':<10}  {i.issue} ({i.source}): {i.stories} "
            f"{'story' if i.stories == 1 else 'stories'}")
