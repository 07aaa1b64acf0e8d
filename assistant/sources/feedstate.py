"""What a refresh remembers between runs, in <index_dir>/feeds-state.json (written atomically):

- per feed: the ETag and Last-Modified for conditional GET, a local file's sha256, where a 301 moved it, the
  last status and error, and a fingerprint per entry (an unchanged fingerprint costs nothing: no embedding,
  no article fetch);
- per linked duplicate ("alias"): the story it was linked to and its links, so the primary keeps listing them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.fileio import write_atomic

STATE_FILE = "feeds-state.json"
FORMAT = 1
log = logging.getLogger(__name__)


@dataclass
class FeedMemo:
    url: str = ""
    title: str = ""
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    moved_to: str | None = None
    status: str = ""
    error: str = ""
    checked: str | None = None
    last_ok: str | None = None
    entries: dict[str, str] = field(default_factory=dict)   # story id -> fingerprint

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeedMemo:
        memo = cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        memo.entries = {str(k): str(v) for k, v in (memo.entries or {}).items()}
        return memo


@dataclass
class Alias:
    primary: str          # story id of the story it was linked to
    feed: str             # feed id of the duplicate entry
    links: list[str]
    reason: str
    headline: str = ""


@dataclass
class FeedState:
    path: Path
    parser: int = 0
    # The index version this state was last checked against: while it is still current, no other writer
    # can have dropped the duplicates' links from their stories.
    index_version: str | None = None
    feeds: dict[str, FeedMemo] = field(default_factory=dict)
    aliases: dict[str, Alias] = field(default_factory=dict)   # duplicate's story id -> Alias

    @classmethod
    def load(cls, index_dir: Path) -> FeedState:
        path = index_dir / STATE_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(path=path, parser=int(data.get("parser", 0)), index_version=data.get("index_version"),
                       feeds={k: FeedMemo.from_json(v) for k, v in data.get("feeds", {}).items()},
                       aliases={k: Alias(**v) for k, v in data.get("aliases", {}).items()})
        except FileNotFoundError:
            return cls(path=path)
        except (ValueError, TypeError, AttributeError, OSError) as exc:
            # The state is a cache of what the index already holds: losing it costs one full re-read.
            log.warning("ignoring unreadable %s (%s); every feed is read again", path, exc)
            return cls(path=path)

    def memo(self, feed_id: str) -> FeedMemo:
        return self.feeds.setdefault(feed_id, FeedMemo())

    def forget_entries(self) -> None:
        """The index was emptied or replaced: nothing is known to be indexed any more."""
        for memo in self.feeds.values():
            memo.entries.clear()
            memo.etag = memo.last_modified = memo.sha256 = None
        self.aliases.clear()

    def forget_feed(self, feed_id: str) -> None:
        self.feeds.pop(feed_id, None)
        self.aliases = {k: v for k, v in self.aliases.items() if v.feed != feed_id}

    def aliases_of(self, primary: str) -> list[Alias]:
        return [a for a in self.aliases.values() if a.primary == primary]

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "parser": self.parser, "index_version": self.index_version,
                           "feeds": {k: asdict(v) for k, v in sorted(self.feeds.items())},
                           "aliases": {k: asdict(v) for k, v in sorted(self.aliases.items())}},
                          indent=1, ensure_ascii=False)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, self.to_json())
