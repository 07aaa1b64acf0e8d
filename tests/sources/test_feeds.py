"""Feed parsing: real feeds match their SOURCE.md table, every feedparser test case is parsed or rejected with
one line, HTML becomes clean text, legacy encodings decode, entries get stable identities, OPML round-trips."""

from __future__ import annotations

import bz2
import json
import re
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.records import SourceKind
from assistant.sources.feedlist import FeedList, FeedListError, FeedSpec, feed_id_for
from assistant.sources.feedread import FAILED, OK, read_feed
from assistant.sources.feeds import FeedError, parse_feed
from assistant.sources.feedstate import FeedMemo
from assistant.sources.fetch import Fetcher
from assistant.sources.fulltext import extract_main_text
from tests.conftest import SHARED

REAL = SHARED / "feeds" / "real"
CASES = SHARED / "feeds" / "feedparser-tests"
FORMATS = {"rss20": "RSS 2.0", "atom10": "Atom 1.0", "rss10": "RSS 1.0 (RDF)", "JSON Feed": "JSON Feed 1",
           "rss": "RSS"}


def source_table() -> list[dict[str, str]]:
    rows = []
    for line in (REAL / "SOURCE.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and "/" in cells[0] and not cells[0].startswith("-"):
            rows.append(dict(zip(("file", "bytes", "detected", "bozo", "entries", "title", "newest", "oldest"),
                                 cells, strict=True)))
    return rows


def parse_file(path: Path) -> object:
    return parse_feed(path.read_bytes(), feed_id="feed-test", fallback_title=path.stem)


# ---------------------------------------------------------------- the 27 real feeds


def test_real_feeds_match_the_source_table() -> None:
    rows = source_table()
    assert len(rows) == 27
    total = 0
    for row in rows:
        parsed = parse_feed((REAL / row["file"]).read_bytes(), feed_id="feed-test")
        total += len(parsed.entries)
        assert len(parsed.entries) == int(row["entries"]), row["file"]
        assert parsed.skipped == [], row["file"]
        detected = re.sub(r"[*()]", "", row["detected"]).split(",")[0].split()[0]
        detected = "JSON Feed" if detected == "JSON" else detected
        assert parsed.format.startswith(FORMATS[detected]), (row["file"], parsed.format)
        days = [e.story.date for e in parsed.entries if e.story.date]
        newest, oldest = row["newest"].split()[0], row["oldest"].split()[0]
        if newest == "–":
            assert days == [], row["file"]
            continue
        if row["file"].endswith(".json"):
            # The table gives JSON Feed dates as the publisher's local day; stories carry UTC days.
            raw = json.loads((REAL / row["file"]).read_text())["items"]
            local = [datetime.fromisoformat(i["date_published"]) for i in raw]
            assert str(max(d.date() for d in local)) == newest and str(min(d.date() for d in local)) == oldest
            assert max(days) == max(d.astimezone(timezone.utc).date() for d in local)
            continue
        assert (str(max(days)), str(min(days))) == (newest, oldest), row["file"]
    assert total == 610


def test_real_entries_become_complete_feed_stories() -> None:
    parsed = parse_feed((REAL / "rbren-rss-parser" / "guardian.rss").read_bytes(), feed_id="feed-guardian")
    story = parsed.entries[0].story
    assert story.source_kind is SourceKind.FEED and story.issue_id == "feed-guardian"
    assert story.issue_title == story.source_name == "The Guardian"
    assert story.story_id.startswith("feed-guardian:") and story.date == date(2018, 1, 31)
    assert story.headline.startswith("Trump State of the Union") and story.author == "David Smith in Washington"
    assert "Donald Trump" in story.tags and story.url and story.url.startswith("https://www.theguardian.com/")
    assert story.links == [story.url] and len(story.body.split()) > 10


def test_legacy_and_declared_encodings_decode() -> None:
    def title(rel: str) -> str:
        return parse_feed((REAL / rel).read_bytes(), feed_id="f").title

    assert title("ranchero-rsparser/kc0011.rss").startswith("投资资讯网交易在线")         # gb2312 declared
    assert title("rbren-rss-parser/encoding.rss").startswith("Jornal de Notícias")   # ISO-8859-1 declared
    uol = parse_feed((REAL / "rbren-rss-parser/uolNoticias.rss").read_bytes(), feed_id="f")
    assert any("simulações" in e.story.headline for e in uol.entries)                  # undeclared Latin-1
    expected = {"koi8r.xml": "Как пережить", "eucjp.xml": "ゲーム三昧", "gb2312.xml": "不归移民漫画",
                "euckr.xml": "한글닉네임", "shiftjis.xml": "記事投稿"}
    for name, text in expected.items():  # no encoding declared anywhere: detected from the bytes
        parsed = parse_feed((CASES / "illformed" / "chardet" / name).read_bytes(), feed_id="f")
        assert text in parsed.entries[0].story.headline, name


# ---------------------------------------------------------------- 2,107 hostile cases


def test_every_feedparser_case_goes_through_the_refresh_reader(tmp_path: Path) -> None:
    """The refresh's own per-feed reader (file read, size cap, parse, isolation), parse only: no embedding."""
    files = sorted(p for p in CASES.rglob("*") if p.is_file() and p.name not in ("LICENSE", "SOURCE.md"))
    assert len(files) == 2107
    settings = Settings(index_dir=tmp_path)
    rejected: list[str] = []
    entries = 0
    with Fetcher.from_settings(settings) as fetcher:
        for path in files:
            spec = FeedSpec(url=str(path))
            read = read_feed(spec, feed_id=spec.feed_id, base_dir=CASES, memo=FeedMemo(), fetcher=fetcher,
                             settings=settings)
            if read.outcome.status == FAILED:
                reason = read.outcome.reason
                assert reason and "\n" not in reason and len(reason) < 250 and "Traceback" not in reason, path
                rejected.append(f"{path.relative_to(CASES)}: {reason}")
                continue
            assert read.outcome.status == OK and read.parsed is not None, path
            entries += len(read.parsed.entries)
            for entry in read.parsed.entries:
                for text in (entry.story.headline, entry.story.body):
                    low = text.lower()
                    # Nothing executable survives: the sanitize/ cases embed scripts, styles, iframes, handlers.
                    assert "<script" not in low and "<style" not in low and "<iframe" not in low, path
                assert entry.story.story_id.startswith(spec.feed_id + ":")
    # What is rejected is not a feed at all: an empty document and CDF files without channel data.
    assert len(rejected) <= 10, rejected
    assert any("rss_empty_document" in line and "XML error" in line for line in rejected)
    assert entries > 400


def test_sanitize_cases_leave_clean_text() -> None:
    folder = CASES / "wellformed" / "sanitize"
    checked = 0
    for path in sorted(folder.glob("*.xml")):
        for entry in parse_feed(path.read_bytes(), feed_id="f").entries:
            text = f"{entry.story.headline}\n{entry.story.body}".lower()
            assert "javascript:" not in text and "onerror=" not in text and "alert(" not in text, path
            checked += 1
    assert checked > 150


# ---------------------------------------------------------------- clean text


HOSTILE = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Hostile &amp; Co</title><link>https://hostile.example/</link>
<item><title>Markets &lt;b&gt;rally&lt;/b&gt;</title><guid isPermaLink="false">post-1</guid>
<link>https://hostile.example/markets?utm_source=rss&amp;utm_medium=feed&amp;id=7</link>
<content:encoded><![CDATA[<p>Stocks rose on Tuesday.</p><script>document.write('tracker')</script>
<style>.x{color:red}</style><img src="https://pixel.example/p.gif" width="1" height="1">
<div style="display:none">hidden preheader</div><iframe src="https://ads.example/"></iframe>
<div class="feedflare"><a href="https://feeds.example/share">Share on Facebook</a></div>
<p>Bonds were flat.</p><p>The post Markets rally appeared first on Hostile News.</p>
<p>Continue reading &rarr;</p>]]></content:encoded></item>
</channel></rss>"""


def test_html_in_entries_becomes_clean_text() -> None:
    parsed = parse_feed(HOSTILE, feed_id="feed-h")
    story = parsed.entries[0].story
    assert parsed.title == "Hostile & Co" and story.headline == "Markets rally"
    assert story.body == "Stocks rose on Tuesday.\n\nBonds were flat."
    assert story.url == "https://hostile.example/markets?id=7"  # tracking parameters stripped


def test_not_feeds_are_rejected_with_a_reason() -> None:
    cases = {b"": "empty document", b"<!doctype html><html><title>x</title><body>hi</body></html>": "HTML page",
             b'{"a": 1}': "jsonfeed.org", b"{nope": "invalid JSON", b"\x00\x01\x02binary": "not a feed"}
    for data, reason in cases.items():
        with pytest.raises(FeedError, match=reason):
            parse_feed(data, feed_id="f")


# ---------------------------------------------------------------- identity


def _rss(items: str) -> bytes:
    return f'<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def test_identity_guid_then_canonical_link_then_content_hash() -> None:
    with_guid = parse_feed(_rss("<item><guid>abc-1</guid><title>A</title><link>https://x.org/a</link></item>"),
                           feed_id="f").entries[0]
    assert with_guid.identity == "guid:abc-1"
    a = parse_feed(_rss("<item><title>A</title><link>https://www.x.org/a/?utm_source=rss&amp;fbclid=1</link>"
                        "</item>"), feed_id="f").entries[0]
    b = parse_feed(_rss("<item><title>A changed</title><link>http://x.org/a</link></item>"), feed_id="f").entries[0]
    assert a.identity == b.identity == "link:x.org/a"  # same entry: tracking, www, scheme, slash ignored
    assert a.story.story_id == b.story.story_id and a.fingerprint != b.fingerprint
    c = parse_feed(_rss("<item><title>No link</title><description>Only text.</description></item>"),
                   feed_id="f").entries[0]
    assert c.identity.startswith("hash:")


def test_reused_guids_keep_different_posts_apart() -> None:
    parsed = parse_feed((REAL / "ranchero-rsparser" / "scriptingNews.rss").read_bytes(), feed_id="f")
    ids = [e.story.story_id for e in parsed.entries]
    assert len(ids) == len(set(ids)) == 50
    repeat = parse_feed(_rss("<item><guid>g</guid><title>Same</title></item>" * 2), feed_id="f")
    assert len(repeat.entries) == 1 and repeat.skipped == ["entry 2: repeats entry 1; kept the first"]


def test_untitled_entries_get_a_headline_from_their_text() -> None:
    story = parse_feed(_rss("<item><description>One line note about the weather today in Utrecht and more "
                            "words beyond the headline limit here.</description></item>"), feed_id="f"
                       ).entries[0].story
    assert story.headline.startswith("One line note") and story.headline.endswith("…")


# ---------------------------------------------------------------- JSON Feed


def test_json_feed_items_become_stories() -> None:
    parsed = parse_feed((REAL / "ranchero-rsparser" / "inessential.json").read_bytes(), feed_id="f")
    assert parsed.format == "JSON Feed 1" and parsed.title == "inessential.com" and len(parsed.entries) == 20
    story = parsed.entries[0].story
    assert story.author == "Brent Simmons" and story.date == date(2017, 6, 3)  # 22:05 -07:00 is the 3rd in UTC
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "J", "home_page_url": "https://j.example/",
           "items": [{"id": 7, "url": "/p/7?utm_campaign=x", "external_url": "https://news.example/a",
                      "title": "Seven", "content_html": "<p>Body <script>x()</script>text</p>",
                      "date_modified": "2024-02-29T23:30:00-02:00", "tags": ["a", "b"],
                      "authors": [{"name": "Ann"}, {"name": "Bo"}]}, "not an object"]}
    parsed = parse_feed(json.dumps(doc).encode(), feed_id="f")
    story = parsed.entries[0].story
    assert (story.headline, story.body, story.url) == ("Seven", "Body text", "https://j.example/p/7")
    assert story.links == ["https://j.example/p/7", "https://news.example/a"] and story.tags == ["a", "b"]
    assert story.author == "Ann, Bo" and story.date == date(2024, 3, 1) and parsed.entries[0].identity == "guid:7"
    assert parsed.skipped == ["entry 2: not a JSON object"]


# ---------------------------------------------------------------- full text


def test_full_text_extraction_on_stored_pages() -> None:
    with bz2.open(SHARED / "benchmarks" / "crag-sample" / "dev_data.jsonl.bz2", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    page = next(p for r in rows for p in r["search_results"] if "npr.org/2020/03/31" in p["page_url"])
    html = page["page_result"]
    assert "<script" in html
    text = extract_main_text(html, url=page["page_url"])
    assert text and len(text.split()) > 1000
    assert "heaven" in text.lower() and "<script" not in text and "function(" not in text
    assert extract_main_text("<html><body><nav>Home</nav></body></html>") is None


# ---------------------------------------------------------------- the feed list (OPML)


def test_opml_round_trip_add_remove_import(tmp_path: Path) -> None:
    path = tmp_path / "feeds.opml"
    flist = FeedList.load(path)
    assert flist.feeds == []
    assert flist.add(FeedSpec(url="https://a.example/feed.xml", title="A", full_text=True, category="News"))
    assert not flist.add(FeedSpec(url="http://www.a.example/feed.xml/?utm_source=x"))  # the same feed
    assert flist.add(FeedSpec(url="local/b.atom", title="B", extra={"color": "red"}))
    flist.save()
    again = FeedList.load(path)
    assert [(f.url, f.title, f.full_text, f.category) for f in again.feeds] == [
        ("https://a.example/feed.xml", "A", True, "News"), ("local/b.atom", "B", False, "")]
    assert again.feeds[1].extra == {"color": "red"} and again.feeds[1].path(tmp_path) == tmp_path / "local/b.atom"
    assert again.find(feed_id_for("local/b.atom")) == [again.feeds[1]] and again.find("a")[0].title == "A"
    other = tmp_path / "sub" / "reader-export.opml"
    other.parent.mkdir()
    other.write_text('<?xml version="1.0"?><opml version="1.0"><head><title>Export</title></head><body>'
                     '<outline text="Tech"><outline type="rss" text="C" xmlUrl="https://c.example/rss"/>'
                     '<outline type="rss" text="A again" xmlUrl="https://a.example/feed.xml"/></outline>'
                     '<outline text="Local" xmlUrl="c.xml"/></body></opml>')
    added, skipped = again.merge(FeedList.load(other))
    assert [f.url for f in added] == ["https://c.example/rss", "sub/c.xml"] and len(skipped) == 1
    assert added[0].category == "Tech"
    assert [f.title for f in again.remove("https://c.example/rss")] == ["C"]
    assert again.remove("nothing") == []


def test_opml_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_text("<opml><body><outline")
    with pytest.raises(FeedListError, match="not valid OPML"):
        FeedList.load(bad)
    bad.write_text("<rss/>")
    with pytest.raises(FeedListError, match="not OPML"):
        FeedList.load(bad)
    with pytest.raises(FeedListError, match="no feed list"):
        FeedList.load(tmp_path / "missing.opml", missing_ok=False)


def test_bundled_feed_list_reads() -> None:
    from assistant.config import REPO_ROOT

    flist = FeedList.load(REPO_ROOT / "corpus" / "feeds.opml", missing_ok=False)
    assert len(flist.feeds) == 4
    for spec in flist.feeds:
        parsed = parse_feed(spec.path(flist.base_dir).read_bytes(), feed_id=spec.feed_id)
        assert parsed.entries, spec.url
