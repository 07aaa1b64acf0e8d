"""The Atom feed of daily briefings (assistant/briefing/atom.py): RFC 4287's required elements, a round trip
through feedparser, hostile feed text kept as escaped text, and the routes the web app serves it on."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path
from typing import Any

import feedparser
import pytest

from assistant.briefing.atom import FeedCache, atom_feed, briefing_days, xml_text
from assistant.briefing.brief import BriefingError
from assistant.briefing.deliver import briefing_links
from assistant.briefing.window import archive_view
from assistant.config import Settings
from assistant.index.reader import IndexReader
from assistant.pipeline import Newsdesk
from tests.briefing import smallindex
from tests.fakes import FakeEmbedder

A = "{http://www.w3.org/2005/Atom}"
BASE = "http://127.0.0.1:7860"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return smallindex.build(tmp_path_factory.mktemp("atom"), FakeEmbedder())


@pytest.fixture(scope="module")
def desk(settings: Settings) -> Newsdesk:
    return Newsdesk(settings)


@pytest.fixture(scope="module")
def reader(desk: Newsdesk) -> IndexReader:
    return desk.readers.get()


@pytest.fixture(scope="module")
def feed_xml(reader: IndexReader) -> bytes:
    return atom_feed(reader, base_url=BASE + "/", today=date(2026, 4, 1))


def test_one_entry_per_day_with_stories_in_the_last_30_days(reader: IndexReader) -> None:
    view = archive_view(reader)
    assert briefing_days(view, [], as_of=date(2026, 3, 18)) == sorted(smallindex.DAYS, reverse=True)
    assert briefing_days(view, [], as_of=date(2026, 3, 18), days=3) == [date(2026, 3, 18), date(2026, 3, 17),
                                                                        date(2026, 3, 16)]
    assert briefing_days(view, ["Wire Feed"], as_of=date(2026, 3, 18)) == [date(2026, 3, 18), date(2026, 3, 17)]


def test_required_atom_elements(feed_xml: bytes) -> None:
    root = ET.fromstring(feed_xml)
    assert root.tag == f"{A}feed"
    for tag in ("id", "title", "updated", "author"):
        assert root.find(f"{A}{tag}") is not None, tag
    assert root.findtext(f"{A}author/{A}name") == "Newsdesk"
    assert root.findtext(f"{A}id", "").startswith("urn:uuid:")
    assert root.findtext(f"{A}updated") == "2026-03-18T23:59:59Z"
    self_link = root.find(f"{A}link[@rel='self']")
    assert self_link is not None and self_link.get("href") == f"{BASE}/briefings.atom"
    entries = root.findall(f"{A}entry")
    assert len(entries) == 4
    ids = [e.findtext(f"{A}id") for e in entries]
    assert len(set(ids)) == 4 and all(i and i.startswith("urn:uuid:") for i in ids)
    for entry in entries:
        for tag in ("id", "title", "updated", "link", "content"):
            assert entry.find(f"{A}{tag}") is not None, tag
        content = entry.find(f"{A}content")
        assert content is not None and content.get("type") == "html"
    assert [e.findtext(f"{A}updated") for e in entries][-1] == "2026-03-02T23:59:59Z"


def test_round_trip_through_feedparser(feed_xml: bytes, reader: IndexReader) -> None:
    parsed = feedparser.parse(feed_xml)
    assert parsed.bozo is False or parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Newsdesk briefings" and parsed.feed.author == "Newsdesk"
    days = [e.link.rsplit("/", 1)[-1] for e in parsed.entries]
    assert days == ["2026-03-18.html", "2026-03-17.html", "2026-03-16.html", "2026-03-02.html"]
    assert all(e.link.startswith(f"{BASE}/briefings/") for e in parsed.entries)
    week = parsed.entries[2]
    assert week.title == "Briefing of 2026-03-16: Zephyrix Z-9 lunar lander reaches orbit (+1 more)"
    assert week.content[0].type == "text/html"
    # The day's links (and the developing story's first coverage) are in the entry, as links.
    from assistant.briefing.request import brief

    day = brief(reader, since=date(2026, 3, 16), until=date(2026, 3, 16))
    for link in briefing_links(day):
        assert f'href="{link.replace("&", "&amp;")}"' in week.content[0].value, link
    assert "Developing: first covered 2026-03-02 in Orbit Weekly #1" in week.content[0].value


def test_hostile_headline_stays_escaped_text(feed_xml: bytes) -> None:
    text = feed_xml.decode("utf-8")
    assert "<script>" not in text and "<b>" not in text and "<img" not in text
    parsed = feedparser.parse(feed_xml)
    hostile = parsed.entries[0]
    # The title is text: the reader shows the tags as characters.
    assert hostile.title == f"Briefing of 2026-03-18: {smallindex.HOSTILE_HEADLINE}"
    assert hostile.title_detail.type == "text/plain"
    body = hostile.content[0].value
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Quokka &lt;b&gt;bold&lt;/b&gt; &amp; co." in body
    assert "&lt;img src=x onerror=alert(2)&gt;" in body
    assert "<script" not in body and "<img" not in body and "javascript:" not in body


def test_text_xml_forbids_is_dropped_and_sources_filter(reader: IndexReader) -> None:
    assert xml_text("a\x00b\x1bc\ud800d\ufffe\tok\n") == "abcd\tok\n"
    wire = atom_feed(reader, base_url=BASE, sources=["wire feed"], today=date(2026, 4, 1))
    parsed = feedparser.parse(wire)
    assert not parsed.bozo and parsed.feed.title == "Newsdesk briefings: Wire Feed"
    assert len(parsed.entries) == 2 and parsed.feed.links[0].href == f"{BASE}/briefings.atom?source=Wire+Feed"
    everything = feedparser.parse(atom_feed(reader, base_url=BASE, today=date(2026, 4, 1)))
    assert parsed.feed.id != everything.feed.id and parsed.entries[0].id != everything.entries[0].id
    with pytest.raises(BriefingError, match="unknown source 'Nope'; the index has: Orbit Weekly, Wire Feed"):
        atom_feed(reader, base_url=BASE, sources=["Nope"])


def test_cache_builds_once_per_version(reader: IndexReader, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.briefing import atom

    calls: list[object] = []
    real = atom.atom_feed

    def counted(*args: Any, **kwargs: Any) -> bytes:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(atom, "atom_feed", counted)
    cache = FeedCache()
    first = cache.get(reader, base_url=BASE, today=date(2026, 4, 1))
    assert cache.get(reader, base_url=BASE, today=date(2026, 4, 1)) is first and len(calls) == 1


def test_routes_serve_the_feed_and_day_pages(desk: Newsdesk) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from assistant.ui.feed import add_briefing_routes

    app = FastAPI()
    add_briefing_routes(app, desk)
    client = TestClient(app)
    res = client.get("/briefings.atom")
    assert res.status_code == 200 and res.headers["content-type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(res.content)
    assert not parsed.bozo and len(parsed.entries) == 4
    page = client.get(parsed.entries[0].link.replace("http://testserver", ""))
    assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script" not in page.text
    missing = client.get("/briefings.atom?source=Nope")
    assert missing.status_code == 404 and missing.text.startswith("error: unknown source 'Nope'")
    assert client.get("/briefings/not-a-day.html").status_code == 404


def test_empty_index_is_a_503(tmp_path: Path) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from assistant.ui.feed import add_briefing_routes
    from tests.conftest import make_settings

    app = FastAPI()
    add_briefing_routes(app, Newsdesk(make_settings(tmp_path / "none")))
    res = TestClient(app).get("/briefings.atom")
    assert res.status_code == 503 and res.text.startswith("error: ") and len(res.text.splitlines()) == 1
