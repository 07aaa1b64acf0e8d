"""Reading one feed for a refresh: fetch it politely (or read the file), parse it, and find which entries are
new or changed since the last refresh (by fingerprint). Never raises: a failure becomes the outcome's status
and its one-line reason, so one broken feed never stops the others."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import Settings
from assistant.sources.feedlist import FeedSpec
from assistant.sources.feeds import FeedEntry, FeedError, ParsedFeed, parse_feed
from assistant.sources.feedstate import FeedMemo
from assistant.sources.fetch import Fetcher, FetchError
from assistant.sources.fulltext import fetch_full_text
from assistant.sources.urlmask import mask_url, mask_urls_in

OK, NOT_MODIFIED, FAILED = "ok", "not modified", "failed"


@dataclass
class FeedOutcome:
    feed_id: str
    url: str
    title: str
    status: str = OK
    reason: str = ""
    format: str = ""
    entries: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0        # duplicates of another story: linked to it, not embedded
    excluded: int = 0      # removed earlier with `newsdesk remove`; never re-added
    full_text: int = 0     # article pages read
    skipped: list[str] = field(default_factory=list)
    warning: str | None = None
    seconds: float = 0.0



@dataclass
class FeedRead:
    spec: FeedSpec
    outcome: FeedOutcome
    parsed: ParsedFeed | None = None
    changed: list[FeedEntry] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    moved_to: str | None = None


def read_feed(spec: FeedSpec, *, feed_id: str, base_dir: Path, memo: FeedMemo, fetcher: Fetcher,
              settings: Settings, force: bool = False) -> FeedRead:
    """Fetch (or read) and parse one feed; never raises: failures become the outcome's status and reason."""
    started = time.monotonic()
    shown = mask_url(spec.url)  # the outcome is what gets printed: never the feed's credentials
    read = FeedRead(spec=spec, outcome=FeedOutcome(feed_id=feed_id, url=shown, title=spec.title or memo.title
                                                 or shown),
                 etag=memo.etag, last_modified=memo.last_modified, sha256=memo.sha256, moved_to=memo.moved_to)
    out = read.outcome
    try:
        url: str | None = None
        content_type: str | None = None
        if spec.remote:
            result = fetcher.get(memo.moved_to or spec.url, etag=None if force else memo.etag,
                                 last_modified=None if force else memo.last_modified)
            read.etag, read.last_modified = result.etag, result.last_modified
            read.moved_to = result.moved_to or memo.moved_to
            if result.not_modified:
                out.status = NOT_MODIFIED
                return read
            data, url, content_type = result.body, result.final_url, result.content_type
        else:
            path = spec.path(base_dir)
            if not path.is_file():
                raise FeedError(f"no such file: {path}")
            if path.stat().st_size > settings.feed_max_bytes:
                raise FeedError(f"file is {path.stat().st_size:,} bytes; the limit is {settings.feed_max_bytes:,} "
                                "(NEWSDESK_FEED_MAX_BYTES)")
            data = path.read_bytes()
            read.sha256 = hashlib.sha256(data).hexdigest()
            if not force and read.sha256 == memo.sha256:
                out.status = NOT_MODIFIED
                return read
        parsed = parse_feed(data, feed_id=feed_id, url=url, content_type=content_type,
                            fallback_title=spec.title, max_chars=settings.feed_entry_max_chars,
                            max_entries=settings.feed_max_entries, max_seconds=settings.feed_parse_seconds)
        read.parsed = parsed
        out.title, out.format, out.entries = spec.title or parsed.title, parsed.format, len(parsed.entries)
        # Caps that applied ride on the warning, the one-line note the refresh summary already prints per feed.
        out.skipped, out.warning = parsed.skipped, "; ".join(filter(None, [parsed.warning, *parsed.notes])) or None
        read.changed = [e for e in parsed.entries if force or memo.entries.get(e.story.story_id) != e.fingerprint]
        out.unchanged = len(parsed.entries) - len(read.changed)
        if spec.full_text:
            _add_full_text(read, fetcher)
    except (FetchError, FeedError) as exc:
        out.status, out.reason = FAILED, mask_urls_in(str(exc))
    except OSError as exc:
        out.status, out.reason = FAILED, f"cannot read: {exc.strerror or exc}"
    finally:
        out.seconds = time.monotonic() - started
    return read


def _add_full_text(read: FeedRead, fetcher: Fetcher) -> None:
    """Only for new or changed entries: an unchanged entry's page is never fetched again."""
    for entry in read.changed:
        story = entry.story
        if not story.url:
            continue
        got = fetch_full_text(fetcher, story.url)
        read.outcome.full_text += 1
        if got.text and len(got.text) > len(story.body):
            story.body = got.text
        elif got.text is None:
            read.outcome.skipped.append(f"full text of {mask_url(story.url)}: {got.reason}; kept the feed's text")
