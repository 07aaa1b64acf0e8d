"""The typed records that flow through the pipeline: Issue -> Story -> Chunk -> Citation / Answer."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import Enum
from typing import Any


class SourceKind(str, Enum):
    NEWSLETTER = "newsletter"
    FEED = "feed"


def content_hash(*parts: str) -> str:
    """Stable short hash used to skip re-embedding unchanged text."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:20]


@dataclass
class Story:
    """One item of an issue or one feed entry."""

    story_id: str
    issue_id: str
    issue_title: str
    index: int
    headline: str
    body: str
    section: str = ""
    date: date | None = None
    url: str | None = None
    links: list[str] = field(default_factory=list)
    source_kind: SourceKind = SourceKind.NEWSLETTER
    source_name: str = ""
    author: str = ""
    tags: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return f"{self.headline}\n{self.body}".strip() if self.body else self.headline


@dataclass
class Issue:
    """A parsed newsletter issue (or one feed's batch of entries)."""

    issue_id: str
    title: str
    date: date | None
    source_name: str
    path: str
    stories: list[Story] = field(default_factory=list)
    date_source: str = "unknown"


@dataclass
class Chunk:
    """The unit that is embedded and indexed; a story is one chunk unless it exceeds the model window."""

    chunk_id: str
    story_id: str
    chunk_index: int
    text: str
    content_hash: str
    issue_id: str
    issue_title: str
    headline: str
    section: str
    story_index: int
    date: str | None
    date_int: int
    url: str | None
    source_kind: str
    source_name: str
    links: list[str] = field(default_factory=list)
    author: str = ""
    tags: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for Chroma (scalars only; 0 stands for an unknown date so filters stay numeric)."""
        return {
            "story_id": self.story_id,
            "chunk_index": self.chunk_index,
            "content_hash": self.content_hash,
            "issue_id": self.issue_id,
            "issue_title": self.issue_title,
            "headline": self.headline,
            "section": self.section,
            "story_index": self.story_index,
            "date": self.date or "",
            "date_int": self.date_int,
            "url": self.url or "",
            "source_kind": self.source_kind,
            "source_name": self.source_name,
            "links": "\n".join(self.links),
            "author": self.author,
            "tags": "\n".join(self.tags),
        }

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
        return cls(
            chunk_id=chunk_id,
            story_id=str(meta.get("story_id", "")),
            chunk_index=int(meta.get("chunk_index", 0)),
            text=text,
            content_hash=str(meta.get("content_hash", "")),
            issue_id=str(meta.get("issue_id", "")),
            issue_title=str(meta.get("issue_title", "")),
            headline=str(meta.get("headline", "")),
            section=str(meta.get("section", "")),
            story_index=int(meta.get("story_index", 0)),
            date=str(meta.get("date")) or None,
            date_int=int(meta.get("date_int", 0)),
            url=str(meta.get("url")) or None,
            source_kind=str(meta.get("source_kind", "")),
            source_name=str(meta.get("source_name", "")),
            links=[x for x in str(meta.get("links", "")).split("\n") if x],
            author=str(meta.get("author", "") or ""),
            tags=[x for x in str(meta.get("tags", "") or "").split("\n") if x],
        )


@dataclass
class ScoredChunk:
    chunk: Chunk
    score: float
    dense: float | None = None
    lexical: float | None = None


@dataclass
class Citation:
    n: int
    issue: str
    date: str | None
    headline: str
    url: str | None
    snippet: str
    score: float
    supported: bool = True
    source_name: str = ""
    chunk_id: str = ""
    links: list[str] = field(default_factory=list)
    issue_id: str = ""


@dataclass
class Answer:
    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    unsupported_dropped: int = 0
    window: str | None = None
    suggestions: list[str] = field(default_factory=list)
    # Which tool answered (assistant/routing.py): fact, first_coverage, every_issue, count, evolution, briefing.
    kind: str = "fact"
    # Why the answer gate decided as it did (assistant/answer/gate.py Evidence); for calibration and debugging,
    # not part of the JSON output.
    gate: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "refused": self.refused,
            "citations": [
                {
                    "n": c.n,
                    "issue": c.issue,
                    "date": c.date,
                    "headline": c.headline,
                    "url": c.url,
                    "snippet": c.snippet,
                    "score": round(float(c.score), 4),
                    "supported": c.supported,
                    "source": c.source_name,
                    "links": c.links,
                    "issue_id": c.issue_id,
                }
                for c in self.citations
            ],
            "unsupported_dropped": self.unsupported_dropped,
            "window": self.window,
            "suggestions": self.suggestions,
            "kind": self.kind,
        }


def as_dict(obj: Any) -> dict[str, Any]:
    return asdict(obj)


@dataclass
class Filters:
    """Retrieval filters; every field optional. Dates are inclusive."""

    since: date | None = None
    until: date | None = None
    sources: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"the date range is empty: since {self.since} is after until {self.until}")

    @property
    def empty(self) -> bool:
        return not (self.since or self.until or self.sources or self.sections or self.issues or self.kinds)

    def describe(self) -> str:
        parts = []
        if self.since or self.until:
            parts.append(f"{self.since or '…'} to {self.until or '…'}")
        for label, values in (("source", self.sources), ("section", self.sections), ("issue", self.issues),
                              ("kind", self.kinds)):
            if values:
                parts.append(f"{label}: {', '.join(values)}")
        return "; ".join(parts)
