"""The archive as a briefing reads it: a window's stories with their stored vectors, and what the whole archive
says about names (casing, rarity, when each was first seen) and about issues (how many stories, how long).

Everything comes from one published index version: the chunks' text and metadata from the BM25 side's rows held
in memory (the same rows the dense side's filters use, assistant/index/reader.py), the vectors from Chroma. The
archive pass costs one read of every row (about 3 s of CPU at 100k chunks); it is kept per index version, and the
web app makes it in the background when it opens a version (`archive_view_in_background`), so the first briefing
does not wait for it.
"""

from __future__ import annotations

import logging
import re
import statistics
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.briefing.clusters import StoryPoint
from assistant.briefing.names import NameStats
from assistant.records import Chunk, Filters

if TYPE_CHECKING:
    from assistant.index.reader import IndexReader

log = logging.getLogger(__name__)

_BATCH = 1000  # ids per Chroma get
ROUTINE_ISSUES = 3  # a headline in this many issues of one source is a regular feature


@dataclass
class StoryRow:
    """One story of the archive, from its chunks' rows."""

    story_id: str
    issue_id: str
    day: int              # date as YYYYMMDD, 0 when unknown
    first: Chunk          # the first chunk: headline and lead
    words: int = 0        # words over every chunk (overlaps included: a rough length)


@dataclass
class ArchiveView:
    """Per index version: every story's first chunk, issue sizes and lengths, names with first sighting."""

    version: str
    stories: dict[str, StoryRow]
    stats: NameStats
    names: dict[str, frozenset[str]]                     # story id -> names
    first_seen: dict[str, int]                           # name -> first date (YYYYMMDD)
    by_name: dict[str, list[str]] = field(default_factory=dict)  # name -> story ids, oldest first
    issue_sizes: dict[str, int] = field(default_factory=dict)
    issue_median_words: dict[str, float] = field(default_factory=dict)
    recurring: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, headline) -> issues

    def routine(self, source: str, headline: str) -> bool:
        """A headline its source repeats issue after issue ("Crate of the Week", "Approved RFCs"): a regular
        feature of the newsletter, not news."""
        return self.recurring.get((source, _headline_key(headline)), 0) >= ROUTINE_ISSUES

    @classmethod
    def build(cls, version: str, chunks: list[Chunk]) -> ArchiveView:
        stories: dict[str, StoryRow] = {}
        for chunk in chunks:
            row = stories.get(chunk.story_id)
            if row is None:
                row = stories[chunk.story_id] = StoryRow(chunk.story_id, chunk.issue_id, chunk.date_int, chunk)
            elif chunk.chunk_index < row.first.chunk_index:
                row.first = chunk
            row.words += len(chunk.text.split())
        rows = list(stories.values())
        stats, found = NameStats.learn_with_names((r.first.headline, _body(r.first)) for r in rows)
        names = {r.story_id: n for r, n in zip(rows, found, strict=True)}
        first_seen: dict[str, int] = {}
        by_name: dict[str, list[str]] = defaultdict(list)
        for sid, row in sorted(stories.items(), key=lambda kv: kv[1].day or 99999999):
            for name in names[sid]:
                if row.day and (name not in first_seen or row.day < first_seen[name]):
                    first_seen[name] = row.day
                by_name[name].append(sid)
        issues_of: dict[tuple[str, str], set[str]] = defaultdict(set)
        for row in stories.values():
            issues_of[(row.first.source_name, _headline_key(row.first.headline))].add(row.issue_id)
        sizes: dict[str, int] = defaultdict(int)
        lengths: dict[str, list[int]] = defaultdict(list)
        for row in stories.values():
            sizes[row.issue_id] += 1
            lengths[row.issue_id].append(row.words)
        return cls(version=version, stories=stories, stats=stats, names=names, first_seen=first_seen,
                   by_name=dict(by_name), issue_sizes=dict(sizes),
                   issue_median_words={k: float(statistics.median(v)) for k, v in lengths.items()},
                   recurring={k: len(v) for k, v in issues_of.items() if len(v) > 1})

    def issue_position(self, story: StoryRow) -> int:
        return story.first.story_index


def _headline_key(headline: str) -> str:
    # Numbers go: "The Embedded Rustacean Issue #78" is the same column as "... Issue #77".
    return " ".join(re.sub(r"[\d#]+", " ", headline.lower()).split())


def _body(chunk: Chunk) -> str:
    text = chunk.text
    return text[len(chunk.headline):].lstrip() if chunk.headline and text.startswith(chunk.headline) else text


_views: dict[str, ArchiveView] = {}
_views_lock = threading.Lock()


def archive_view(reader: IndexReader) -> ArchiveView:
    """The view of the reader's version, built once (a second version replaces the first)."""
    with _views_lock:
        view = _views.get(reader.version)
        if view is None:
            view = ArchiveView.build(reader.version, all_chunks(reader))
            _views.clear()
            _views[reader.version] = view
        return view


def archive_view_in_background(reader: IndexReader) -> threading.Thread:
    """Start the archive pass of the reader's version on a daemon thread (the web app calls this for each version
    it opens). A briefing asked meanwhile waits for that pass instead of making its own; a failure is logged and
    the next briefing tries again and reports it."""
    def run() -> None:
        try:
            archive_view(reader)
        except Exception:  # noqa: BLE001 - off the request path: the briefing that needs it raises it properly
            log.warning("the archive pass of index version %s failed", reader.version, exc_info=True)

    thread = threading.Thread(target=run, daemon=True, name=f"newsdesk-archive-{reader.version}")
    thread.start()
    return thread


def all_chunks(reader: IndexReader) -> list[Chunk]:
    lexical = reader.lexical
    if len(lexical):
        return [Chunk.from_metadata(str(r.get("node_id", "")), str(r.get("text", "")), r) for r in lexical.corpus]
    out: list[Chunk] = []  # an index without a BM25 side: page through Chroma
    offset = 0
    while True:
        page = reader.get_chunks(limit=5000, offset=offset)
        if not page:
            return out
        out.extend(page)
        offset += len(page)


def window_story_ids(reader: IndexReader, view: ArchiveView, filters: Filters) -> list[str]:
    """Stories with a chunk inside the filters, in archive order (by date, then issue, then place)."""
    ids = reader.lexical.where_ids(filters) if len(reader.lexical) else None
    if ids is None:
        from assistant.index.store import chroma_where

        ids = [c.chunk_id for c in reader.get_chunks(where=chroma_where(filters))]
    story_ids = {cid.rsplit(":", 1)[0] for cid in ids}
    rows = [view.stories[s] for s in story_ids if s in view.stories]
    rows.sort(key=lambda r: (r.day, r.issue_id, r.first.story_index))
    return [r.story_id for r in rows]


def vectors_of(reader: IndexReader, chunk_ids: list[str]) -> dict[str, np.ndarray]:
    """Stored embeddings by chunk id (never re-embedded)."""
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(chunk_ids), _BATCH):
        got = reader.collection.get(ids=chunk_ids[start:start + _BATCH], include=["embeddings"])
        embeddings = got.get("embeddings")
        if embeddings is None:
            continue
        for cid, vec in zip(got["ids"], embeddings, strict=True):
            out[cid] = np.asarray(vec, dtype=np.float32)
    return out


def story_points(reader: IndexReader, view: ArchiveView, story_ids: list[str]) -> list[StoryPoint]:
    """The stories as clustering sees them, with their first chunk's stored vector."""
    rows = [view.stories[s] for s in story_ids if s in view.stories]
    vectors = vectors_of(reader, [r.first.chunk_id for r in rows])
    points: list[StoryPoint] = []
    for row in rows:
        vector = vectors.get(row.first.chunk_id)
        if vector is None:
            continue
        points.append(point_of(row, vector, view))
    return points


def point_of(row: StoryRow, vector: np.ndarray, view: ArchiveView) -> StoryPoint:
    c = row.first
    day = _date(c.date)
    point = StoryPoint(story_id=row.story_id, issue_id=c.issue_id, issue_title=c.issue_title,
                       source_name=c.source_name, source_kind=c.source_kind, section=c.section, headline=c.headline,
                       text=c.text, url=c.url, links=list(c.links), day=day, position=c.story_index, vector=vector,
                       words=row.words)
    point.prepare(view.stats)
    return point


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
