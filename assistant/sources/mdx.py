"""MDX issues (markdown + JSX, as Docusaurus newsletters such as This Week In React write them) -> plain markdown
in the shape parse_markdown_body understands.

Nothing here runs or renders JSX: components are stripped to the prose between their tags, ESM `import`/`export`
blocks, `{expressions}` and `{/* comments */}` go, and the content of script-like tags is dropped whole, so
hostile markup in a file never survives as text."""

from __future__ import annotations

import re
from datetime import date

from assistant.sources.text import is_sponsor_label, strip_leading_symbols

# Tags whose content is code or embedded media, never prose.
_DROP_CONTENT = {"script", "style", "noscript", "iframe", "object", "embed", "svg", "template", "textarea", "math"}
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_ESM_RE = re.compile(r"^(import|export)\b")
_MDX_COMMENT_RE = re.compile(r"\{/\*.*?\*/\}", re.DOTALL)
_TAG_NAME_RE = re.compile(r"</?([A-Za-z][\w.:-]*)")
_AUTOLINK_RE = re.compile(r"<((?:https?|mailto):[^\s<>]+)>")
# Backslash escapes that do not change link syntax; `\[`, `\]`, `\(`, `\)` stay so links still parse.
_UNESCAPABLE = set("!\"#$%&'*+,-./:;<=>?@^_`{|}~")
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET_RE = re.compile(r"^(\s*)[*+-]\s+(.*)$")
_LINKED_IMAGE_RE = re.compile(r"^\s*\[!\[[^\]]*\]\([^)]*\)\]\([^)]*\)\s*$")
_LINK_ONLY_RE = re.compile(r"^\[(?:\*\*)?[^\]]+?(?:\*\*)?\]\([^)\s]+\)$")
_BOLD_ONLY_RE = re.compile(r"^\*\*([^*]+)\*\*(:?)$")
_LINK_ITEM_RE = re.compile(r"^\[[^\]]+\]\([^)\s]+\)")
RULE_RE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_TRUNCATE_RE = re.compile(r"^[ \t]*(?:<!--\s*truncate\s*-->|\{/\*\s*truncate\s*\*/\})[ \t]*$", re.MULTILINE)
_US_DATE_RE = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")


_NUMBERED_TITLE_RE = re.compile(r"^(.*?\S)\s*#\d+\b")


def mdx_meta(meta: dict[str, object]) -> dict[str, object]:
    """Front matter as parse_issue reads it. Docusaurus reads dates with JavaScript's Date, so "08-19-2026" is
    month-day-year (parse_date would guess); and "This Week In React #200: Remix, ..." names the newsletter
    before the issue number, so every issue gets the same source name (and stable ids)."""
    meta = dict(meta)
    value = meta.get("date")
    match = _US_DATE_RE.match(value.strip()) if isinstance(value, str) else None
    if match:
        try:
            meta["date"] = date(int(match.group(3)), int(match.group(1)), int(match.group(2)))
        except ValueError:
            pass
    named = _NUMBERED_TITLE_RE.match(str(meta.get("title") or ""))
    if named and not meta.get("newsletter"):
        meta["newsletter"] = named.group(1)
    return meta


def mdx_to_markdown(body: str, *, title: str = "") -> str:
    """The body of an MDX file (front matter already removed) as markdown: JSX gone, prose kept, sponsor
    sections dropped, bold lead paragraphs turned into story headings, and the excerpt (what Docusaurus shows
    above `<!-- truncate -->`: the editor's note) one story named after the issue."""
    body = _excerpt_story(body.replace("\r\n", "\n"), title)
    out: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    for line in body.replace("\r\n", "\n").split("\n"):
        if fence is not None:
            out.append(line)
            if line.strip().startswith(fence):
                fence = None
            continue
        match = _FENCE_RE.match(line)
        if match:
            out.append(_strip_jsx("\n".join(prose)))
            prose, fence = [], match.group(1)
            out.append(line)
            continue
        prose.append(line)
    out.append(_strip_jsx("\n".join(prose)))
    return _restructure("\n".join(out), title=title)


def _excerpt_story(body: str, title: str) -> str:
    """The editor's note above `<!-- truncate -->` as a story of its own ("At 43k subscribers, ...", "Shopify
    acquires Remix"): without a heading above it, it was an issue's preamble, which is no story. Its list is
    the note's details, not stories of their own."""
    match = _TRUNCATE_RE.search(body)
    if match is None:
        return body
    head = body[: match.start()]
    own = [line for line in _strip_jsx(head).split("\n") if line.strip() and line.strip() != title.strip()]
    if any(_HEADING_RE.match(line) for line in head.split("\n")) or not any(re.search(r"\w", line) for line in own):
        # A heading above the marker: the issue has its own structure there. An excerpt that only repeats the
        # title (the oldest issues): the note follows the marker, under the title as a heading, and stays out.
        return body
    note = [f"{b.group(1)}• {b.group(2)}" if (b := _BULLET_RE.match(line)) else line for line in head.split("\n")]
    return "\n".join([f"## {strip_leading_symbols(title) or 'Editor’s note'}", "", *note, "", body[match.end():]])


# ---------------------------------------------------------------- JSX and ESM


def _drop_esm(text: str) -> str:
    # An ESM block starts a paragraph with `import`/`export` and runs to the next blank line (MDX's own rule).
    kept: list[str] = []
    in_esm = False
    previous_blank = True
    for line in text.split("\n"):
        if in_esm:
            in_esm = bool(line.strip())
        elif previous_blank and _ESM_RE.match(line):
            in_esm = True
        else:
            kept.append(line)
        previous_blank = not line.strip()
    return "\n".join(kept)


def _tag_end(text: str, start: int) -> int:
    """Index just past the `>` closing the tag that opens at `start`, skipping quoted and braced attribute
    values; -1 when the tag never closes."""
    depth = 0
    quote = ""
    i = start + 1
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif ch == ">" and depth == 0:
            return i + 1
        i += 1
    return -1


def _brace_end(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def _strip_jsx(text: str) -> str:
    """One pass over MDX prose: tags and expressions removed, code spans and escaped characters kept as text."""
    text = _drop_esm(_MDX_COMMENT_RE.sub("", text))
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append(nxt if nxt in _UNESCAPABLE or nxt == "\n" else text[i:i + 2])
            i += 2
        elif ch == "`":
            run = len(text[i:]) - len(text[i:].lstrip("`"))
            close = text.find("`" * run, i + run)
            end = close + run if close != -1 else i + run
            out.append(text[i:end])
            i = end
        elif ch == "{":
            end = _brace_end(text, i)
            if end == -1:
                out.append(ch)
                i += 1
            else:
                i = end
        elif ch == "<":
            auto = _AUTOLINK_RE.match(text, i)
            if auto:
                # `(<url>)` is a link destination in angle brackets; a bare `<url>` is an autolink.
                out.append(auto.group(0) if out and out[-1].endswith("(") else f"[{auto.group(1)}]({auto.group(1)})")
                i = auto.end()
                continue
            name = _TAG_NAME_RE.match(text, i)
            fragment = text.startswith(("<>", "</>"), i)
            end = _tag_end(text, i) if (name or fragment) else -1
            if end == -1:
                out.append(ch)
                i += 1
                continue
            tag = name.group(1).lower() if name else ""
            closing = text[i + 1] == "/"
            self_closing = text[end - 2] == "/"
            if tag in _DROP_CONTENT and not closing and not self_closing:
                closer = re.compile(rf"</{re.escape(tag)}\s*>", re.IGNORECASE).search(text, end)
                # Unclosed (MDX itself would refuse the file): its paragraph goes, the rest of the issue stays.
                paragraph_end = text.find("\n\n", end)
                end = closer.end() if closer else (paragraph_end if paragraph_end != -1 else len(text))
            if tag == "br":
                out.append("\n")
            i = end
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# ---------------------------------------------------------------- structure


def _restructure(text: str, *, title: str) -> str:
    """Heading decoration removed, sponsor sections and sponsored items dropped, and a section's lead stories
    ("**Title**" or "[Title](url)" alone in a paragraph, then prose) made into headings one level down so each
    becomes one story. A lead ends at a thematic break or a bold "Extras:" label; the section heading is then
    repeated so the link list that follows is read as the section's items again."""
    lines = text.split("\n")
    out: list[str] = []
    section: tuple[int, str] | None = None
    skip_level = 0  # > 0 while inside a sponsor section
    in_lead = fresh = False  # fresh: nothing written under the section heading yet
    previous = ""  # the last non-blank line written
    for idx, line in enumerate(lines):
        if out and out[-1].strip():
            previous = out[-1].strip()
        heading = _HEADING_RE.match(line)
        if heading:
            level, raw = len(heading.group(1)), heading.group(2).strip()
            if skip_level and level > skip_level:
                continue
            skip_level, in_lead = 0, False
            if is_sponsor_label(raw):
                skip_level = level
                continue
            label = strip_leading_symbols(raw)
            if level == 1 and title and label.strip() == title.strip():
                continue  # the title repeated as a heading; the intro under it is not a story
            section, fresh = (level, label), True
            out.append(f"{'#' * level} {label}")
            continue
        if skip_level:
            continue
        stripped = line.strip()
        if _LINKED_IMAGE_RE.match(line) or (stripped.startswith("![") and stripped.endswith(")")):
            continue
        bullet = _BULLET_RE.match(line)
        if bullet and is_sponsor_label(bullet.group(2)):
            continue
        standalone = stripped and _blank(lines, idx - 1) and _blank(lines, idx + 1)
        if section is not None and standalone and RULE_RE.match(line):
            if in_lead:
                out.extend(["", f"{'#' * section[0]} {section[1]}", ""])
            in_lead, fresh = False, in_lead or fresh
            continue
        bold = _BOLD_ONLY_RE.match(stripped) if standalone else None
        if section is not None and bold and (bold.group(2) or bold.group(1).rstrip().endswith(":")):
            # "**Extras:**" labels the link list after a lead; it is no story of its own.
            if in_lead:
                out.extend([f"{'#' * section[0]} {section[1]}", ""])
            in_lead, fresh = False, in_lead or fresh
            continue
        lead = _lead_heading(stripped) if section is not None and standalone else None
        if lead is not None and section is not None:
            if not fresh and not in_lead:
                # The section heading already has items of its own; repeated bare, it is the lead's section label.
                out.extend([f"{'#' * section[0]} {section[1]}", ""])
            out.append(f"{'#' * min(section[0] + 1, 6)} {lead}")
            in_lead, fresh = True, False
            continue
        if in_lead and bullet and not previous.startswith("•") and not previous.endswith(":") \
                and _LINK_ITEM_RE.match(strip_leading_symbols(bullet.group(2))):
            # A link list straight after a lead's prose (no "---" between) is the section's list again; a list
            # the lead introduces ("Read in that order:") or one of plain details stays with it.
            out.extend(["", f"{'#' * section[0]} {section[1]}", ""] if section else [])
            in_lead = False
        if in_lead and bullet:
            # Inside a lead the bullets are its details, not separate stories.
            out.append(f"{bullet.group(1)}• {bullet.group(2)}")
            continue
        if fresh and section is not None and stripped and not bullet:
            # Prose right under a section heading would make the heading a story and leave the section's leads
            # without a section; it becomes a story named after the section instead.
            out.extend([f"{'#' * min(section[0] + 1, 6)} {section[1]}", ""])
        fresh = fresh and not stripped
        out.append(line)
    return "\n".join(out)


def _blank(lines: list[str], idx: int) -> bool:
    return idx < 0 or idx >= len(lines) or not lines[idx].strip()


def _lead_heading(paragraph: str) -> str | None:
    """The heading text for a lead paragraph, or None when the paragraph is prose."""
    # An emoji may open the lead ("🎥 **[Talk title](url)**"), as it opens list items.
    bold = _BOLD_ONLY_RE.match(strip_leading_symbols(paragraph))
    if bold:
        inner = bold.group(1).strip()
        return inner if _LINK_ONLY_RE.match(inner) or "](" not in inner else None
    candidate = strip_leading_symbols(paragraph)
    return candidate if _LINK_ONLY_RE.match(candidate) else None
