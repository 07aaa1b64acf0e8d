"""A Briefing as plain text, markdown, HTML or JSON (the CLI's --format; e-mail and the web tab reuse these).

Issue and feed text is untrusted: in markdown it is escaped so no link, image, code or HTML can come out of it;
in HTML it is escaped and the fragment then passed through nh3 (ammonia); only http(s) links are ever linked.
"""

from __future__ import annotations

import html
import json
import re

import nh3

from assistant.briefing.brief import Briefing, BriefItem
from assistant.sources.text import safe_url

FORMATS = ("text", "md", "html", "json")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")
_TAGS = {"a", "article", "h2", "h3", "li", "ol", "p", "small", "span", "strong", "ul", "em", "section"}
_ATTRS = {"*": {"class"}, "a": {"href"}}


def md_text(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _marks(cites: list[int]) -> str:
    return "".join(f"[{n}]" for n in cites)


def _item_meta(item: BriefItem) -> list[str]:
    lines = []
    if item.first_covered:
        fc = item.first_covered
        lines.append(f"developing: {fc.describe()}: {fc.headline}")
    if item.listing:
        lines.append(f"({item.listing})")
    return lines


def to_text(briefing: Briefing) -> str:
    out = [f"{briefing.title}: {len(briefing.items)} of {briefing.clusters} story clusters "
           f"({briefing.stories} stories)"]
    if not briefing.items:
        out.append("No stories in this window." if not briefing.issue_id else "No stories in this issue.")
    for item in briefing.items:
        out.append("")
        out.append(f"{item.rank}. {' '.join(item.headline.split())} [{item.cite}]")
        if item.sentences:
            out.append("   " + " ".join(f"{text} {_marks(cites)}" for text, cites in item.cited()))
        out.extend("   " + line for line in _item_meta(item))
        for s in item.sources:
            out.append(f"   [{s.n}] {s.source}, {s.issue} ({s.date or 'undated'}): {' '.join(s.headline.split())}"
                       + (f"  {s.url}" if s.url else ""))
    return "\n".join(out)


def to_markdown(briefing: Briefing) -> str:
    out = [f"## {md_text(briefing.title)}", "",
           f"{len(briefing.items)} of {briefing.clusters} story clusters ({briefing.stories} stories)"]
    for item in briefing.items:
        out.append("")
        out.append(f"{item.rank}. **{md_text(item.headline)}** [{item.cite}]")
        if item.sentences:
            out.append("   " + " ".join(f"{md_text(text)} {_marks(cites)}" for text, cites in item.cited()))
        if item.first_covered:
            fc = item.first_covered
            link = safe_url(fc.url)
            what = f"[{md_text(fc.headline)}]({link})" if link else md_text(fc.headline)
            out.append(f"   *Developing: {md_text(fc.describe())}:* {what}")
        if item.listing:
            out.append(f"   *({md_text(item.listing)})*")
        for s in item.sources:
            link = safe_url(s.url)
            head = f"[{md_text(s.headline)}]({link})" if link else md_text(s.headline)
            out.append(f"   - [{s.n}] {md_text(s.source)}, {md_text(s.issue)} ({s.date or 'undated'}): {head}")
    return "\n".join(out) + "\n"


def _a(text: str, url: str | None) -> str:
    link = safe_url(url)
    label = html.escape(" ".join(text.split()))
    return f'<a href="{html.escape(link, quote=True)}">{label}</a>' if link else label


def to_html(briefing: Briefing) -> str:
    esc = html.escape
    parts = [f"<section class=\"briefing\"><h2>{esc(briefing.title)}</h2>",
             f"<p><small>{len(briefing.items)} of {briefing.clusters} story clusters "
             f"({briefing.stories} stories)</small></p><ol>"]
    for item in briefing.items:
        parts.append(f"<li><article><h3>{esc(item.headline)} <span class=\"cite\">[{item.cite}]</span></h3>")
        if item.sentences:
            parts.append("<p>" + " ".join(f"{esc(text)} <span class=\"cite\">{_marks(cites)}</span>"
                                          for text, cites in item.cited()) + "</p>")
        if item.first_covered:
            fc = item.first_covered
            parts.append(f"<p class=\"developing\"><em>Developing: {esc(fc.describe())}:</em> "
                         f"{_a(fc.headline, fc.url)}</p>")
        if item.listing:
            parts.append(f"<p><small>({esc(item.listing)})</small></p>")
        parts.append("<ul class=\"sources\">")
        for s in item.sources:
            parts.append(f"<li>[{s.n}] {esc(s.source)}, {esc(s.issue)} ({esc(s.date or 'undated')}): "
                         f"{_a(s.headline, s.url)}</li>")
        parts.append("</ul></article></li>")
    parts.append("</ol></section>")
    return nh3.clean("".join(parts), tags=_TAGS, attributes=_ATTRS, url_schemes={"http", "https"},
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


def to_json(briefing: Briefing) -> str:
    return json.dumps(briefing.to_json(), ensure_ascii=False)


def render(briefing: Briefing, fmt: str) -> str:
    """The briefing in one of FORMATS."""
    renderers = {"text": to_text, "md": to_markdown, "html": to_html, "json": to_json}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}: use {', '.join(FORMATS)}")
    return renderers[fmt](briefing)
