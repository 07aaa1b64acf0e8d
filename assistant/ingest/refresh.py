"""`newsdesk refresh`: read every feed of the feed list, turn new and changed entries into stories, link
duplicates to the story they repeat, and write through the index writer.

A changed entry replaces its old chunks; an unchanged one costs no embedding (and, with an unchanged
fingerprint, no write at all: a refresh where nothing changed publishes no new index version). One broken
feed never stops the others: each gets a status and a one-line reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.embedding import Encoder
from assistant.embedding.encoder import Embedder
from assistant.index.reader import open_reader
from assistant.index.sources import SourceReadResult, SourceRecord, SourceRegistry, register_source_reader
from assistant.index.store import IndexStore
from assistant.index.writer import IndexWriter
from assistant.ingest.chunking import chunk_story
from assistant.ingest.issues import ChunkSync, ProgressFn
from assistant.ingest.linking import Known, catalogue, relink
from assistant.records import Chunk, Issue, Story
from assistant.sources.dedup import DuplicateFinder, merge_links
from assistant.sources.feedlist import FeedList, FeedListError, FeedSpec
from assistant.sources.feedread import FAILED, NOT_MODIFIED, OK, FeedOutcome, FeedRead, read_feed
from assistant.sources.feeds import PARSER_VERSION, FeedEntry
from assistant.sources.feedstate import Alias, FeedMemo, FeedState
from assistant.sources.fetch import Fetcher


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


__all__ = ["FAILED", "NOT_MODIFIED", "OK", "FeedOutcome", "RefreshHooks", "RefreshReport", "purge_feeds",
           "read_feed_sources", "refresh_feeds"]


@dataclass
class Duplicate:
    story_id: str
    headline: str
    feed: str
    primary: str
    reason: str


@dataclass
class RefreshReport:
    feeds: list[FeedOutcome] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    removed: int = 0
    version: str | None = None
    seconds: float = 0.0

    def total(self, name: str) -> int:
        return sum(int(getattr(f, name)) for f in self.feeds)

    @property
    def failed(self) -> list[FeedOutcome]:
        return [f for f in self.feeds if f.status == FAILED]


@dataclass
class RefreshHooks:
    """Progress callbacks for the CLI and the web app; all optional."""

    feed_done: Callable[[FeedOutcome, int, int], None] | None = None
    planned: Callable[[RefreshReport], None] | None = None
    embedding: ProgressFn | None = None


# ---------------------------------------------------------------- writing


@dataclass
class _Stored:
    """One chunk as the index holds it."""

    chunk: Chunk
    vector: np.ndarray


# Metadata a chunk's content hash leaves out (a retag must not cost an embedding), compared field by field;
# `links` is left out too: the stored links also hold the links of the story's duplicates.
_COMPARED = ("author", "tags")


class _Plan:
    """Plans each story against the chunks the index holds for its feed (one read per feed, not per entry)
    and hands new or changed chunks to the index's ChunkSync, which embeds them in large batches.

    An embedding depends on a chunk's text alone, so a chunk whose text is unchanged is never embedded again:
    when only its metadata changed (tags, author, the feed's title, the date, the link) it is written back
    with its stored vector, which updates both the vector side and the BM25 side of the new version."""

    def __init__(self, writer: IndexWriter, sync: ChunkSync) -> None:
        self.writer = writer
        self.sync = sync
        self._feeds: dict[str, tuple[dict[str, dict[str, _Stored]], dict[str, np.ndarray]]] = {}
        self.chunks: dict[str, list[Chunk]] = {}   # stories written this run

    def existing(self, feed_id: str) -> tuple[dict[str, dict[str, _Stored]], dict[str, np.ndarray]]:
        """Story id -> chunk id -> stored chunk, and content hash -> vector, for one feed."""
        if feed_id not in self._feeds:
            got = self.writer.collection.get(where={"issue_id": feed_id},
                                             include=["documents", "metadatas", "embeddings"])
            by_story: dict[str, dict[str, _Stored]] = {}
            hash_to_vec: dict[str, np.ndarray] = {}
            vectors = got.get("embeddings")
            for i, (cid, doc, meta) in enumerate(zip(got["ids"], got["documents"] or [], got["metadatas"] or [],
                                                     strict=False)):
                chunk = Chunk.from_metadata(cid, doc or "", meta or {})
                vec = np.asarray(vectors[i], dtype=np.float32)
                by_story.setdefault(chunk.story_id or cid.rsplit(":", 1)[0], {})[cid] = _Stored(chunk, vec)
                hash_to_vec[chunk.content_hash] = vec
            self._feeds[feed_id] = (by_story, hash_to_vec)
        return self._feeds[feed_id]

    def story(self, story: Story) -> bool:
        """Plan one story; True when anything about its chunks changed."""
        by_story, hash_to_vec = self.existing(story.issue_id)
        old = by_story.get(story.story_id, {})
        chunks = chunk_story(story)
        self.chunks[story.story_id] = chunks
        stale = [cid for cid in old if cid not in {c.chunk_id for c in chunks}]
        if stale:
            self.writer.delete(stale)
        changed = bool(stale)
        for chunk in chunks:
            before = old.get(chunk.chunk_id)
            if before is not None and before.chunk.content_hash == chunk.content_hash:
                if all(getattr(before.chunk, f) == getattr(chunk, f) for f in _COMPARED):
                    self.sync.unchanged += 1
                    continue
                chunk.links = merge_links(chunk.links, before.chunk.links)  # keep its duplicates' links
            changed = True
            if before is not None and before.chunk.text == chunk.text:
                self.sync.ready.append((chunk, before.vector))
            elif chunk.content_hash in hash_to_vec:
                self.sync.ready.append((chunk, hash_to_vec[chunk.content_hash]))
            else:
                self.sync.pending.append(chunk)
        return changed


def _write(settings: Settings, embedder: Encoder, store: IndexStore, state: FeedState, reads: list[FeedRead],
           report: RefreshReport, *, wait_seconds: float, hooks: RefreshHooks, base_dir: Path) -> set[str]:
    """Apply every new or changed entry; returns story ids whose fingerprint must be forgotten (their
    primary vanished, so the next refresh indexes them on their own)."""
    orphans: set[str] = set()
    with IndexWriter(store, embedder, wait_seconds=wait_seconds, operation="refresh") as writer:
        writer.last_refresh = _now()
        for read in reads:
            if read.outcome.status != FAILED:
                spec = read.spec
                ref = spec.url if spec.remote else str(spec.path(base_dir).resolve())
                writer.sources.record(SourceRecord(
                    issue_id=read.outcome.feed_id, kind="feed", ref=ref, additive=True,
                    options={"title": spec.title, "full_text": spec.full_text}))
        known = catalogue(writer)
        finder = DuplicateFinder()
        for sid, k in known.items():
            finder.add(k.signature(sid))
        sync = ChunkSync(writer, embedder, progress=hooks.embedding)
        plan = _Plan(writer, sync)
        todo = [(r, e) for r in reads if r.parsed is not None for e in r.changed]
        # Oldest first, so the first publication of a story becomes the one its repeats link to.
        todo.sort(key=lambda re: (re[1].story.date or date.max, reads.index(re[0]), re[1].story.index))
        for read, entry in todo:
            _plan_entry(read, entry, plan=plan, finder=finder, known=known, state=state, report=report)
        grouped: dict[str, list[str]] = {}
        for sid, alias in list(state.aliases.items()):
            if alias.primary in known:
                grouped.setdefault(alias.primary, []).extend(alias.links)
            elif not writer.sources.is_excluded(alias.primary, None):
                # The story it repeated is gone (not removed on purpose): index it on its own next time.
                del state.aliases[sid]
                orphans.add(sid)
        for primary, links in grouped.items():  # new chunks carry their duplicates' links from the start
            for chunk in plan.chunks.get(primary, []):
                chunk.links = merge_links(chunk.links, links)
        if hooks.planned:
            hooks.planned(report)
        sync.apply()
        # Every story some duplicate points to lists that duplicate's links too; stories written by someone
        # else since (a re-ingested issue) get them back here, without an embedding.
        for primary, links in grouped.items():
            if primary in plan.chunks or merge_links(known[primary].links, links) != known[primary].links:
                relink(writer, primary, links)
    report.embedded, report.reused, report.removed = writer.embedded, writer.reused, writer.removed
    report.version = writer.version if writer.published else None
    return orphans


def _plan_entry(read: FeedRead, entry: FeedEntry, *, plan: _Plan, finder: DuplicateFinder, known: dict[str, Known],
                state: FeedState, report: RefreshReport) -> None:
    story, out = entry.story, read.outcome
    sid = story.story_id
    if plan.writer.sources.is_excluded(sid, story.url):
        out.excluded += 1
        return
    indexed = sid in plan.existing(story.issue_id)[0]
    alias = state.aliases.get(sid)
    if not indexed and alias is not None and (alias.primary in known or alias.primary in plan.chunks):
        alias.links, alias.headline = story.links, story.headline
        out.linked += 1
        return
    if not indexed:
        new = Known(source=story.issue_id, headline=story.headline, text=story.body, url=story.url,
                    links=list(story.links), day=story.date, feed=story.issue_id)
        sig = new.signature(sid)
        match = finder.find(sig)
        if match is not None:
            state.aliases[sid] = Alias(primary=match.key, feed=story.issue_id, links=list(story.links),
                                       reason=match.reason, headline=story.headline)
            report.duplicates.append(Duplicate(story_id=sid, headline=story.headline, feed=out.title,
                                               primary=match.key, reason=match.reason))
            out.linked += 1
            return
        finder.add(sig)
        known[sid] = new
    state.aliases.pop(sid, None)
    if plan.story(story):
        if indexed:
            out.updated += 1
        else:
            out.new += 1
    else:
        out.unchanged += 1


# ---------------------------------------------------------------- the whole refresh


def refresh_feeds(settings: Settings, embedder: Encoder, *, feed_list: FeedList | None = None,
                  force: bool = False, wait_seconds: float = 0.0, hooks: RefreshHooks | None = None,
                  fetcher: Fetcher | None = None, store: IndexStore | None = None) -> RefreshReport:
    """Refresh every feed of the list. Raises FeedListError when there is no list or it is empty. `store` is the
    caller's IndexStore (Newsdesk passes its own); without one, one is made from `settings`."""
    started = time.monotonic()
    hooks = hooks or RefreshHooks()
    feed_list = feed_list or FeedList.load(settings.feeds_file, missing_ok=False)
    if not feed_list.feeds:
        raise FeedListError(f"no feeds in {feed_list.path}; add one with `newsdesk feeds add URL`")
    store = store or IndexStore(settings)
    state = FeedState.load(settings.index_dir)
    loaded = set(state.aliases)
    if store.current() is None:
        state.forget_entries()
    # A newer parser may read entries differently: read everything again (unchanged chunks still cost 0).
    force = force or state.parser != PARSER_VERSION
    own = fetcher is None
    fetcher = fetcher or Fetcher.from_settings(settings)
    try:
        with ThreadPoolExecutor(max_workers=settings.feed_workers, thread_name_prefix="feed") as pool:
            futures = {pool.submit(read_feed, spec, feed_id=spec.feed_id, base_dir=feed_list.base_dir,
                                   memo=state.feeds.get(spec.feed_id, FeedMemo()), fetcher=fetcher,
                                   settings=settings, force=force): i for i, spec in enumerate(feed_list.feeds)}
            done: dict[int, FeedRead] = {}
            for n, future in enumerate(as_completed(futures), start=1):
                done[futures[future]] = future.result()
                if hooks.feed_done:
                    hooks.feed_done(done[futures[future]].outcome, n, len(futures))
            reads = [done[i] for i in range(len(futures))]
    finally:
        if own:
            fetcher.close()
    report = RefreshReport(feeds=[r.outcome for r in reads])
    orphans: set[str] = set()
    if any(r.changed for r in reads) or (force and any(r.parsed for r in reads)) or _links_missing(store, state):
        orphans = _write(settings, embedder, store, state, reads, report, wait_seconds=wait_seconds, hooks=hooks,
                         base_dir=feed_list.base_dir)
    elif hooks.planned:
        hooks.planned(report)
    state.index_version = store.current()
    _remember(state, reads, orphans, loaded=loaded)
    report.seconds = time.monotonic() - started
    return report


def _links_missing(store: IndexStore, state: FeedState) -> bool:
    """Does some story lack the links of its duplicates (a re-ingested issue is written without them), or has
    it vanished? One read of the current version; a refresh with nothing to do stays a read-only run."""
    current = store.current()
    if not state.aliases or current is None or current == state.index_version:
        return False
    removed = SourceRegistry.load(store.version_dir(current))
    wanted: dict[str, list[str]] = {}
    for alias in state.aliases.values():
        if not removed.is_excluded(alias.primary, None):
            wanted.setdefault(alias.primary, []).extend(alias.links)
    if not wanted:
        return False
    reader = open_reader(store)
    try:
        chunks = reader.get_chunks(where={"story_id": {"$in": sorted(wanted)}})
    finally:
        reader.close()
    seen = {c.story_id for c in chunks}
    if seen != set(wanted):
        return True
    return any(merge_links(c.links, wanted[c.story_id]) != c.links for c in chunks)


def _remember(state: FeedState, reads: list[FeedRead], orphans: set[str], *, loaded: set[str]) -> None:
    now = _now()
    for read in reads:
        out = read.outcome
        memo = state.memo(out.feed_id)
        memo.url, memo.title, memo.status, memo.error, memo.checked = read.spec.url, out.title, out.status, \
            out.reason, now
        if out.status == FAILED:
            continue  # keep the validators of the last good read
        memo.etag, memo.last_modified, memo.sha256, memo.moved_to = (read.etag, read.last_modified, read.sha256,
                                                                     read.moved_to)
        memo.last_ok = now
        if read.parsed is not None:
            # Entries that left the feed stay known (and indexed): the archive keeps them.
            memo.entries.update({e.story.story_id: e.fingerprint for e in read.parsed.entries})
        for sid in orphans:
            memo.entries.pop(sid, None)
    # An ingest during this refresh may have linked feed entries to its stories (sources/linking.py) and
    # saved them since this state was read: keep those.
    for sid, alias in FeedState.load(state.path.parent).aliases.items():
        if sid not in loaded and sid not in state.aliases and sid not in orphans:
            state.aliases[sid] = alias
    state.parser = PARSER_VERSION
    state.save()


# ---------------------------------------------------------------- rebuild hook (assistant/index/sources.py)


def read_feed_sources(settings: Settings, records: list[SourceRecord]) -> SourceReadResult:
    """Read feeds again for `newsdesk rebuild`. Linked duplicates stay linked; full-text feeds, whose article
    pages a rebuild should not fetch again, report failure so their chunks are carried over as they are."""
    state = FeedState.load(settings.index_dir)
    result = SourceReadResult()
    with Fetcher.from_settings(settings) as fetcher:
        for record in records:
            if record.options.get("full_text"):
                result.failed.append((record, "full-text feed: chunks kept as they are"))
                continue
            spec = FeedSpec(url=record.ref, title=str(record.options.get("title") or ""))
            read = read_feed(spec, feed_id=record.issue_id, base_dir=Path("/"), memo=FeedMemo(), fetcher=fetcher,
                             settings=settings, force=True)
            if read.parsed is None:
                result.failed.append((record, read.outcome.reason or read.outcome.status))
                continue
            # Duplicates' links come back on the next refresh (metadata only), so hashes stay as refresh makes them.
            stories = [e.story for e in read.parsed.entries if e.story.story_id not in state.aliases]
            result.issues.append(Issue(issue_id=record.issue_id, title=read.parsed.title, date=None,
                                       source_name=read.parsed.title, path=record.ref, stories=stories))
    return result


def purge_feeds(settings: Settings, feed_ids: list[str], *, wait_seconds: float = 0.0,
                store: IndexStore | None = None, embedder: Encoder | None = None) -> int:
    """Remove feeds' entries from the index and forget them; returns the number of chunks removed. `store` and
    `embedder` are the caller's (Newsdesk passes its own); without them they are made from `settings`."""
    store = store or IndexStore(settings)
    removed = 0
    if store.current() is not None:
        with IndexWriter(store, embedder or Embedder.from_settings(settings), wait_seconds=wait_seconds,
                         operation="remove") as writer:
            for feed_id in feed_ids:
                removed += writer.delete_where({"issue_id": feed_id})
                writer.sources.forget(feed_id)
    state = FeedState.load(settings.index_dir)
    for feed_id in feed_ids:
        state.forget_feed(feed_id)
    state.save()
    return removed


register_source_reader("feed", read_feed_sources)
