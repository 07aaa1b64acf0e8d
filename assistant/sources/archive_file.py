"""One markdown file holding many issues (ML Papers of the Week's README: 130 weekly sections) -> one Issue per
dated section.

The rule is structural, not per newsletter: a markdown file with at least MIN_SECTIONS level-2 (or level-1)
headings that carry a date or date range ("Top ML Papers of the Week (June 23 - June 29) - 2025", "March 3,
2024", "2024-03-03"), and where such headings are most of that level's headings, is an archive. Text before the
first dated section (title, table of contents) is the archive's front page, not an issue."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from assistant.records import Issue
from assistant.sources.isolation import hostile_input
from assistant.sources.issuefile import decode_bytes, read_issue_bytes
from assistant.sources.mdx import RULE_RE, mdx_meta, mdx_to_markdown
from assistant.sources.newsletter import (
    _HEADING_RE,
    _LINK_RE,
    IssueError,
    _Draft,
    _split_front_matter,
    build_stories,
    date_from_filename,
    link_text,
    links_of,
    parse_date,
    parse_issue,
    parse_markdown_body,
    slugify,
)

MIN_SECTIONS = 3

_MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
           "nov": 11, "dec": 12}
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?" \
         r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"(?:,?\s*((?:19|20)\d{2})(?!\d))?"
# "June 23 - June 29", "May 29-June 4", "Feb 13 - 19", "Jan 1-8", "March 3, 2024"; the end part is optional.
_RANGE_RE = re.compile(rf"\b{_MONTH}\s+{_DAY}{_YEAR}(?:\s*(?:-|–|—|to)\s*(?:{_MONTH}\s+)?{_DAY}{_YEAR})?",
                       re.IGNORECASE)
_ISO_RE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)(?:\s*(?:-|–|—|to)\s*(\d{4})-(\d{2})-(\d{2})(?!\d))?")
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_YEAR_ONLY_RE = re.compile(r"^\W*((?:19|20)\d{2})\W*$")
_FENCE_RE = re.compile(r"^\s*(```|~~~)")
_TABLE_SEPARATOR_RE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_ROW_NUMBER_RE = re.compile(r"^\s*\d{1,3}[.)]\s+")
_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)


@dataclass
class WeekSpan:
    """The date a heading carries: (month, day) of start and end, and the years written there (None if not)."""

    start: tuple[int, int]
    end: tuple[int, int]
    start_year: int | None
    end_year: int | None

    def end_date(self, year: int) -> date | None:
        try:
            return date(year, *self.end)
        except ValueError:
            return None


@dataclass
class _Section:
    level: int
    heading: str
    span: WeekSpan
    lines: list[str]
    year: int | None = None  # the enclosing "## 2024"-style heading's year, when one encloses this section


def heading_span(text: str) -> WeekSpan | None:
    """The date or date range in a heading; the heading's trailing year ("... (Dec 30 - Jan 5) - 2025") counts
    for the end of the range."""
    plain = link_text(text)
    iso = _ISO_RE.search(plain)
    if iso:
        start = (int(iso.group(2)), int(iso.group(3)))
        end = (int(iso.group(5)), int(iso.group(6))) if iso.group(4) else start
        return _valid(WeekSpan(start, end, int(iso.group(1)), int(iso.group(4) or iso.group(1))))
    match = _RANGE_RE.search(plain)
    # Month names are capitalised in headings; "you may 2x your ..." is no date.
    if not match or not match.group(1)[0].isupper():
        return None
    start_month = _MONTHS[match.group(1)[:3].lower()]
    start = (start_month, int(match.group(2)))
    end_month = _MONTHS[match.group(4)[:3].lower()] if match.group(4) else start_month
    end = (end_month, int(match.group(5))) if match.group(5) else start
    start_year = int(match.group(3)) if match.group(3) else None
    end_year = int(match.group(6)) if match.group(6) else None
    if end_year is None:
        trailing = _YEAR_RE.search(plain, match.end())
        end_year = int(trailing.group(1)) if trailing else (start_year if not match.group(5) else None)
    return _valid(WeekSpan(start, end, start_year, end_year))


def _valid(span: WeekSpan) -> WeekSpan | None:
    # A leap-year day is checked against 2000; "June 31" is no date.
    for month, day in (span.start, span.end):
        try:
            date(2000, month, day)
        except ValueError:
            return None
    return span


# ---------------------------------------------------------------- splitting


def find_sections(text: str) -> list[_Section] | None:
    """The dated sections of an archive, or None when the file is not one."""
    headings: list[tuple[int, int, str]] = []  # (line index, level, text)
    lines = text.split("\n")
    fence = None
    for idx, line in enumerate(lines):
        opened = _FENCE_RE.match(line)
        if fence is not None:
            fence = None if opened and line.strip().startswith(fence) else fence
            continue
        if opened:
            fence = opened.group(1)
            continue
        match = _HEADING_RE.match(line)
        if match:
            headings.append((idx, len(match.group(1)), match.group(2)))
    for level in (2, 1):
        same = [h for h in headings if h[1] == level]
        dated = [h for h in same if heading_span(h[2])]
        # Most of the level's headings must be dated: a single issue may date a few of its sections (events).
        if len(dated) >= MIN_SECTIONS and len(dated) * 2 > len(same):
            return _cut(lines, headings, level)
    return None


def _cut(lines: list[str], headings: list[tuple[int, int, str]], level: int) -> list[_Section]:
    sections: list[_Section] = []
    year_heading: tuple[int, int] | None = None  # (level, year) of the latest "## 2024" heading
    for pos, (idx, h_level, text) in enumerate(headings):
        year_only = _YEAR_ONLY_RE.match(link_text(text))
        if year_only and h_level < level:
            year_heading = (h_level, int(year_only.group(1)))
        elif year_heading and h_level <= year_heading[0]:
            year_heading = None
        span = heading_span(text) if h_level == level else None
        if span is None:
            continue
        # The section runs to the next heading of its level or above.
        end = next((i for i, lv, _ in headings[pos + 1:] if lv <= level), len(lines))
        sections.append(_Section(level, text, span, lines[idx + 1:end],
                                 year_heading[1] if year_heading else None))
    if sections:
        _drop_trailing_footer(sections[-1])
    return sections


def _drop_trailing_footer(section: _Section) -> None:
    """The archive's own footer ("Subscribe to ...", "Join our Discord") follows a thematic break after the last
    issue's content."""
    rules = [i for i, line in enumerate(section.lines) if RULE_RE.match(line)]
    if rules and not any(_HEADING_RE.match(ln) or ln.lstrip().startswith("|") for ln in section.lines[rules[-1]:]):
        del section.lines[rules[-1]:]


def resolve_dates(sections: list[_Section], anchor: date | None) -> list[date | None]:
    """Each section's end date. The year comes from the heading, else from an enclosing year heading, else from
    the nearest already-dated neighbour (archives list weeks in order, newest or oldest first), else from the
    file's own date."""
    out: list[date | None] = []
    for section in sections:
        span = section.span
        year = span.end_year
        if year is None and span.start_year is not None:
            year = span.start_year + (1 if span.end < span.start else 0)
        year = year or section.year
        out.append(span.end_date(year) if year else None)
    for order in (range(len(sections)), range(len(sections) - 1, -1, -1)):
        neighbour: date | None = None
        for i in order:
            if out[i] is not None:
                neighbour = out[i]
            elif neighbour is not None:
                out[i] = neighbour = _closest(sections[i].span, neighbour)
    if anchor is not None:
        out = [d if d is not None else _closest(s.span, anchor) for s, d in zip(sections, out, strict=True)]
    return out


def _closest(span: WeekSpan, near: date) -> date | None:
    candidates = [d for y in (near.year - 1, near.year, near.year + 1) if (d := span.end_date(y))]
    return min(candidates, key=lambda d: abs(d - near), default=None)


# ---------------------------------------------------------------- tables


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def table_drafts(rows: list[str], section: str) -> list[_Draft]:
    """Data rows of a markdown table -> one story each: the first prose cell gives the headline ("1) **Title** -
    summary", "1) Title  Summary") and body; cells made only of links give the story's links."""
    drafts: list[_Draft] = []
    for row in rows:
        cells = _cells(row)
        link_cells = [c for c in cells if links_of(c) and not re.sub(r"[\s,;|]", "", _LINK_RE.sub("", c))]
        prose = [c for c in cells if c and c not in link_cells]
        if not prose:
            continue
        head, summary = _title_and_summary(_ROW_NUMBER_RE.sub("", prose[0]))
        body = [summary, *prose[1:]]
        lines = [ln.strip() for part in body for ln in _BR_RE.sub("\n", part).split("\n")]
        links = [u for c in link_cells for u in links_of(c)]
        drafts.append(_Draft(headline=head, section=section, lines=lines, url=links[0] if links else None,
                             links=links[1:]))
    return drafts


def _title_and_summary(cell: str) -> tuple[str, str]:
    bold = re.match(r"^\*\*(.+?)\*\*\s*[-–—:]?\s*", cell)
    if bold:
        return link_text(bold.group(1)), cell[bold.end():]
    # "Title  Summary" (the bold lost in conversion) or "Title - summary": the earliest separator wins (a summary
    # has double spaces and dashes of its own); "Title: summary" only without those, as titles have colons
    # ("DAPO: An Open-Source LLM ..."). A long first part is no title.
    first = _BR_RE.split(cell)[0]
    for pattern in (r"\s{2,}|\s[-–—]\s", r":\s"):
        split = re.search(pattern, first)
        if split and 0 < len(first[:split.start()].split()) <= 20:
            return link_text(first[:split.start()]).strip(), cell[split.end():].strip()
    return link_text(first)[:120], cell


def section_drafts(lines: list[str], heading: str = "Issue") -> list[_Draft]:
    """A section's body: tables give a story per row, the rest is read as markdown under the section's heading
    (so a bare link list splits into one story per item, and bare prose is one story named by the heading)."""
    drafts: list[_Draft] = []
    pending: list[str] = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and lines[i].lstrip().startswith("|") and _TABLE_SEPARATOR_RE.match(lines[i + 1]):
            j = i + 2
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            drafts.extend(_markdown_drafts(pending, heading))
            drafts.extend(table_drafts(lines[i + 2:j], section=""))
            pending, i = [], j
            continue
        pending.append(lines[i])
        i += 1
    drafts.extend(_markdown_drafts(pending, heading))
    return drafts


def _markdown_drafts(lines: list[str], heading: str) -> list[_Draft]:
    text = "\n".join(lines)
    if not re.search(r"\w", text):
        return []
    drafts = parse_markdown_body(f"# {heading}\n{text}", split_items=True)
    for draft in drafts:
        # The section heading is the issue's title, not a section within it.
        draft.section = "" if draft.section == link_text(heading) else draft.section
    return drafts


# ---------------------------------------------------------------- entry point


def split_archive(path: Path, text: str, *, issue_date: date | None = None, source_name: str | None = None
                  ) -> list[Issue] | None:
    """The issues of an archive file, or None when the file is a single issue."""
    meta, body = _split_front_matter(text)
    if path.suffix.lower() == ".mdx":
        meta = mdx_meta(meta)
        body = mdx_to_markdown(body, title=str(meta.get("title") or ""))
    sections = find_sections(body)
    if not sections:
        return None
    anchor = parse_date(meta.get("date")) or date_from_filename(path.name) or issue_date
    dates = resolve_dates(sections, anchor)
    name = source_name or str(meta.get("newsletter") or "") or _archive_title(body, sections[0].level)
    name = name or str(meta.get("title") or "") or path.parent.name.replace("-", " ").replace("_", " ").title()
    base = f"{slugify(name)}--{slugify(path.stem)}"
    issues: list[Issue] = []
    seen: dict[str, int] = {}
    for section, found in zip(sections, dates, strict=True):
        found = found or issue_date
        title = link_text(section.heading).strip()
        key = found.isoformat() if found else slugify(title)
        seen[key] = seen.get(key, 0) + 1
        # The week's end date names the issue, so re-ingesting the grown archive keeps every old id.
        issue_id = f"{base}--{key}" + (f"-{seen[key]}" if seen[key] > 1 else "")
        stories = build_stories(section_drafts(section.lines, title), issue_id=issue_id, title=title, found=found,
                                name=name)
        if stories:
            issues.append(Issue(issue_id=issue_id, title=title, date=found, source_name=name, path=str(path),
                                stories=stories, date_source="section heading" if found else "unknown"))
    if not issues:
        raise IssueError("no stories found in the archive's dated sections")
    return issues


def _archive_title(body: str, level: int) -> str:
    """The archive's own title: its one heading above the sections' level ("# ML Papers of The Week")."""
    if level < 2:
        return ""
    tops = [m.group(2) for m in (_HEADING_RE.match(ln) for ln in body.split("\n")) if m and len(m.group(1)) == 1]
    return link_text(tops[0]).strip() if len(tops) == 1 else ""


def parse_issues(
    path: Path,
    *,
    raw: bytes | None = None,
    issue_date: date | None = None,
    source_name: str | None = None,
) -> list[Issue]:
    """Read an issue file that may hold several issues: a markdown archive whose top-level headings are dated
    (one issue per dated section, see split_archive) or else one issue, as parse_issue. In an archive each
    section keeps its heading's date; issue_date only fills sections whose heading has none."""
    raw = read_issue_bytes(path, raw)
    # BeautifulSoup, the e-mail parser and YAML can raise anything on a hostile file: one line, for that file only.
    with hostile_input(IssueError, "cannot parse"):
        if path.suffix.lower() in (".md", ".markdown", ".mdx"):
            issues = split_archive(path, decode_bytes(raw), issue_date=issue_date, source_name=source_name)
            if issues is not None:
                return issues
        return [parse_issue(path, raw=raw, issue_date=issue_date, source_name=source_name)]
