"""What a briefing request means: `--since last-issue|DATE|7d`, `--issue latest|ID|#339`, `--as-of`, names.

    briefing = brief(reader, since="last-issue", sources=["Last Week in AI"])
    summary = brief(reader, issue="#339")              # that issue's main stories, one sentence each

- `as_of` defaults to today, or to the archive's newest story when the archive ends earlier (an archive that
  stopped a month ago is briefed as of its last news, not as an empty week).
- `last-issue`: from the date of the newest newsletter issue on or before `as_of` (of the sources asked for),
  that issue included, to `as_of`: the latest issue plus whatever feeds brought since.
- `7d` / `2w`: the last 7 days / 2 weeks up to `as_of`, both ends included. A date: from that date.
- Source and section names match case-insensitively; an unknown one is a one-line error naming the known ones.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

from assistant.briefing.brief import DEFAULT_MAX_ITEMS, Briefing, BriefingError, build_briefing
from assistant.briefing.window import ArchiveView, archive_view
from assistant.retrieval.issueref import matching_issues

if TYPE_CHECKING:
    from assistant.briefing.writer import ItemWriter
    from assistant.index.reader import IndexReader

_RELATIVE_RE = re.compile(r"^(\d{1,4})\s*(d|day|days|w|week|weeks)$", re.IGNORECASE)
_LAST_ISSUE = ("last-issue", "last issue", "latest-issue", "latest issue", "last_issue")


def _day(value: int) -> date | None:
    if not value:
        return None
    text = str(value)
    return date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BriefingError(f"cannot read {value!r} as a date: use YYYY-MM-DD, last-issue or 7d") from None


def _match_names(asked: list[str], known: set[str], what: str) -> list[str]:
    by_lower = {k.lower(): k for k in known}
    out = []
    for name in asked:
        hit = by_lower.get(name.strip().lower())
        if hit is None:
            listed = ", ".join(sorted(known)[:12]) or "none"
            raise BriefingError(f"unknown {what} {name!r}; the index has: {listed}")
        out.append(hit)
    return out


def _issues(view: ArchiveView, sources: list[str]) -> dict[str, tuple[int, str, str, str]]:
    """issue id -> (date, title, source, kind) for every issue of the sources (all when none given)."""
    out: dict[str, tuple[int, str, str, str]] = {}
    for row in view.stories.values():
        c = row.first
        if (not sources or c.source_name in sources) and row.issue_id not in out:
            out[row.issue_id] = (row.day, c.issue_title, c.source_name, c.source_kind)
    return out


def default_as_of(view: ArchiveView, sources: list[str], *, today: date | None = None) -> date:
    today = today or date.today()
    days = [r.day for r in view.stories.values() if r.day and (not sources or r.first.source_name in sources)]
    newest = _day(max(days)) if days else None
    return min(today, newest) if newest else today


def latest_issue(view: ArchiveView, sources: list[str], as_of: date) -> str:
    limit = int(as_of.strftime("%Y%m%d"))
    issues = [(d, iid) for iid, (d, _, _, kind) in _issues(view, sources).items()
              if kind != "feed" and 0 < d <= limit]
    if not issues:
        where = f" of {', '.join(sources)}" if sources else ""
        raise BriefingError(f"no newsletter issue{where} on or before {as_of}")
    return max(issues)[1]


def resolve_issue(view: ArchiveView, issue: str, sources: list[str], as_of: date) -> str:
    """An issue id, "latest", or a number as in "#339" / "339" (matched against issue titles and ids)."""
    text = issue.strip()
    if text.lower() in ("latest", "last", *_LAST_ISSUE):
        return latest_issue(view, sources, as_of)
    known = _issues(view, sources)
    if text in known:
        return text
    number = text.lstrip("#").strip()
    if number.isdigit():
        hits = matching_issues(number, {iid: title for iid, (_, title, _, _) in known.items()})
    else:
        hits = [iid for iid, (_, title, _, _) in known.items() if text.lower() in (iid.lower(), title.lower())]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise BriefingError(f"no issue {issue!r} in the index; `newsdesk stats` and citations show issue ids")
    names = "; ".join(f"{known[h][1]} ({h})" for h in sorted(hits)[:5])
    raise BriefingError(f"{len(hits)} issues match {issue!r}: {names}; give the issue id or --source")


def resolve_since(view: ArchiveView, since: str | date | None, sources: list[str], as_of: date) -> date | None:
    if since is None or isinstance(since, date):
        return since
    text = since.strip().lower()
    if not text:
        return None
    if text in _LAST_ISSUE:
        return _day(_issues(view, sources)[latest_issue(view, sources, as_of)][0])
    match = _RELATIVE_RE.match(text)
    if match:
        days = int(match.group(1)) * (7 if match.group(2).startswith("w") else 1)
        if days < 1:
            raise BriefingError("a relative window needs at least 1 day")
        return as_of - timedelta(days=days - 1)
    return parse_day(text)


def brief(reader: IndexReader, *, since: str | date | None = "last-issue", until: date | None = None,
          issue: str | None = None, sources: list[str] | None = None, sections: list[str] | None = None,
          as_of: date | None = None, max_items: int = DEFAULT_MAX_ITEMS, today: date | None = None,
          writer: ItemWriter | None = None) -> Briefing:
    """A briefing request resolved against the index and built (see the module docstring for the rules); a
    `writer` writes the first items' sentences (briefing/writer.py)."""
    view = archive_view(reader)
    known_sources = {r.first.source_name for r in view.stories.values() if r.first.source_name}
    known_sections = {r.first.section for r in view.stories.values() if r.first.section}
    source_names = _match_names(list(sources or []), known_sources, "source")
    section_names = _match_names(list(sections or []), known_sections, "section")
    as_of = as_of or default_as_of(view, source_names, today=today)
    if issue:
        issue_id = resolve_issue(view, issue, source_names, as_of)
        return build_briefing(reader, issue_id=issue_id, sections=section_names, max_items=max_items, sentences=1,
                              writer=writer)
    start = resolve_since(view, since, source_names, as_of)
    end = min(until, as_of) if until else as_of
    if start and start > end:
        raise BriefingError(f"the window is empty: since {start} is after {end}")
    return build_briefing(reader, since=start, until=end, sources=source_names, sections=section_names,
                          max_items=max_items, writer=writer)
