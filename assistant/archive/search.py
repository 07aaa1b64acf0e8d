"""Archive search: the stories that mention a query, with filters and sorting (`newsdesk search`, the Archive tab).

A story *mentions* a query when it holds every query word (stemmed like the BM25 side, stopwords ignored) and
every "quoted phrase" as written. That rule is what editors can check by eye, and it keeps the timeline honest:
MiniLM's cosine on a two-word query is too flat to say where coverage starts and stops (measured on the corpus:
"Rust 2024 edition" scores 0.7+ against every Rust meetup listing). Dense similarity still ranks the mentions.
When nothing mentions every word, the search falls back to the closest stories by hybrid retrieval and says so;
the timeline (assistant/archive/timeline.py) then stays empty rather than plotting near misses.

The functions take the parts of the desk they use, as an `ArchiveDeps` (`Newsdesk.archive_deps` builds one):

    deps = ArchiveDeps(readers=readers, retriever=retriever, embedder=embedder, lexical_weight=0.2,
                       check_query=desk.check_question)
    result = search_archive(deps, "HBM4", sort="newest", limit=20)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.records import Chunk, Filters, ScoredChunk
from assistant.sources.text import split_sentences
from assistant.terms import bm25_tokenize

if TYPE_CHECKING:
    from assistant.embedding.protocol import Encoder
    from assistant.index.reader import ReaderCache
    from assistant.retrieval.hybrid import HybridSearch

# The lexical side is asked for at most this many chunks holding any query word; mentions are found among them.
LEXICAL_DEPTH = 5000
SNIPPET_CHARS = 280
PHRASE_RE = re.compile(r"[\"“”]([^\"“”]{2,200})[\"“”]")


@dataclass(frozen=True)
class ArchiveDeps:
    """What archive search uses of the desk: the current index (`readers.get()`), the retriever over it (sources
    and sections by `.archive(reader)`, the fallback by `.search(...)`), the query encoder (`encode_one`), the
    weight of the lexical side in the blend, and the check every query passes (whitespace folded, length)."""

    readers: ReaderCache
    retriever: HybridSearch
    embedder: Encoder
    lexical_weight: float
    check_query: Callable[[str], str]


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


# ---------------------------------------------------------------- matching
@dataclass
class _Query:
    text: str
    terms: list[str]  # stemmed, stopwords removed, as the BM25 side tokenises
    phrases: list[str] = field(default_factory=list)
    # A name ("KubeCon India", also "kubecon-...-india" in a link): only the mentions where its words stand
    # together in order count, when there are any.
    near: bool = False


def _tokens(texts: list[str], stemmer: Any) -> list[list[str]]:
    out = bm25_tokenize(texts, stemmer, return_ids=False)
    return [list(t) for t in out]


def _parse_query(text: str, stemmer: Any) -> _Query:
    phrases = [p.strip().lower() for p in PHRASE_RE.findall(text) if p.strip()]
    terms = list(dict.fromkeys(_tokens([text], stemmer)[0]))
    return _Query(text=text, terms=terms, phrases=phrases)


def _mentions(chunks: list[Chunk], query: _Query, stemmer: Any) -> list[bool]:
    if not query.terms and not query.phrases:
        return [False] * len(chunks)
    need = set(query.terms)
    toks = _words_of(chunks, stemmer) if need else [[] for _ in chunks]
    out = [need <= set(words) and all(p in c.text.lower() for p in query.phrases)
           for c, words in zip(chunks, toks, strict=True)]
    if query.near:
        together = [ok and _in_order_near(words, query.terms) for ok, words in zip(out, toks, strict=True)]
        if any(together):
            return together
    return out


def _words_of(chunks: list[Chunk], stemmer: Any) -> list[list[str]]:
    """Each chunk's words, then its links' words: a story names what it links to, as the answer gate reads it too
    ("The main track CfPs for [India](.../kubecon-cloudnativecon-india/...)" mentions KubeCon India). A gap keeps
    a name from being read across the text's end and a link. One tokenizer call for all of them (a call per
    chunk took twice as long: 80 against 41 ms over 1,147 candidates)."""
    links = [list(dict.fromkeys(u for u in (c.url, *c.links) if u)) for c in chunks]
    tokens = _tokens([c.text for c in chunks] + [u for urls in links for u in urls], stemmer)
    of_links = iter(tokens[len(chunks):])
    gap = [""] * (NEAR_GAP + 1)
    out = []
    for words, urls in zip(tokens[: len(chunks)], links, strict=True):
        for _ in urls:
            words = [*words, *gap, *next(of_links)]
        out.append(words)
    return out


# A capitalised word, an identifier or a version: what names are made of ("Rust GPU", "React Forget", "Llama 3").
_NAME_WORD = re.compile(r"^(?:[A-Z][\w.+&'-]*|[\w.+-]*\d[\w.+-]*)$")


def is_name(term: str) -> bool:
    """Whether a term is a multi-word name, to be found with its words together ("Rust GPU", "KubeCon India").
    An editor asking when we first covered "React Forget" means the name, not every story that holds "React"
    and, somewhere, "don't forget"; a described topic ("AMD's HBM4 deal") stays words anywhere."""
    words = term.split()
    return 2 <= len(words) <= 4 and all(_NAME_WORD.match(w) for w in words)


# Words of a name may be this many tokens apart: "KubeCon India" is also "kubecon-cloudnativecon-india" in a link.
NEAR_GAP = 3


def _in_order_near(words: list[str], terms: list[str]) -> bool:
    """Whether the terms occur in this order, each within NEAR_GAP tokens of the one before."""
    ends = [i for i, w in enumerate(words) if w == terms[0]] if terms else []
    for term in terms[1:]:
        ends = [j for j, w in enumerate(words) if w == term and any(0 < j - i <= NEAR_GAP for i in ends)]
    return bool(ends)


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


def find_mentions(deps: ArchiveDeps, query: str, *, filters: Filters | None = None,
                  near: bool = False) -> tuple[_Query, list[ArchiveHit]]:
    """Every story (best chunk per story) that mentions the query, most relevant first; with `near` (a name),
    only those where its words stand together in order, unless none does."""
    from assistant.retrieval.hybrid import check_filters

    text = deps.check_query(query)
    reader = deps.readers.get()
    # Source and section names as the chat takes them: any case; an unknown name is a clear error.
    filters = check_filters(filters, deps.retriever.archive(reader))
    lexical = reader.lexical
    stemmer = lexical.stemmer
    parsed = _parse_query(text, stemmer)
    parsed.near = near
    if not parsed.terms and not parsed.phrases:
        return parsed, []
    depth = min(LEXICAL_DEPTH, max(len(lexical), 1))
    candidates = lexical.search(text, k=depth, filters=filters)
    chunks = [c.chunk for c in candidates]
    matched = [c for c, ok in zip(candidates, _mentions(chunks, parsed, stemmer), strict=True) if ok]
    if not matched:
        return parsed, []
    vector = deps.embedder.encode_one(text)
    cosines = reader.cosines(vector, [m.chunk.chunk_id for m in matched])
    top_lex = max((m.lexical or 0.0 for m in matched), default=0.0) or 1.0
    # The same blend as HybridRetriever, so the archive and the chat rank alike.
    weight = deps.lexical_weight
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


def archive_result(deps: ArchiveDeps, parsed: _Query, hits: list[ArchiveHit], *, filters: Filters | None,
                   order: SortOrder, limit: int) -> ArchiveResult:
    """The result page of `find_mentions`'s answer: the mentions sorted and cut to `limit`, or, when nothing
    mentions every word, the closest stories, clearly marked as such."""
    described = filters.describe() if filters else ""
    terms = parsed.terms + parsed.phrases
    if hits:
        return ArchiveResult(query=parsed.text, terms=terms, hits=sort_hits(hits, order)[:limit], total=len(hits),
                             exact=True, sort=order.value, filters=described)
    result = deps.retriever.search(deps.check_query(parsed.text), filters=filters, k=min(limit, 20))
    stemmer = deps.readers.get().lexical.stemmer
    close = [_hit(h.chunk, h.dense if h.dense is not None else h.score, _snippet(h.chunk, parsed, stemmer))
             for h in result.hits]
    return ArchiveResult(query=parsed.text, terms=terms, hits=sort_hits(close, order), total=0, exact=False,
                         sort=order.value, filters=described)


def search_archive(deps: ArchiveDeps, query: str, *, filters: Filters | None = None,
                   sort: str | SortOrder = SortOrder.RELEVANCE, limit: int = 50) -> ArchiveResult:
    """`newsdesk search`: the stories that mention the query (or the closest ones), sorted, at most `limit`."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    order = SortOrder.parse(sort)
    parsed, hits = find_mentions(deps, query, filters=filters)
    return archive_result(deps, parsed, hits, filters=filters, order=order, limit=limit)
