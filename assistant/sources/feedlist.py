"""The feed list: an OPML file (what every feed reader imports and exports), by default corpus/feeds.opml.

Each feed is an <outline xmlUrl="..."> with an optional title, htmlUrl and `fullText="true"` (fetch the article
page of every new entry). xmlUrl is an http(s) URL or a file path; a relative path is relative to the OPML file.
Unknown outline attributes are kept when the file is rewritten.
"""

from __future__ import annotations

import hashlib
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from assistant.errors import NewsdeskError
from assistant.sources.dedup import link_key
from assistant.sources.urlmask import mask_url

_KNOWN = {"text", "title", "type", "xmlurl", "htmlurl", "fulltext", "category"}


class FeedListError(NewsdeskError, ValueError):
    """The OPML file cannot be read or a feed cannot be added; one line."""


def is_remote(url: str) -> bool:
    return urlsplit(url.strip()).scheme.lower() in ("http", "https")


def feed_id_for(url: str) -> str:
    """A stable, readable id: `feed-<host-and-path or file stem>-<hash>`; it is the entries' issue_id."""
    url = url.strip()
    if is_remote(url):
        key = link_key(url) or url
        parts = urlsplit(url)
        words = f"{parts.hostname or ''} {parts.path}"
    else:
        key = url
        words = Path(url).stem
    slug = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")[:40].strip("-") or "feed"
    return f"feed-{slug}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"


@dataclass
class FeedSpec:
    url: str                      # as written in the OPML
    title: str = ""
    html_url: str = ""
    full_text: bool = False
    category: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def feed_id(self) -> str:
        return feed_id_for(self.url)

    @property
    def remote(self) -> bool:
        return is_remote(self.url)

    def path(self, base_dir: Path) -> Path:
        """The local file of a non-HTTP feed (file:// URLs included)."""
        url = self.url.strip()
        if url.lower().startswith("file://"):
            return Path(unquote(urlsplit(url).path))
        path = Path(url).expanduser()
        return path if path.is_absolute() else base_dir / path

    @property
    def label(self) -> str:
        """What to show for the feed: its title, or its URL with any credentials masked."""
        return self.title or mask_url(self.url)


def _attr(el: ET.Element, name: str) -> str:
    for key, value in el.attrib.items():
        if key.lower() == name:
            return value.strip()
    return ""


@dataclass
class FeedList:
    path: Path
    title: str = "Newsdesk source feeds"
    feeds: list[FeedSpec] = field(default_factory=list)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    # ------------------------------------------------------------ read
    @classmethod
    def load(cls, path: Path, *, missing_ok: bool = True) -> FeedList:
        if not path.exists():
            if missing_ok:
                return cls(path=path)
            raise FeedListError(f"no feed list at {path}")
        try:
            root = ET.fromstring(path.read_bytes())
        except ET.ParseError as exc:
            raise FeedListError(f"{path} is not valid OPML: {exc}") from exc
        except OSError as exc:
            raise FeedListError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if root.tag.lower() != "opml":
            raise FeedListError(f"{path} is not OPML (its root element is <{root.tag}>)")
        title = (root.findtext("head/title") or "").strip() or cls.title
        out = cls(path=path, title=title)
        body = root.find("body")
        if body is not None:
            out._walk(body, [])
        return out

    def _walk(self, parent: ET.Element, categories: list[str]) -> None:
        for el in parent:
            if el.tag.lower() != "outline":
                continue
            url = _attr(el, "xmlurl")
            label = _attr(el, "title") or _attr(el, "text")
            if url:
                if label.strip() in (url.strip(), mask_url(url.strip())):
                    label = ""  # a title that is only the URL (as `save` writes an untitled feed): no title
                extra = {k: v for k, v in el.attrib.items() if k.lower() not in _KNOWN}
                spec = FeedSpec(url=url, title=label, html_url=_attr(el, "htmlurl"),
                                full_text=_attr(el, "fulltext").lower() in ("true", "1", "yes"),
                                category=_attr(el, "category") or "/".join(categories), extra=extra)
                self.add(spec)
            else:
                self._walk(el, categories + ([label] if label else []))

    # ------------------------------------------------------------ change
    def find(self, target: str) -> list[FeedSpec]:
        """Feeds matching a URL or path (as written or canonical), a feed id, or a title (case-insensitive)."""
        target = target.strip()
        key = link_key(target) if is_remote(target) else None
        local = None if is_remote(target) else self.local_form(target)
        return [f for f in self.feeds
                if target in (f.url, f.feed_id) or (key and link_key(f.url) == key)
                or (local and f.url == local) or (f.title and f.title.casefold() == target.casefold())]

    def local_form(self, value: str) -> str:
        """How a file path is written in the list: relative to the OPML file when inside its folder."""
        if value.lower().startswith("file://"):
            value = unquote(urlsplit(value).path)
        path = Path(value).expanduser()
        path = (path if path.is_absolute() else Path.cwd() / path).resolve()
        try:
            return path.relative_to(self.base_dir.resolve()).as_posix()
        except ValueError:
            return str(path)

    def add(self, spec: FeedSpec) -> bool:
        """Add unless the same feed is listed already; False when it was. File paths are taken as written
        (see local_form for turning a path typed by a user into the list's form)."""
        if self.find(spec.url) or any(f.feed_id == spec.feed_id for f in self.feeds):
            return False
        self.feeds.append(spec)
        return True

    def remove(self, target: str) -> list[FeedSpec]:
        gone = self.find(target)
        self.feeds = [f for f in self.feeds if f not in gone]
        return gone

    def merge(self, other: FeedList) -> tuple[list[FeedSpec], list[FeedSpec]]:
        """Add the other list's feeds; returns (added, already listed). Relative paths are re-based."""
        added: list[FeedSpec] = []
        skipped: list[FeedSpec] = []
        for spec in other.feeds:
            if not spec.remote:
                spec = FeedSpec(url=self.local_form(str(spec.path(other.base_dir))), title=spec.title,
                                html_url=spec.html_url, full_text=spec.full_text, category=spec.category,
                                extra=spec.extra)
            (added if self.add(spec) else skipped).append(spec)
        return added, skipped

    # ------------------------------------------------------------ write
    def to_xml(self) -> bytes:
        root = ET.Element("opml", version="2.0")
        head = ET.SubElement(root, "head")
        ET.SubElement(head, "title").text = self.title
        ET.SubElement(head, "dateModified").text = format_datetime(datetime.now(timezone.utc), usegmt=True)
        body = ET.SubElement(root, "body")
        folders: dict[str, ET.Element] = {}
        for spec in self.feeds:
            parent = body
            if spec.category:
                if spec.category not in folders:
                    folders[spec.category] = ET.SubElement(body, "outline", text=spec.category,
                                                           title=spec.category)
                parent = folders[spec.category]
            attrs = {"type": "rss", "text": spec.label, "title": spec.title or spec.label, "xmlUrl": spec.url}
            if spec.html_url:
                attrs["htmlUrl"] = spec.html_url
            if spec.full_text:
                attrs["fullText"] = "true"
            attrs.update(spec.extra)
            ET.SubElement(parent, "outline", attrs)
        ET.indent(root)
        return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"

    def save(self) -> None:
        """Atomic: a reader never sees half a file, a crash leaves the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(self.to_xml())
        os.replace(tmp, self.path)
