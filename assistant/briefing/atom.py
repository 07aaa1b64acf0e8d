"""An Atom feed of daily briefings (RFC 4287), so subscribers follow briefings in the feed reader they use.

One entry per day that has stories, for the last FEED_DAYS days up to the archive's as-of date (today, or the
newest story when the archive ends earlier, as for `newsdesk brief`); each entry's content is that day's
briefing as sanitised HTML (briefing/render.py `to_html`), sent as `type="html"` text. The web app serves it at
`/briefings.atom` (assistant/ui/feed.py):

    xml = atom_feed(reader, base_url="http://127.0.0.1:7860", sources=["Last Week in AI"])

Ids are `urn:uuid:` names derived from the day and the source filter, so they stay the same across index
versions and host names. An entry's `updated` is the end of its day, or the time the index version was
published when that came earlier (today's entry changes while the day goes on). Feed text is untrusted: element
text is escaped by ElementTree, characters XML 1.0 forbids are dropped, and the HTML content went through nh3.
"""

from __future__ import annotations

import re
import threading
import uuid
import xml.etree.ElementTree as ET
from collections import OrderedDict
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from assistant.briefing.brief import Briefing, BriefingError
from assistant.briefing.render import to_html
from assistant.briefing.request import brief, default_as_of
from assistant.briefing.window import ArchiveView, archive_view

if TYPE_CHECKING:
    from assistant.index.reader import IndexReader

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_DAYS = 30
FEED_ITEMS = 10            # items in each day's briefing
FEED_PATH = "/briefings.atom"
DAY_PATH = "/briefings/{day}.html"
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/newsdesk/newsdesk#briefings")
# Characters XML 1.0 does not allow (C0 controls but tab/newline/return, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _published(reader: IndexReader) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(reader.manifest.created))
    except (AttributeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def match_sources(view: ArchiveView, asked: list[str]) -> list[str]:
    """The archive's spelling of each source name (case-insensitive); an unknown one is a BriefingError."""
    known = {r.first.source_name.lower(): r.first.source_name for r in view.stories.values() if r.first.source_name}
    out = []
    for name in asked:
        hit = known.get(name.strip().lower())
        if hit is None:
            listed = ", ".join(sorted(known.values())[:12]) or "none"
            raise BriefingError(f"unknown source {name!r}; the index has: {listed}")
        out.append(hit)
    return out


def briefing_days(view: ArchiveView, sources: list[str], *, as_of: date, days: int = FEED_DAYS) -> list[date]:
    """Days with stories (of the sources) among the `days` days up to `as_of`, newest first."""
    last = int(as_of.strftime("%Y%m%d"))
    first = int((as_of - timedelta(days=days - 1)).strftime("%Y%m%d"))
    found = {r.day for r in view.stories.values()
             if first <= r.day <= last and (not sources or r.first.source_name in sources)}
    return [date(d // 10000, d // 100 % 100, d % 100) for d in sorted(found, reverse=True)]


def _scope(sources: list[str]) -> str:
    return "\n".join(sorted(sources))


def _query(sources: list[str]) -> str:
    return ("?" + urlencode([("source", s) for s in sources])) if sources else ""


def entry_title(day: date, briefing: Briefing) -> str:
    if not briefing.items:
        return f"Briefing of {day.isoformat()}"
    lead = " ".join(briefing.items[0].headline.split())
    more = len(briefing.items) - 1
    return f"Briefing of {day.isoformat()}: {lead}" + (f" (+{more} more)" if more else "")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def atom_feed(reader: IndexReader, *, base_url: str, sources: list[str] | None = None, days: int = FEED_DAYS,
              max_items: int = FEED_ITEMS, today: date | None = None) -> bytes:
    """The feed as UTF-8 XML: one entry per day with stories, newest first."""
    base = base_url.rstrip("/")
    view = archive_view(reader)
    names = match_sources(view, list(sources or []))
    as_of = default_as_of(view, names, today=today)
    published = _published(reader)
    query = _query(names)

    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    scope = _scope(names)
    _sub(feed, "id", uuid.uuid5(_ID_NAMESPACE, f"feed\n{scope}").urn)
    _sub(feed, "title", "Newsdesk briefings" + (f": {', '.join(names)}" if names else ""), type="text")
    _sub(feed, "subtitle", f"What was new each day, story clusters across sources (the last {days} days).",
         type="text")
    updated = _sub(feed, "updated")
    author = _sub(feed, "author")
    _sub(author, "name", "Newsdesk")
    _sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base}{FEED_PATH}{query}")
    _sub(feed, "link", rel="alternate", type="text/html", href=f"{base}/")
    _sub(feed, "generator", "Newsdesk")

    newest: datetime | None = None
    for day in briefing_days(view, names, as_of=as_of, days=days):
        briefing = brief(reader, since=day, until=day, sources=names, as_of=as_of, max_items=max_items)
        if not briefing.items:
            continue
        end_of_day = datetime.combine(day + timedelta(days=1), time(0), tzinfo=timezone.utc) - timedelta(seconds=1)
        moment = min(end_of_day, published) if published and published.date() >= day else end_of_day
        newest = max(newest, moment) if newest else moment
        entry = _sub(feed, "entry")
        _sub(entry, "id", uuid.uuid5(_ID_NAMESPACE, f"day\n{scope}\n{day.isoformat()}").urn)
        _sub(entry, "title", entry_title(day, briefing), type="text")
        _sub(entry, "updated", _rfc3339(moment))
        _sub(entry, "published", _rfc3339(datetime.combine(day, time(0), tzinfo=timezone.utc)))
        _sub(entry, "link", rel="alternate", type="text/html",
             href=f"{base}{DAY_PATH.format(day=day.isoformat())}{query}")
        _sub(entry, "summary", f"{len(briefing.items)} of {briefing.clusters} story clusters "
                               f"({briefing.stories} stories) on {day.isoformat()}.", type="text")
        _sub(entry, "content", to_html(briefing), type="html")
    updated.text = _rfc3339(newest or published or datetime.now(timezone.utc))
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def day_page(reader: IndexReader, day: date, *, sources: list[str] | None = None) -> str:
    """One day's briefing as a small HTML document (the feed entries' link)."""
    import html

    view = archive_view(reader)
    names = match_sources(view, list(sources or []))
    briefing = brief(reader, since=day, until=day, sources=names, as_of=max(day, default_as_of(view, names)),
                     max_items=FEED_ITEMS)
    title = html.escape(f"Newsdesk briefing of {day.isoformat()}" + (f": {', '.join(names)}" if names else ""))
    body = to_html(briefing) if briefing.items else "<p>No stories on this day.</p>"
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n'
            f"<body><h1>{title}</h1>{body}</body></html>\n")


class FeedCache:
    """Feeds built once per (index version, sources, as-of day, base URL): thirty briefings are not free."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._feeds: OrderedDict[tuple[str, ...], bytes] = OrderedDict()

    def get(self, reader: IndexReader, *, base_url: str, sources: list[str] | None = None,
            today: date | None = None) -> bytes:
        key = (reader.version, base_url, (today or date.today()).isoformat(),
               *sorted(s.strip().lower() for s in sources or []))
        with self._lock:  # one build at a time: a second reader of the same feed waits for the first
            feed = self._feeds.get(key)
            if feed is None:
                feed = atom_feed(reader, base_url=base_url, sources=sources, today=today)
                self._feeds[key] = feed
                while len(self._feeds) > self.size:
                    self._feeds.popitem(last=False)
            else:
                self._feeds.move_to_end(key)
            return feed
