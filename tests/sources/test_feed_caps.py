"""Caps on one feed (sources/feeds.py): the newest NEWSDESK_FEED_MAX_ENTRIES entries, and a parse deadline
(NEWSDESK_FEED_PARSE_SECONDS); each cap that applied is one line on the feed's outcome."""

from __future__ import annotations

import json
import random
import time
import types
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.sources import feeds
from assistant.sources.feedlist import FeedSpec
from assistant.sources.feedread import FAILED, OK, read_feed
from assistant.sources.feeds import FeedError, parse_feed
from assistant.sources.feedstate import FeedMemo
from assistant.sources.fetch import Fetcher

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def rss(count: int, *, order: list[int] | None = None, dated: bool = True) -> bytes:
    """`count` small entries; entry i is dated START + i minutes, written in `order` (default: oldest first,
    so the newest are at the end of the document)."""
    parts = [b'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>']
    for i in order if order is not None else range(count):
        date = f"<pubDate>{format_datetime(START + timedelta(minutes=i), usegmt=True)}</pubDate>" if dated else ""
        parts.append(f"<item><guid>g{i}</guid><title>E{i}</title>{date}</item>".encode())
    parts.append(b"</channel></rss>")
    return b"".join(parts)


def guids(parsed: feeds.ParsedFeed) -> list[int]:
    return [int(e.identity.rsplit("g", 1)[1]) for e in parsed.entries]


def test_a_100000_entry_feed_keeps_the_newest_500_in_bounded_time(tmp_path: Path) -> None:
    path = tmp_path / "big.xml"
    path.write_bytes(rss(100_000))
    assert path.stat().st_size > 9_000_000
    settings = Settings(index_dir=tmp_path / "index", feed_max_bytes=20_000_000, feed_parse_seconds=300)
    assert settings.feed_max_entries == 500
    spec = FeedSpec(url=str(path))
    started = time.monotonic()
    with Fetcher.from_settings(settings) as fetcher:
        read = read_feed(spec, feed_id=spec.feed_id, base_dir=tmp_path, memo=FeedMemo(), fetcher=fetcher,
                         settings=settings)
    seconds = time.monotonic() - started
    out = read.outcome
    assert out.status == OK, out.reason
    assert out.entries == 500 and read.parsed is not None
    assert guids(read.parsed) == list(range(99_500, 100_000))  # the newest, not the first in the document
    assert read.parsed.entries[0].story.index == 99_500          # numbered by their place in the document
    assert out.warning == "kept the newest 500 of 100,000 entries (NEWSDESK_FEED_MAX_ENTRIES)"
    # feedparser's own pass over 10 MB takes ~9 s on a quiet 2-core machine; ours is 500 entries on top.
    assert seconds < 90, seconds


def test_newest_by_date_wherever_they_stand_and_undated_last() -> None:
    order = list(range(2_000))
    random.Random(7).shuffle(order)
    parsed = parse_feed(rss(2_000, order=order), feed_id="f", max_entries=25)
    assert sorted(guids(parsed)) == list(range(1_975, 2_000))
    assert guids(parsed) == [i for i in order if i >= 1_975]  # document order kept
    assert parsed.notes == ["kept the newest 25 of 2,000 entries (NEWSDESK_FEED_MAX_ENTRIES)"]
    undated = parse_feed(rss(100, dated=False), feed_id="f", max_entries=10)
    assert guids(undated) == list(range(10))  # no dates: the first ones (feeds list newest first)
    small = parse_feed(rss(10), feed_id="f", max_entries=10)
    assert len(small.entries) == 10 and small.notes == []


def test_json_feed_is_capped_too() -> None:
    items = [{"id": f"g{i}", "title": f"E{i}", "content_text": "text",
              "date_published": (START + timedelta(days=i)).isoformat()} for i in range(300)]
    items.insert(5, "not an object")
    data = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": items}).encode()
    parsed = parse_feed(data, feed_id="j", max_entries=7)
    assert guids(parsed) == list(range(293, 300)) and parsed.notes[0].startswith("kept the newest 7 of 301")


def test_parse_deadline_keeps_the_entries_done(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = iter(range(1_000_000))  # a clock that moves one second each time it is read
    monkeypatch.setattr(feeds, "time", types.SimpleNamespace(monotonic=lambda: float(next(ticks)),
                                                             struct_time=time.struct_time))
    parsed = parse_feed(rss(50), feed_id="f", max_seconds=10.5)
    assert 0 < len(parsed.entries) < 50
    assert parsed.notes == [f"parsing stopped at the 10.5 s limit (NEWSDESK_FEED_PARSE_SECONDS): "
                            f"kept {len(parsed.entries)} of 50 entries"]


def test_parse_deadline_with_nothing_done_fails_the_feed(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=r"^parsing took longer than 1e-06 s \(NEWSDESK_FEED_PARSE_SECONDS\)$"):
        parse_feed(rss(2_000), feed_id="f", max_seconds=1e-6)
    path = tmp_path / "f.xml"
    path.write_bytes(rss(2_000))
    settings = Settings(index_dir=tmp_path / "index", feed_parse_seconds=1e-6)
    spec = FeedSpec(url=str(path))
    with Fetcher.from_settings(settings) as fetcher:
        read = read_feed(spec, feed_id=spec.feed_id, base_dir=tmp_path, memo=FeedMemo(), fetcher=fetcher,
                         settings=settings)
    assert read.outcome.status == FAILED and "NEWSDESK_FEED_PARSE_SECONDS" in read.outcome.reason
