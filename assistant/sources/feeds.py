"""Feed bytes -> stories. RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed 1.x by hand (feedparser 6
does not read it). Bad input is the normal case: every failure is a FeedError with a one-line reason."""

from __future__ import annotations

import calendar
import io
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urljoin, urlsplit

from assistant.errors import NewsdeskError
from assistant.records import SourceKind, Story, content_hash
from assistant.sources.dedup import clean_url, entry_identity
from assistant.sources.isolation import hostile_input
from assistant.sources.text import html_to_text, is_promo, normalize_ws

# Bump when parsing changes what a story holds: the next refresh then re-reads unchanged feeds.
PARSER_VERSION = 1
MAX_TAGS = 20
HEADLINE_WORDS = 14

FORMAT_NAMES = {
    "rss090": "RSS 0.90", "rss091n": "RSS 0.91", "rss091u": "RSS 0.91", "rss092": "RSS 0.92",
    "rss093": "RSS 0.93", "rss094": "RSS 0.94", "rss20": "RSS 2.0", "rss10": "RSS 1.0 (RDF)", "rss": "RSS",
    "atom01": "Atom 0.1", "atom02": "Atom 0.2", "atom03": "Atom 0.3", "atom10": "Atom 1.0", "atom": "Atom",
    "cdf": "CDF", "json1": "JSON Feed 1.0", "json11": "JSON Feed 1.1",
}

# Lines that feeds append to every entry: they are about the feed, not the story. Matched on clean text lines
# (HTML is already gone), anchored, and only on short lines so a real sentence is never dropped.
_BOILERPLATE_RE = re.compile(
    r"^(the post .+ appeared first on .+"
    r"|.+ was originally published in .+ on medium.*"
    r"|(continue|keep) reading\b.*"
    r"|read (more|the (full|rest|whole|original)\b.*|on\b.*|full (story|article)\b.*)"
    r"|submitted by\s+/?(u/)?\S+( to /?(r/)?\S+)?"
    r"|\[link\]\s*\[(\d+ )?comments?\]"
    r"|(share|tweet|email|print|like) (this|on \w+)\b.*"
    r"|(related( posts| articles| stories)?|share this|like this|comments?|permalink|\d+ comments?)\s*:?"
    r"|(source|photo|image|credit)s?:\s.{0,80}"
    r"|view (the )?(full|original) (post|article|story).*)$",
    re.IGNORECASE,
)
# "… Continue reading →" / "[...] Read more" at the end of a teaser: only right after a sentence end or an
# ellipsis, so "you can read more about it here" stays.
_TRAILING_MORE_RE = re.compile(r"(?:\s*(?:\[(?:…|\.\.\.)\]|…)\s*|(?:(?<=[.!?»])|^)\s*)"
                               r"(?:continue reading|read more)\b[^.!?]{0,80}$", re.IGNORECASE)


_ACTIVE_MARKUP_RE = re.compile(r"<\s*(script|style|iframe|object|embed|!\[CDATA\[)", re.IGNORECASE)


class FeedError(NewsdeskError, ValueError):
    """This input is not a usable feed; the message is one line saying why."""


@dataclass
class FeedEntry:
    story: Story
    identity: str        # "guid:…", "link:…" or "hash:…"
    fingerprint: str     # what the feed said about the entry; unchanged fingerprint = nothing to do


@dataclass
class ParsedFeed:
    title: str
    link: str | None
    format: str
    entries: list[FeedEntry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # one line per entry left out
    warning: str | None = None                           # ill-formed but recovered
    notes: list[str] = field(default_factory=list)     # a cap applied (entries left out), one line each

    @property
    def stories(self) -> list[Story]:
        return [e.story for e in self.entries]


def _one_line(text: object, limit: int = 160) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def clean_text(value: str, *, html: bool = True) -> str:
    """Entry HTML -> clean text: markup, scripts, styles, pixels and per-feed boilerplate lines removed."""
    text = html_to_text(value) if html else normalize_ws(value)
    if html and _ACTIVE_MARKUP_RE.search(text):
        # Double-escaped or CDATA-wrapped markup survives one pass as literal text; a second pass removes it.
        # Only for active content: a programming post quoting `Vector<int>` keeps its text.
        text = html_to_text(text)
    kept: list[str] = []
    for line in text.split("\n"):
        if len(line) < 2000:
            line = _TRAILING_MORE_RE.sub("", line)
        stripped = line.strip()
        if stripped and len(stripped.split()) <= 40 and (_BOILERPLATE_RE.match(stripped) or is_promo(stripped)):
            continue
        kept.append(line)
    return normalize_ws("\n".join(kept))


def _describe(problem: object) -> str:
    """feedparser's bozo exception as a short phrase ("<unknown>:6:0: no element found" -> "XML error ...")."""
    text = _one_line(problem, 140)
    if text.startswith("<unknown>:"):
        where, _, what = text[len("<unknown>:"):].partition(": ")
        line = where.split(":", 1)[0]
        return f"XML error: {what} (line {line})"
    return text


def _is_html(detail: Any, value: str) -> bool:
    kind = str((detail or {}).get("type", "") or "").lower()
    if "html" in kind:
        return True
    if kind == "text/plain":
        return False
    return "<" in value and ">" in value


def _http_link(value: object, base: str | None) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    link = value.strip()
    if base and not urlsplit(link).scheme:
        link = urljoin(base, link)
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return clean_url(link)


def _utc_date(parsed: time.struct_time | None, *, today: date) -> date | None:
    if not parsed:
        return None
    try:
        when = datetime(*parsed[:6], tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None
    day = when.date()
    # Dates before the web or days in the future are typos or placeholders, not publication dates.
    if day.year < 1990 or day > today + timedelta(days=2):
        return None
    return day


def _iso_struct(value: object) -> time.struct_time | None:
    """A JSON Feed / ISO 8601 date string as a UTC struct_time (naive times count as UTC), or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        from feedparser.datetimes import _parse_date  # the same lenient parser feedparser uses for RSS

        return _parse_date(value)  # type: ignore[no-any-return]
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.utctimetuple()


def _iso_date(value: object, *, today: date) -> date | None:
    return _utc_date(_iso_struct(value), today=today)


def _headline_from(text: str) -> str:
    words = text.split("\n", 1)[0].split()
    return " ".join(words[:HEADLINE_WORDS]) + ("…" if len(words) > HEADLINE_WORDS else "")


@dataclass
class _Raw:
    """One entry before it becomes a Story, whatever the format."""

    guid: str | None
    link: str | None
    title: str
    body: str
    day: date | None
    author: str
    tags: list[str]
    links: list[str]


def _make_entries(raws: list[_Raw | None], *, numbers: list[int], feed_id: str, feed_title: str, max_chars: int,
                  skipped: list[str]) -> list[FeedEntry]:
    """`numbers`: each raw's position in the document (from 1), which stays its number when a cap left
    others out."""
    entries: list[FeedEntry] = []
    seen: dict[str, tuple[int, str]] = {}
    for n, raw in zip(numbers, raws, strict=True):
        if raw is None:  # already reported by the format's parser
            continue
        title, body = raw.title.strip(), raw.body.strip()
        if len(body) > max_chars:
            body = body[:max_chars].rsplit(" ", 1)[0] + " …"
        if not title and not body:
            skipped.append(f"entry {n}: no title and no text")
            continue
        if not title:
            title = _headline_from(body)
            if body.split("\n", 1)[0].strip() == title:
                body = body[len(title):].strip()
        elif body.startswith(title):
            body = body[len(title):].strip()  # some feeds repeat the headline as the first line
        identity = entry_identity(guid=raw.guid, link=raw.link, title=title, text=body)
        same = content_hash(title, body)
        if identity in seen:
            # Some feeds reuse a GUID for different posts (Scripting News does); a real repeat is dropped,
            # a different post under the same GUID gets its content hash added to stay apart.
            first, first_content = seen[identity]
            identity = f"{identity}|{same[:12]}"
            if first_content == same or identity in seen:
                skipped.append(f"entry {n}: repeats entry {first}; kept the first")
                continue
        seen[identity] = (n, same)
        tags = list(dict.fromkeys(t for t in raw.tags if t))[:MAX_TAGS]
        story = Story(
            story_id=f"{feed_id}:{content_hash(identity)[:16]}", issue_id=feed_id, issue_title=feed_title,
            index=n - 1, headline=title, body=body, date=raw.day, url=raw.link, links=raw.links,
            source_kind=SourceKind.FEED, source_name=feed_title, author=raw.author, tags=tags)
        fingerprint = content_hash(identity, title, body, raw.link or "", raw.day.isoformat() if raw.day else "",
                                   raw.author, "\n".join(tags), "\n".join(raw.links), feed_title)
        entries.append(FeedEntry(story=story, identity=identity, fingerprint=fingerprint))
    return entries


# ---------------------------------------------------------------- caps


@dataclass
class _Caps:
    """How much of one feed is read: the newest `max_entries` entries, and a deadline on the per-entry pass.

    feedparser cannot be interrupted (a thread cannot be stopped, a subprocess per feed costs more than most
    parses), so its own pass is bounded by the body size cap instead (NEWSDESK_FEED_MAX_BYTES; feedparser reads
    ~1 MB/s on 2 cores); the deadline, counted from the start of parse_feed, is checked before each entry of
    our pass (text cleaning, the costly part on real feeds), which then stops with the entries done (with none
    done the feed fails, keeping its state, so the next refresh reads it again). Selecting
    the newest entries first needs only their dates, so a 100,000-entry feed costs feedparser's pass plus 500
    entries of ours."""

    max_entries: int | None
    seconds: float | None
    started: float
    notes: list[str] = field(default_factory=list)

    @staticmethod
    def latest(today: date) -> float:
        # Dates in the future are typos or placeholders (see _utc_date), not the newest entries.
        return calendar.timegm((today + timedelta(days=3)).timetuple())

    def select(self, count: int, stamp: Callable[[int], float | None]) -> list[int]:
        """Positions of the entries to read, in document order: all, or the newest `max_entries`. Undated
        entries count as older than dated ones; ties keep document order (feeds list newest first)."""
        if self.max_entries is None or count <= self.max_entries:
            return list(range(count))
        stamps = [stamp(i) for i in range(count)]
        order = sorted(range(count), key=lambda i: (stamps[i] is None, -(stamps[i] or 0.0)))
        self.notes.append(f"kept the newest {self.max_entries:,} of {count:,} entries (NEWSDESK_FEED_MAX_ENTRIES)")
        return sorted(order[: self.max_entries])

    def expired(self, *, done: int, total: int) -> bool:
        if self.seconds is None or time.monotonic() - self.started <= self.seconds:
            return False
        if done == 0:  # a failed feed keeps its old state, so the next refresh tries again
            raise FeedError(f"parsing took longer than {self.seconds:g} s (NEWSDESK_FEED_PARSE_SECONDS)")
        self.notes.append(f"parsing stopped at the {self.seconds:g} s limit (NEWSDESK_FEED_PARSE_SECONDS): "
                          f"kept {done:,} of {total:,} entries")
        return True


def _stamp(parsed: time.struct_time | None, *, latest: float) -> float | None:
    """Seconds since the epoch of a feedparser date, None when missing, before 1990 or in the future."""
    if not parsed:
        return None
    try:
        when = float(calendar.timegm(parsed))
    except (TypeError, ValueError, OverflowError):
        return None
    return when if 631_152_000 <= when <= latest else None   # 1990-01-01


def _iso_stamp(value: object, *, latest: float) -> float | None:
    return _stamp(_iso_struct(value), latest=latest)


# ---------------------------------------------------------------- RSS / Atom


def _pick_body(entry: Any) -> tuple[str, bool]:
    """The fullest text the entry carries: content:encoded / atom:content, else the summary."""
    best, best_html = "", False
    for part in entry.get("content") or []:
        value = str(part.get("value") or "")
        if len(value) > len(best):
            best, best_html = value, _is_html(part, value)
    summary = str(entry.get("summary") or "")
    if len(summary) > len(best):
        best, best_html = summary, _is_html(entry.get("summary_detail"), summary)
    return best, best_html


_EMAIL_NAME_RE = re.compile(r"^\S+@\S+\s*\((.+)\)\s*$")


def _names(entry: Any) -> str:
    # feedparser mangles RSS's "email (Name)" when it splits it into author_detail: the name comes from the
    # raw string then; otherwise from the parsed names (Atom's raw string is "Name (email)").
    listed = [n for n in (str(a.get("name") or "").strip() for a in entry.get("authors") or []
                          if isinstance(a, dict)) if n]
    raw = str(entry.get("author") or "").strip()
    match = _EMAIL_NAME_RE.match(raw) if len(listed) <= 1 else None
    names = [match.group(1).strip()] if match else listed or ([raw] if raw else [])
    return clean_text(", ".join(dict.fromkeys(names)), html=False)[:200]


def _parse_xml(data: bytes, *, feed_id: str, url: str | None, content_type: str | None, fallback_title: str,
               max_chars: int, today: date, caps: _Caps) -> ParsedFeed:
    import feedparser

    headers = {"content-location": url} if url and url.startswith(("http://", "https://")) else {}
    if content_type:
        headers["content-type"] = content_type
    # A stream, never bytes or str: feedparser treats a string as a URL or file name and would open it.
    # Its sanitizer and URI rewriting run over every HTML fragment; we keep only text (html_to_text drops
    # scripts, styles and pixels), so both are skipped: half the parse time on real feeds.
    doc = feedparser.parse(io.BytesIO(data), response_headers=headers or None, sanitize_html=False,
                           resolve_relative_uris=False)
    version = str(doc.get("version") or "")
    feed = doc.get("feed") or {}
    problem = doc.get("bozo_exception") if doc.get("bozo") else None
    if not doc.entries and not version:
        head = data.lstrip()[:300].lower()
        if b"<html" in head or b"<!doctype html" in head:
            raise FeedError("an HTML page, not a feed (look for its RSS or Atom link)")
        if not feed.get("title") and not feed.get("link"):  # CDF channels carry only these
            if problem is not None:
                raise FeedError(f"not a feed: {_describe(problem)}")
            raise FeedError("not a feed: no RSS, Atom or JSON Feed elements")
    base = url if url and url.startswith(("http://", "https://")) else None
    feed_link = _http_link(feed.get("link"), base)
    raw_title = str(feed.get("title") or "")
    title = clean_text(raw_title, html=_is_html(feed.get("title_detail"), raw_title))
    title = _one_line(title, 200) or fallback_title or (urlsplit(feed_link).netloc if feed_link else feed_id)
    raws: list[_Raw | None] = []
    numbers: list[int] = []
    latest = caps.latest(today)
    keep = caps.select(len(doc.entries), lambda i: next(
        (s for key in ("published_parsed", "updated_parsed", "created_parsed")
         if (s := _stamp(doc.entries[i].get(key), latest=latest)) is not None), None))
    for i in keep:
        if caps.expired(done=len(raws), total=len(keep)):
            break
        entry = doc.entries[i]
        numbers.append(i + 1)
        # FeedBurner rewrites links to feedproxy redirects and keeps the article's own link here.
        link = _http_link(entry.get("feedburner_origlink") or entry.get("link"), feed_link or base)
        guid = str(entry.get("id") or "").strip() or None
        if link is None and guid and entry.get("guidislink", False):
            link = _http_link(guid, feed_link or base)
        raw_title = str(entry.get("title") or "")
        body, body_html = _pick_body(entry)
        day = (_utc_date(entry.get("published_parsed"), today=today)
               or _utc_date(entry.get("updated_parsed"), today=today)
               or _utc_date(entry.get("created_parsed"), today=today))
        tags = [_one_line(clean_text(str(t.get("term") or t.get("label") or ""), html=False), 80)
                for t in entry.get("tags") or [] if isinstance(t, dict)]
        raws.append(_Raw(guid=guid, link=link, title=_one_line(clean_text(
            raw_title, html=_is_html(entry.get("title_detail"), raw_title)), 300),
            body=clean_text(body, html=body_html), day=day, author=_names(entry), tags=tags,
            links=[link] if link else []))
    parsed = ParsedFeed(title=title, link=feed_link, format=FORMAT_NAMES.get(version, version or "unknown"))
    parsed.entries = _make_entries(raws, numbers=numbers, feed_id=feed_id, feed_title=title, max_chars=max_chars,
                                   skipped=parsed.skipped)
    if problem is not None:
        parsed.warning = f"ill-formed, recovered: {_describe(problem)}"
    return parsed


# ---------------------------------------------------------------- JSON Feed


def _parse_json(data: bytes, *, feed_id: str, url: str | None, fallback_title: str, max_chars: int,
                today: date, caps: _Caps) -> ParsedFeed:
    try:
        doc = json.loads(data.decode("utf-8-sig"))  # JSON Feed is UTF-8 by definition
    except UnicodeDecodeError as exc:
        raise FeedError(f"not a feed: JSON that is not UTF-8 ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise FeedError(f"not a feed: invalid JSON ({exc.msg} at line {exc.lineno})") from exc
    version = str(doc.get("version", "")) if isinstance(doc, dict) else ""
    if not version.startswith("https://jsonfeed.org/version/") or not isinstance(doc.get("items"), list):
        raise FeedError("not a feed: JSON without a jsonfeed.org version and an items list")
    base = url if url and url.startswith(("http://", "https://")) else None
    feed_link = _http_link(doc.get("home_page_url"), base)
    title = _one_line(clean_text(str(doc.get("title") or ""), html=False), 200) or fallback_title or feed_id
    feed_authors = _json_authors(doc)
    raws: list[_Raw | None] = []
    numbers: list[int] = []
    skipped: list[str] = []
    items: list[Any] = doc["items"]
    latest = caps.latest(today)
    keep = caps.select(len(items), lambda i: None if not isinstance(items[i], dict) else (
        _iso_stamp(items[i].get("date_published"), latest=latest)
        or _iso_stamp(items[i].get("date_modified"), latest=latest)))
    for i in keep:
        if caps.expired(done=len(raws), total=len(keep)):
            break
        item, n = items[i], i + 1
        numbers.append(n)
        if not isinstance(item, dict):
            skipped.append(f"entry {n}: not a JSON object")
            raws.append(None)
            continue
        link = _http_link(item.get("url"), feed_link or base)
        external = _http_link(item.get("external_url"), feed_link or base)
        html_body = str(item.get("content_html") or "")
        body = clean_text(html_body) if html_body else clean_text(str(item.get("content_text") or ""), html=False)
        if not body:
            body = clean_text(str(item.get("summary") or ""), html=False)
        tags = [_one_line(str(t), 80) for t in item.get("tags") or [] if isinstance(t, (str, int, float))]
        guid = item.get("id")
        raws.append(_Raw(
            guid=str(guid).strip() if isinstance(guid, (str, int, float)) and str(guid).strip() else None,
            link=link or external, title=_one_line(clean_text(str(item.get("title") or ""), html=False), 300),
            body=body, day=_iso_date(item.get("date_published"), today=today)
            or _iso_date(item.get("date_modified"), today=today),
            author=_json_authors(item) or feed_authors, tags=tags,
            links=[x for x in (link, external) if x]))
    parsed = ParsedFeed(title=title, link=feed_link, format="JSON Feed " + version.rsplit("/", 1)[-1],
                        skipped=skipped)
    parsed.entries = _make_entries(raws, numbers=numbers, feed_id=feed_id, feed_title=title, max_chars=max_chars,
                                   skipped=parsed.skipped)
    return parsed


def _json_authors(obj: dict[str, Any]) -> str:
    authors = obj.get("authors")
    people: list[Any] = authors if isinstance(authors, list) else [obj.get("author")]
    names = [str(p.get("name") or "").strip() for p in people if isinstance(p, dict)]
    return ", ".join(dict.fromkeys(n for n in names if n))[:200]


# ---------------------------------------------------------------- entry point


def looks_like_json(data: bytes, content_type: str | None = None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def parse_feed(data: bytes, *, feed_id: str, url: str | None = None, content_type: str | None = None,
               fallback_title: str = "", max_chars: int = 100_000, today: date | None = None,
               max_entries: int | None = None, max_seconds: float | None = None) -> ParsedFeed:
    """Parse one feed document. Raises FeedError (one line) when it is not a usable feed.

    `max_entries` keeps the newest entries only; `max_seconds` stops the per-entry pass at a deadline counted
    from here, keeping the entries done. Each cap that applied is one line in the result's notes."""
    if not data or not data.strip():
        raise FeedError("empty document")
    today = today or datetime.now(timezone.utc).date()
    caps = _Caps(max_entries=max_entries, seconds=max_seconds, started=time.monotonic())
    with hostile_input(FeedError, "could not parse"):  # hostile input must never escape as a traceback
        if looks_like_json(data, content_type):
            parsed = _parse_json(data, feed_id=feed_id, url=url, fallback_title=fallback_title,
                                 max_chars=max_chars, today=today, caps=caps)
        else:
            parsed = _parse_xml(data, feed_id=feed_id, url=url, content_type=content_type,
                                fallback_title=fallback_title, max_chars=max_chars, today=today, caps=caps)
    parsed.notes = caps.notes
    return parsed
