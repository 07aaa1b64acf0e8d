"""Newsletter issue files (markdown, HTML, plain text, .eml) -> an Issue with its Stories."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import yaml

from assistant.records import Issue, SourceKind, Story
from assistant.sources.issuefile import (
    IssueError,
    decode_bytes,
    email_parts,
    html_to_markdown,
    read_issue_bytes,
)
from assistant.sources.mdx import mdx_meta, mdx_to_markdown
from assistant.sources.text import (
    is_footer,
    is_promo,
    normalize_ws,
    starts_with_symbol,
    strip_leading_symbols,
)

# The URL may hold one level of balanced parentheses (CommonMark): "[x](https://en.wikipedia.org/wiki/Foo_(bar))".
_LINK_RE = re.compile(r"!?\[([^\]]*)\]\(\s*<?((?:[^\s()>]|\([^\s()>]*\))+)>?(?:\s+\"[^\"]*\")?\s*\)")
_IMAGE_LINE_RE = re.compile(r"^\s*!\[[^\]]*\]\((?:[^()\n]|\([^()\n]*\))*\)\s*$")
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET_RE = re.compile(r"^\s*(?:[*+-]|\d+[.)])\s+(.*)$")
_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_TAG_ONLY_RE = re.compile(r"</?[a-zA-Z][^>]*>")
_FILE_DATE_RE = re.compile(r"(?<!\d)(\d{4})[-_.](\d{1,2})[-_.](\d{1,2})(?!\d)")
_PELICAN_RE = re.compile(r"^([A-Z][A-Za-z]+):\s*(.*)$")
_TRAILING_NUMBER_RE = re.compile(r"\s*(?:#|no\.?|issue|number)?\s*#?\d+\s*$", re.IGNORECASE)
_BOILERPLATE_RE = re.compile(
    r"(want something mentioned\?|tag us at|want to get involved\?|we love contributions|is openly developed"
    r"|if you find any errors|please submit (a pr|your suggestions|quotes)|subscribe to|email us"
    r"|hello and welcome to)",
    re.IGNORECASE,
)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "issue"


def link_text(markdown: str) -> str:
    """Markdown inline links/images -> their text; emphasis markers removed."""
    text = _LINK_RE.sub(lambda m: m.group(1), markdown)
    text = re.sub(r"(\*\*|__|`)", "", text)
    return text.strip()


def links_of(markdown: str) -> list[str]:
    return [m.group(2) for m in _LINK_RE.finditer(markdown) if not m.group(0).startswith("!")
            and m.group(2).startswith(("http://", "https://"))]


@dataclass
class _Draft:
    headline: str
    section: str
    lines: list[str] = field(default_factory=list)
    url: str | None = None
    links: list[str] = field(default_factory=list)  # links kept apart from the body text (a table's link cell)


# ---------------------------------------------------------------- dates and titles


def parse_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    match = re.match(r"^(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if match:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            return None
    if len(text) > 40:
        return None
    import dateparser

    parsed = dateparser.parse(text, languages=["en"], settings={"STRICT_PARSING": True})
    return parsed.date() if parsed else None


def date_from_filename(name: str) -> date | None:
    match = _FILE_DATE_RE.search(name)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


_DATED_TITLE_RE = re.compile(r"^(?:the\s+)?(?:week|issue|edition|newsletter|digest)\s+(?:ending|ended|of|from|for)\b",
                             re.IGNORECASE)


def date_in_title(title: str) -> date | None:
    """The date a title gives its issue ("Week Ending February 16, 2025", "Issue of March 3, 2024"): None for any
    other title. Readers and editors name such an issue by that date, and a weekly digest is often published days
    after the week it covers (LWKD's metadata dates trail its titles by 1-5 days)."""
    match = _DATED_TITLE_RE.match(title.strip())
    if not match:
        return None
    rest = re.sub(r"(\d)(?:st|nd|rd|th)\b", r"\1", title.strip()[match.end():].strip(" :,-"))
    return parse_date(rest) if re.search(r"\b\d{4}\b", rest) else None


def newsletter_name(title: str) -> str:
    """"Last Week in AI #260" -> "Last Week in AI"; "This Week in Rust 528" -> "This Week in Rust". A title that
    only dates its issue ("Week Ending January 9, 2022", LWKD's) names no newsletter: "" (the folder names it)."""
    name = _TRAILING_NUMBER_RE.sub("", title).strip(" -:#") or title
    return "" if _DATED_TITLE_RE.match(name) else name


# ---------------------------------------------------------------- markdown


def _split_front_matter(text: str) -> tuple[dict[str, object], str]:
    if text.startswith("---"):
        end = text.find("\n---", 3)
        if end != -1:
            try:
                meta = yaml.safe_load(text[3:end]) or {}
            except yaml.YAMLError:
                meta = {}
            if isinstance(meta, dict):
                return {str(k).lower(): v for k, v in meta.items()}, text[end + 4:].lstrip("-\n")
    # Pelican-style "Title: ...\nDate: ..." header block.
    lines = text.split("\n")
    meta_p: dict[str, object] = {}
    idx = 0
    while idx < len(lines) and (match := _PELICAN_RE.match(lines[idx])):
        meta_p[match.group(1).lower()] = match.group(2)
        idx += 1
    if meta_p and "title" in meta_p and (idx == len(lines) or not lines[idx].strip()):
        return meta_p, "\n".join(lines[idx:])
    return {}, text


def _is_item(line: str) -> bool:
    return bool(_BULLET_RE.match(line)) and bool(links_of(line))


def _paragraph_item(paragraph: str) -> bool:
    """"[Headline](url) - summary" paragraphs, as in Last Week in AI's "Other News"."""
    return bool(re.match(r"^\s*\[[^\]]+\]\([^)]+\)", paragraph))


def _paragraphs(lines: list[str]) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    for line in lines:
        if line.strip():
            cur.append(line.rstrip())
        elif cur:
            out.append("\n".join(cur))
            cur = []
    if cur:
        out.append("\n".join(cur))
    return out


def _clean_body(lines: list[str]) -> list[str]:
    kept = []
    for line in lines:
        plain = link_text(line)
        if _IMAGE_LINE_RE.match(line) or is_promo(plain):
            continue
        if _BOILERPLATE_RE.search(plain) and len(plain.split()) < 40:
            continue
        kept.append(line)
    return kept


def _merge_bylines(blocks: list[tuple[int, str, list[str]]]) -> list[tuple[int, str, list[str]]]:
    """Older Last Week in AI issues put a byline heading ("##### Will Knight, MIT Tech Review") between a linked
    headline and its text; without this the byline became the story and the headline an empty one."""
    out: list[tuple[int, str, list[str]]] = []
    i = 0
    while i < len(blocks):
        level, heading, lines = blocks[i]
        if i + 1 < len(blocks) and level and links_of(heading) and not _has_words(lines):
            sub_level, sub_heading, sub_lines = blocks[i + 1]
            # A byline may link its outlet ("Tim Dutton, [Medium](...)"); a heading that opens with a link is a
            # headline of its own.
            if sub_level > level and not _paragraph_item(sub_heading) and len(sub_heading.split()) <= 12:
                out.append((level, heading, [link_text(sub_heading).strip(), "", *sub_lines]))
                i += 2
                continue
        out.append(blocks[i])
        i += 1
    return out


def _has_words(lines: list[str]) -> bool:
    # A body of punctuation only (":/" under some Last Week in AI headlines) says nothing.
    return any(re.search(r"\w", line) for line in lines)


def parse_markdown_body(body: str, *, split_items: bool = False) -> list[_Draft]:
    """Headings make sections or stories; link lists and "[headline](url) - summary" paragraphs make one
    story per item. A heading with no body of its own is a section label. With split_items a list item
    "📜 [Title](url) - comment" becomes headline "Title" and body "comment" (instead of one long headline)."""
    body = _COMMENT_RE.sub("", body)
    lines = body.split("\n")
    blocks: list[tuple[int, str, list[str]]] = []  # (level, heading, body lines); level 0 = preamble
    level, heading = 0, ""
    cur: list[str] = []
    for line in lines:
        match = _HEADING_RE.match(line)
        if match:
            blocks.append((level, heading, cur))
            level, heading, cur = len(match.group(1)), match.group(2), []
        else:
            cur.append(line)
    blocks.append((level, heading, cur))
    blocks = _merge_bylines(blocks)

    drafts: list[_Draft] = []
    labels: list[tuple[int, str]] = []
    footer_seen = False
    for level, heading, raw in blocks:
        if footer_seen:
            break
        body_lines = _clean_body(raw)
        for i, line in enumerate(body_lines):
            if is_footer(link_text(line)):
                body_lines, footer_seen = body_lines[:i], True
                break
        if not _has_words(body_lines):
            body_lines = []
        text = "\n".join(body_lines).strip()
        heading_is_link = bool(links_of(heading))
        while labels and labels[-1][0] >= level > 0:
            labels.pop()
        section = labels[-1][1] if labels else ""
        if level == 0:
            # The preamble is a story only for issues with no headings at all (handled by the caller).
            if len(blocks) == 1 and text:
                drafts.append(_Draft(headline="", section="", lines=body_lines))
            continue
        if not text and not heading_is_link:
            labels.append((level, link_text(heading)))
            continue
        paragraphs = _paragraphs(body_lines)
        items = [ln for ln in body_lines if _is_item(ln)]
        para_items = [p for p in paragraphs if _paragraph_item(p)]
        nonblank = [ln for ln in body_lines if ln.strip()]
        all_items = (bool(items) and len(items) == len(nonblank)) or (
            bool(para_items) and len(para_items) == len(paragraphs))
        if not heading_is_link and (len(items) >= 2 or len(para_items) >= 2 or all_items):
            own_section = link_text(heading)
            bullets = len(para_items) < len(items)
            drafts.extend(_item_stories(body_lines if bullets else paragraphs, bullets=bullets,
                                        own_section=own_section, section=section, split_items=split_items))
            continue
        head_urls = links_of(heading)
        own, trailing = _trailing_items(body_lines, section)
        drafts.append(_Draft(headline=link_text(heading), section=section, lines=own,
                             url=head_urls[0] if head_urls else None))
        drafts.extend(trailing)
    return drafts


def _item_stories(units: list[str], *, bullets: bool, own_section: str, section: str,
                  split_items: bool) -> list[_Draft]:
    """One story per item of a link list: `units` are paragraphs ("[Headline](url) - summary"), or with `bullets`
    the lines of a bulleted list ("* [Headline](url)"). Nothing in between is lost: text after an item is its
    body (Last Week in AI puts an item's quoted summary in the paragraph after its link; a bullet continues on
    indented lines), and text before the first item is a story named after the heading (LWKD's "Developer News"
    mixes linked items with plain paragraphs)."""
    lead: list[str] = []
    out: list[_Draft] = []
    for unit in units:
        if _is_item(unit) if bullets else _paragraph_item(unit):
            if bullets:
                content = _BULLET_RE.match(unit).group(1)  # type: ignore[union-attr]
                if split_items:
                    out.append(_split_item(content, own_section))
                    continue
                urls = links_of(content)
                out.append(_Draft(headline=link_text(content), section=own_section, url=urls[0] if urls else None))
                continue
            first = _LINK_RE.search(unit)
            head = first.group(1) if first else link_text(unit.split("\n")[0])
            rest = unit[first.end():].lstrip(" -–—:") if first else unit
            out.append(_Draft(headline=link_text(head), section=own_section, lines=[rest],
                              url=first.group(2) if first else None))
        elif _has_words([_TAG_ONLY_RE.sub("", unit)]):  # "<hr>" between items says nothing
            # Lines continue the item above; paragraphs are set apart from it.
            gap = [] if bullets else [""]
            target = out[-1].lines if out else lead
            target.extend([*gap, unit.strip()] if target else [unit.strip()])
    if lead:
        out.insert(0, _Draft(headline=own_section, section=section, lines=lead))
    return out


def _summary_item(paragraph: str) -> bool:
    """A paragraph that is "[Headline](url)" alone or "[Headline](url) - summary" (or ". summary"): an item of a
    link list, unlike prose that opens with a link ("[Argh4k](url) has landed ...") or a bare "[link](url)" reference."""
    match = re.match(r"^\s*\[([^\]]+)\]\([^)]+\)\s*(?:$|[-–—:.]\s)", paragraph)
    return match is not None and len(match.group(1).split()) >= 3


def _trailing_items(body_lines: list[str], section: str) -> tuple[list[str], list[_Draft]]:
    """A linked headline whose body ends in two or more "[Headline](url) - summary" paragraphs (an issue whose
    section headings were dropped: Last Week in AI's "Other News" with no "#### Tools" above it) keeps the text
    before them; each item becomes a story of its own, with the paragraphs that follow it."""
    paragraphs = _paragraphs(body_lines)
    starts = [i for i, p in enumerate(paragraphs) if _summary_item(p)]
    if len(starts) < 2:
        return body_lines, []
    own = [line for p in paragraphs[:starts[0]] for line in (*p.split("\n"), "")]
    items: list[_Draft] = []
    for n, start in enumerate(starts):
        para = paragraphs[start]
        first = _LINK_RE.search(para)
        rest = para[first.end():].lstrip(" -–—:") if first else para
        follow = paragraphs[start + 1:starts[n + 1] if n + 1 < len(starts) else len(paragraphs)]
        items.append(_Draft(headline=link_text(first.group(1) if first else para.split("\n")[0]), section=section,
                            lines=[rest, *follow], url=first.group(2) if first else None))
    return own, items


def _split_item(content: str, section: str) -> _Draft:
    """"📜 [Title](url) - comment" -> headline "Title" (text before the link included), body "comment"; the
    comment keeps any further links."""
    content = strip_leading_symbols(content)
    first = next((m for m in _LINK_RE.finditer(content) if not m.group(0).startswith("!")), None)
    if first is None:
        return _Draft(headline=link_text(content), section=section)
    # \s: the separators come with no-break spaces too ("[Title](url)\u00a0-\u00a0comment").
    head = re.sub(r"[\s:\-–—]+$", "", link_text(content[:first.end()]))
    rest = re.sub(r"^[\s:\-–—\\]+", "", content[first.end():])
    return _Draft(headline=head, section=section, lines=[rest] if rest.strip() else [], url=first.group(2))


# ---------------------------------------------------------------- plain text


def parse_plain_body(body: str) -> list[_Draft]:
    """Plain-text issues: emoji-led lines are headlines; a run of them with no body between is the table of
    contents; a sign-off line ends the stories; promo lines are dropped wherever they are."""
    lines = [ln.rstrip() for ln in body.replace("\r\n", "\n").split("\n")]
    for i, line in enumerate(lines):
        if is_footer(line):
            lines = lines[:i]
            break
    lines = [ln for ln in lines if not is_promo(ln)]
    nonblank = [ln for ln in lines if ln.strip()]
    symbol_heads = [i for i, ln in enumerate(nonblank) if starts_with_symbol(ln) and len(ln.split()) <= 20]
    # Consecutive headline lines with nothing between them are the table of contents, not stories.
    toc = {i for i in symbol_heads if i - 1 in symbol_heads or i + 1 in symbol_heads}
    drafts: list[_Draft] = []
    if len(symbol_heads) - len(toc) >= 2:
        heads = set(symbol_heads) - toc
        last_toc = max(toc, default=-1)
        current: _Draft | None = None
        for i, line in enumerate(nonblank):
            if i <= last_toc:
                continue
            if i in heads:
                if current is not None and current.lines:
                    drafts.append(current)
                current = _Draft(headline=strip_leading_symbols(line), section="")
            elif current is not None:
                current.lines.append(line)
        if current is not None and current.lines:
            drafts.append(current)
        return drafts
    # No symbol headlines: a short line without a final full stop, followed by a paragraph, is a headline.
    for para in _paragraphs(lines):
        para_lines = para.split("\n")
        first = para_lines[0].strip()
        if len(para_lines) > 1 and len(first.split()) <= 14 and not first.endswith((".", ":", ",")):
            drafts.append(_Draft(headline=first, section="", lines=para_lines[1:]))
        elif drafts and len(para.split()) > 0:
            drafts[-1].lines.extend(["", *para_lines])
        else:
            drafts.append(_Draft(headline=first[:120], section="", lines=para_lines))
    return drafts


# ---------------------------------------------------------------- entry point


def parse_issue(
    path: Path,
    *,
    raw: bytes | None = None,
    issue_date: date | None = None,
    source_name: str | None = None,
) -> Issue:
    """Read one issue file. Raises IssueError with a one-line reason for anything unusable."""
    suffix = path.suffix.lower()
    raw = read_issue_bytes(path, raw)
    meta: dict[str, object] = {}
    if suffix == ".eml":
        kind, text, meta = email_parts(raw)
        if kind == "html":
            text, html_meta = html_to_markdown(text)
            meta = {**html_meta, **meta}
            drafts = parse_markdown_body(text)
        else:
            drafts = parse_markdown_body(text) if re.search(r"^#{1,6}\s", text, re.M) else parse_plain_body(text)
    else:
        text = decode_bytes(raw)
        if suffix in (".html", ".htm"):
            text, meta = html_to_markdown(text)
            drafts = parse_markdown_body(text)
        elif suffix in (".md", ".markdown"):
            meta, body = _split_front_matter(text)
            drafts = parse_markdown_body(body)
        elif suffix == ".mdx":
            meta, body = _split_front_matter(text)
            meta = mdx_meta(meta)
            drafts = parse_markdown_body(mdx_to_markdown(body, title=str(meta.get("title") or "")),
                                         split_items=True)
        else:
            meta, body = _split_front_matter(text)
            drafts = parse_plain_body(body)

    date_source = "unknown"
    found = issue_date
    if found is not None:
        date_source = "--date"
    else:
        for source, value in (("title", date_in_title(str(meta.get("title") or ""))), ("metadata", meta.get("date")),
                              ("file name", date_from_filename(path.name))):
            found = parse_date(value)
            if found:
                date_source = source
                break
    if found is None and suffix not in (".eml",):
        # A header line such as "March 18, 2026" near the top of the issue.
        for line in text.split("\n")[:8]:
            if 6 <= len(line.strip()) <= 30 and re.search(r"\d{4}", line):
                found = parse_date(line.strip())
                if found:
                    date_source = "header line"
                    break

    raw_title = str(meta.get("title") or "").strip()
    folder = path.parent.name.replace("-", " ").replace("_", " ").strip()
    name = source_name or str(meta.get("newsletter") or "") or (newsletter_name(raw_title) if raw_title else "")
    # A short one-word folder is an acronym ("lwkd" -> "LWKD"); longer ones are words ("this week in rust").
    name = name or (folder.upper() if " " not in folder and len(folder) <= 5 else folder.title()) or "Newsletter"
    title = raw_title or (f"{name} {found.isoformat()}" if found else f"{name} ({path.stem})")
    issue_id = f"{slugify(name)}--{slugify(path.stem)}"
    stories = build_stories(drafts, issue_id=issue_id, title=title, found=found, name=name)
    if not stories:
        raise IssueError("no stories found in the file")
    return Issue(issue_id=issue_id, title=title, date=found, source_name=name, path=str(path),
                 stories=stories, date_source=date_source)


def build_stories(drafts: list[_Draft], *, issue_id: str, title: str, found: date | None, name: str
                  ) -> list[Story]:
    stories: list[Story] = []
    for draft in drafts:
        body = normalize_ws("\n".join(link_text(ln) for ln in draft.lines))
        headline = draft.headline.strip()
        if headline.lower() in ("", "nan", "none", "null", "untitled"):
            headline = body.split("\n")[0][:120] if body else ""
        if not headline and not body:
            continue
        all_links = ([draft.url] if draft.url else []) + draft.links + links_of("\n".join(draft.lines))
        url = all_links[0] if all_links else None
        idx = len(stories)
        stories.append(Story(
            story_id=f"{issue_id}#{idx}", issue_id=issue_id, issue_title=title, index=idx,
            headline=headline, body=body, section=draft.section, date=found, url=url,
            links=list(dict.fromkeys(all_links)), source_kind=SourceKind.NEWSLETTER, source_name=name,
        ))
    return stories

