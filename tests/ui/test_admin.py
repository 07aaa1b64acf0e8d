"""The Admin tab's operations without the browser: safe uploads, the feed list, refresh and rebuild wiring,
and the escaping/sanitising helpers every tab renders through."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from assistant.records import Answer, Citation
from assistant.ui import admin, render
from tests.conftest import SEED_DIR, make_settings

RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Harbour Notes</title><link>https://example.com/</link>
<item><title>Bergen ferry trial extended</title><link>https://example.com/ferry</link>
<pubDate>Mon, 01 Jun 2026 08:00:00 GMT</pubDate>
<description>The autonomous ferry trial in Bergen was extended by six months after a quiet winter.</description></item>
<item><title>Oslo port adds shore power</title><link>https://example.com/shore</link>
<pubDate>Tue, 02 Jun 2026 08:00:00 GMT</pubDate>
<description>The port of Oslo added shore power for three more cruise berths this spring.</description></item>
</channel></rss>
"""


@pytest.mark.parametrize(("name", "expected"), [
    ("issue.md", "issue.md"),
    ("../../etc/passwd.md", "passwd.md"),
    ("C:\\Users\\me\\Weekly #7 (final).HTML", "Weekly-7-final.html"),
    ("..md", "issue.md"),
    ("Ünïcode name.txt", "Unicode-name.txt"),
])
def test_upload_names_are_made_safe(name: str, expected: str) -> None:
    assert admin.safe_upload_name(name) == expected


@pytest.mark.parametrize("name", ["payload.exe", "noextension", "archive.md.zip", ".bashrc"])
def test_upload_types_outside_the_issue_formats_are_refused(name: str) -> None:
    with pytest.raises(admin.UploadError, match="unsupported file type"):
        admin.safe_upload_name(name)


def test_store_upload_caps_size_and_files_by_newsletter(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "idx", max_upload_bytes=100)
    src = tmp_path / "in.md"
    src.write_text("# A\nshort issue\n")
    stored = admin.store_upload(settings, src, original_name="../My Issue.md", source_name="The Daily Byte")
    assert stored == settings.index_dir / "uploads" / "the-daily-byte" / "My-Issue.md"
    assert stored.read_text() == src.read_text()
    src.write_text("x" * 101)
    with pytest.raises(admin.UploadError, match="limit is 100"):
        admin.store_upload(settings, src, original_name="big.md")
    src.write_text("")
    with pytest.raises(admin.UploadError, match="empty"):
        admin.store_upload(settings, src, original_name="empty.md")


@pytest.fixture
def small_desk(tmp_path: Path, embedder: Any) -> Any:
    from assistant.pipeline import Newsdesk

    settings: Settings = make_settings(tmp_path / "idx", feeds_file=tmp_path / "feeds.opml")
    desk = Newsdesk(settings)
    desk.__dict__["embedder"] = embedder
    desk.ingest([SEED_DIR])
    return desk


def test_feeds_are_added_refreshed_and_removed(small_desk: Any, tmp_path: Path) -> None:
    feed = tmp_path / "harbour.xml"
    feed.write_text(RSS)
    with pytest.raises(ValueError, match="no such local feed file"):
        admin.add_feed(small_desk, str(tmp_path / "missing.xml"), None)
    assert admin.add_feed(small_desk, str(feed), "Harbour Notes").startswith("added Harbour Notes")
    assert "already in the feed list" in admin.add_feed(small_desk, str(feed), None)
    assert [f["name"] for f in admin.list_feeds(small_desk)] == ["Harbour Notes"]

    calls: list[tuple[int, int]] = []
    message = admin.refresh_feeds(small_desk, lambda done, total: calls.append((done, total)))
    assert message.startswith("1 feeds read: 2 new"), message
    assert calls and small_desk.stats().stories == 5 + 2
    found = small_desk.archive("Bergen ferry trial")
    assert found.total == 1 and found.hits[0].url == "https://example.com/ferry"

    assert "removed Harbour Notes" in admin.remove_feed(small_desk, str(feed))
    assert admin.list_feeds(small_desk) == []
    with pytest.raises(LookupError, match="no feed in the list"):
        admin.remove_feed(small_desk, "https://example.com/none.xml")


def test_rebuild_reports_the_new_version(small_desk: Any) -> None:
    before = small_desk.stats().version
    calls: list[tuple[int, int]] = []
    message = admin.rebuild_index(small_desk, lambda done, total: calls.append((done, total)))
    after = small_desk.stats()
    assert after.version != before and f"index version {after.version}" in message
    assert after.stories == 5 and calls


def test_answer_markdown_links_only_citations_to_http_sources() -> None:
    answer = Answer(
        answer="Chips <img src=x onerror=alert(1)> [click](javascript:alert(1)) shipped. [1] Also [2]\n"
               "[2]: javascript:x",
        refused=False,
        citations=[Citation(n=1, issue="I", date=None, headline="H", url="https://ex.com/a(b)", snippet="s",
                            score=1.0),
                   Citation(n=2, issue="I", date=None, headline="H2", url="javascript:alert(2)", snippet="s",
                            score=1.0)])
    md = render.answer_markdown(answer)
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    assert "\\[click\\](javascript:alert(1))" in md  # shown as text, not a link
    assert '[\\[1\\]](https://ex.com/a%28b%29 "source 1")' in md
    assert "Also [2]" in md and "\\[2\\]: javascript:x" in md  # no reference-style link can form


def test_html_is_escaped_then_sanitised() -> None:
    hostile = Citation(n=1, issue="<b>I</b>", date="2026-01-01", headline="<script>alert(1)</script>",
                       url="javascript:alert(1)", snippet="<img src=x onerror=alert(1)>", score=1.0,
                       source_name='S" onmouseover="alert(1)')
    card = render.sources_panel(Answer(answer="x [1]", refused=False, citations=[hostile]))
    assert "<script" not in card and "<img" not in card and "javascript:" not in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card and "link withheld" in card
    # nh3 is the second line: markup that slipped through the escaping still loses scripts and handlers.
    cleaned = render.sanitize('<p onclick="x()">ok<script>alert(1)</script><a href="javascript:y">l</a></p>')
    assert cleaned == '<p>ok<a rel="noopener noreferrer nofollow">l</a></p>'
    assert render.safe_url(" https://ex.com/x y") is None and render.safe_url("//ex.com") is None
