"""The Briefing tab in a real browser (Debian chromium through Playwright) and the Atom feed the app serves:
clustered items with their sources, a date range and a source filter, the markdown to copy, and the hostile feed
entry (tests/ui/conftest.py) shown as text in the cards, the markdown and the feed. (This index has no
"developing" story: tests/briefing/test_briefing_tab_render.py checks those cards.)"""

from __future__ import annotations

import urllib.request
from typing import Any
from urllib.parse import quote

import feedparser
import pytest

from tests.ui.conftest import PAYLOAD_DATE, PAYLOAD_HEADLINE, PageWatch
from tests.ui.test_browser import assert_nothing_ran

pytestmark = pytest.mark.slow
PAYLOAD_SOURCE = "Payload Feed <img src=x onerror=\"window.__xss='source'\">"


def open_tab(page: Any) -> Any:
    page.get_by_role("tab", name="Briefing").click()
    items = page.locator("#nd-briefing .nd-brief-item")
    items.first.wait_for()
    return items


def brief_range(page: Any, since: str, until: str, source: str | None = None) -> Any:
    page.locator("#nd-brief-window").get_by_label("Date range").check()
    for elem, value in (("#nd-brief-since input", since), ("#nd-brief-until input", until)):
        page.locator(elem).fill(value)
        page.locator(elem).press("Enter")
    if source:
        page.locator("#nd-brief-source input").fill(source[:12])
        page.get_by_role("option", name=source).click()
        page.keyboard.press("Escape")
    page.locator("#nd-brief-go").click()
    page.wait_for_function("(w) => document.querySelector('#nd-briefing .nd-kind')?.innerText.includes(w)",
                           arg=f"{since} to {until}")
    return page.locator("#nd-briefing .nd-brief-item")


def markdown_text(page: Any) -> str:
    return str(page.locator("#nd-briefing-md .cm-content").inner_text())


def test_briefing_tab_shows_clusters_with_sources_and_markdown(watched: PageWatch) -> None:
    page = watched.page
    items = open_tab(page)  # the first visit briefs since the last issue at once
    assert items.count() >= 3
    first = items.first
    assert first.locator(".nd-brief-sources li").count() >= 1
    assert first.locator(".nd-headline a").get_attribute("href", timeout=5000).startswith("https://")
    assert "## Briefing" in markdown_text(page)
    assert page.locator("#nd-briefing-md button").count() >= 1  # the copy button

    items = brief_range(page, "2026-03-09", "2026-03-23", source="Last Week in AI")
    assert items.count() >= 5
    summary = page.locator("#nd-briefing .nd-kind").inner_text()
    assert "2026-03-09 to 2026-03-23 (Last Week in AI)" in summary
    dates = page.locator("#nd-briefing .nd-brief-sources time").all_inner_texts()
    assert dates and all("2026-03-09" <= d <= "2026-03-23" for d in dates), dates
    sources = set(page.locator("#nd-briefing .nd-card header .nd-source").all_inner_texts())
    assert sources == {"Last Week in AI"}, sources
    md = markdown_text(page)
    assert "2026-03-09 to 2026-03-23" in md and "Last Week in AI" in md
    assert_nothing_ran(watched)
    watched.shot("briefing")


def test_hostile_feed_text_in_a_briefing_stays_text(watched: PageWatch) -> None:
    page = watched.page
    open_tab(page)
    day = PAYLOAD_DATE.isoformat()
    items = brief_range(page, day, day)
    card = page.locator("#nd-briefing .nd-brief-item", has_text="Zebra quokka festival").first
    card.wait_for()
    assert "<script>window.__xss = 'headline'</script>" in card.locator(".nd-headline").inner_text()
    assert "onerror=" in card.locator("header .nd-source").inner_text()
    assert card.locator(".nd-headline a").count() == 0  # its javascript: link is not made clickable
    assert items.count() >= 1
    md = markdown_text(page)
    assert "Zebra quokka festival" in md and "window.\\_\\_xss" in md  # escaped markdown, shown as code
    page.wait_for_timeout(500)  # give any injected handler a moment to fire
    assert_nothing_ran(watched)
    assert page.evaluate("document.querySelectorAll('#nd-briefing script, #nd-briefing img').length") == 0
    watched.shot("briefing-payload")


def test_app_serves_the_atom_feed(app_url: str) -> None:
    with urllib.request.urlopen(app_url + "briefings.atom", timeout=300) as res:
        assert res.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
        parsed = feedparser.parse(res.read())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.entries and all(e.link.startswith(app_url + "briefings/") for e in parsed.entries)
    assert all(e.content[0].value for e in parsed.entries)

    # The hostile feed alone (its name in the query): its day's entry keeps every tag as text.
    with urllib.request.urlopen(app_url + "briefings.atom?source=" + quote(PAYLOAD_SOURCE), timeout=300) as res:
        hostile = feedparser.parse(res.read())
    assert not hostile.bozo and len(hostile.entries) == 1
    entry = hostile.entries[0]
    assert PAYLOAD_HEADLINE in entry.title and entry.title_detail.type == "text/plain"
    body = entry.content[0].value
    assert "&lt;script&gt;window.__xss" in body and "<script" not in body and "javascript:" not in body
    with urllib.request.urlopen(entry.link, timeout=300) as res:
        page = res.read().decode("utf-8")
        assert "default-src 'none'" in res.headers["Content-Security-Policy"]
    assert "&lt;script&gt;window.__xss" in page and "<script" not in page
