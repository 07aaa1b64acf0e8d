"""One story, several sources: what the index knows about each story for duplicate detection, and linking a
repeat to the story it repeats without an embedding.

Both arrival orders end the same way. A feed entry that repeats a story already indexed is not indexed; it
becomes an alias (feeds-state.json) whose links the story lists (`newsdesk refresh`, assistant/ingest/refresh.py).
A newsletter issue ingested after a feed entry telling one of its stories takes that story over: the entry's
chunks go and it becomes an alias of the issue's story (`link_issue_repeats`, called by the ingest inside its
own index write, so no reader ever sees both). The newsletter's story is the one kept because it is the
archive's own record: `newsdesk ingest` and `newsdesk rebuild` write it whatever the feeds hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.records import Chunk, Issue, SourceKind, Story
from assistant.sources.dedup import DuplicateFinder, Signature, merge_links
from assistant.sources.feedstate import STATE_FILE, Alias, FeedState

if TYPE_CHECKING:
    from assistant.index.writer import IndexWriter


def source_key(*, kind: str, issue_id: str, source_name: str) -> str:
    """Who published a story, for duplicate detection: a feed, or a newsletter (all its issues together:
    a weekly meetup list repeated in every issue is not a story arriving from two sources)."""
    return issue_id if kind == SourceKind.FEED.value else f"newsletter:{source_name or issue_id}"


@dataclass
class Known:
    """A story as the index holds it."""

    source: str
    headline: str
    text: str
    url: str | None
    links: list[str]
    day: date | None
    feed: str = ""            # its feed id when it is a feed entry

    def signature(self, key: str) -> Signature:
        return Signature.of(key=key, source=self.source, headline=self.headline, body=self.text, url=self.url,
                            day=self.day)


def _rows(got: dict[str, Any]) -> list[Chunk]:
    return [Chunk.from_metadata(i, d or "", m or {}) for i, d, m in
            zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=False)]


def known_stories(chunks: list[Chunk]) -> dict[str, Known]:
    by_story: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_story.setdefault(chunk.story_id, []).append(chunk)
    out: dict[str, Known] = {}
    for sid, group in by_story.items():
        group.sort(key=lambda c: c.chunk_index)
        first = group[0]
        # Each chunk's text repeats the headline on its first line; the body is the rest.
        body = " ".join(c.text.split("\n", 1)[1] if "\n" in c.text else "" for c in group)
        out[sid] = Known(source=source_key(kind=first.source_kind, issue_id=first.issue_id,
                                           source_name=first.source_name),
                         headline=first.headline, text=body, url=first.url, links=first.links,
                         day=date.fromisoformat(first.date[:10]) if first.date else None,
                         feed=first.issue_id if first.source_kind == SourceKind.FEED.value else "")
    return out


def catalogue(writer: IndexWriter) -> dict[str, Known]:
    """Every story of the version being written."""
    return known_stories(writer.all_chunks())


def relink(writer: IndexWriter, story_id: str, links: list[str]) -> bool:
    """Give an indexed story more links without re-embedding it: its vectors are written back as they are.
    True when anything was written."""
    got = writer.collection.get(where={"story_id": story_id}, include=["documents", "metadatas", "embeddings"])
    if not got["ids"]:
        return False
    chunks = _rows(got)
    vectors = np.asarray(got["embeddings"], dtype=np.float32)
    keep = []
    for i, chunk in enumerate(chunks):
        merged = merge_links(chunk.links, links)
        if merged != chunk.links:
            chunk.links = merged
            keep.append(i)
    if keep:
        writer.upsert([chunks[i] for i in keep], vectors[keep])
    return bool(keep)


def _issue_signature(story: Story) -> Signature:
    return Signature.of(key=story.story_id, source=source_key(kind=story.source_kind.value, issue_id=story.issue_id,
                                                              source_name=story.source_name),
                        headline=story.headline, body=story.body, url=story.url, day=story.date)


def link_issue_repeats(writer: IndexWriter, issues: list[Issue], *, index_dir: Path) -> int:
    """Inside an ingest's write: indexed feed entries that tell a story of `issues` become aliases of it (their
    chunks are deleted, their links join the story's), and every story of `issues` that feed entries were
    linked to before (a re-ingested issue is written with its own links only) gets their links back. No
    embedding either way. Returns the number of feed entries linked now."""
    if not (index_dir / STATE_FILE).is_file():
        return 0  # no feed was ever refreshed into this index
    state = FeedState.load(index_dir)
    if not state.feeds:
        return 0
    stories = sorted((s for i in issues for s in i.stories if s.source_kind == SourceKind.NEWSLETTER
                      and not writer.sources.is_excluded(s.story_id, s.url)),
                     key=lambda s: (s.date or date.max, s.issue_id, s.index))
    got = writer.collection.get(where={"source_kind": SourceKind.FEED.value}, include=["documents", "metadatas"])
    entries = known_stories(_rows(got))
    finder = DuplicateFinder()
    for sid, known in entries.items():
        finder.add(known.signature(sid))
    linked = 0
    # The entry's chunks are merged into the story, not removed from the archive: the ingest's "removed" count
    # stays about the issue's own vanished stories.
    removed = writer.removed
    for story in stories:
        for match in finder.find_all(_issue_signature(story)):
            entry = entries[match.key]
            finder.discard(match.key)   # one entry repeats one story
            writer.delete_where({"story_id": match.key})
            state.aliases[match.key] = Alias(primary=story.story_id, feed=entry.feed, links=list(entry.links),
                                             reason=match.reason, headline=entry.headline)
            for alias in state.aliases.values():  # the entry's own repeats now point at the story too
                if alias.primary == match.key:
                    alias.primary = story.story_id
            linked += 1
    writer.removed = removed
    wanted: dict[str, list[str]] = {}
    for alias in state.aliases.values():
        wanted.setdefault(alias.primary, []).extend(alias.links)
    for story in stories:
        if story.story_id in wanted:
            relink(writer, story.story_id, wanted[story.story_id])
    if linked:
        state.save()
    return linked
