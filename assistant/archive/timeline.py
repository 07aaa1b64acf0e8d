"""The coverage timeline of a query: first and last mention, stories per week, the issues that covered it.

Built from the stories that mention the query (assistant/archive/search.py), so the timeline counts exactly what
an editor can check by eye; when nothing mentions every word it stays empty.

    cov = coverage(desk.archive_deps, "HBM4")
    cov.first_mention, cov.weeks, cov.issues
    result, cov = explore(desk.archive_deps, "HBM4", sort="newest")   # the Archive tab: both from one pass
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from assistant.archive.search import (
    ArchiveDeps,
    ArchiveHit,
    ArchiveResult,
    SortOrder,
    archive_result,
    find_mentions,
)
from assistant.records import Filters


@dataclass
class WeekCount:
    week: date  # the Monday that starts the ISO week
    stories: int


@dataclass
class IssueCoverage:
    issue_id: str
    issue: str
    date: str | None
    source: str
    stories: int
    headlines: list[str]


@dataclass
class Coverage:
    query: str
    terms: list[str]
    filters: str
    total: int
    undated: int
    first_mention: ArchiveHit | None
    last_mention: ArchiveHit | None
    weeks: list[WeekCount]
    issues: list[IssueCoverage]

    def to_json(self) -> dict[str, Any]:
        return {
            "query": self.query, "terms": self.terms, "filters": self.filters, "total": self.total,
            "undated": self.undated,
            "first_mention": asdict(self.first_mention) if self.first_mention else None,
            "last_mention": asdict(self.last_mention) if self.last_mention else None,
            "weeks": [{"week": w.week.isoformat(), "stories": w.stories} for w in self.weeks],
            "issues": [asdict(i) for i in self.issues],
        }


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def build_coverage(query: str, terms: list[str], hits: list[ArchiveHit], *, filters: str = "") -> Coverage:
    dated = [(date.fromisoformat(h.date), h) for h in hits if h.date]
    dated.sort(key=lambda pair: (pair[0], -pair[1].score))
    weeks: list[WeekCount] = []
    if dated:
        counts = Counter(monday(d) for d, _ in dated)
        week, last = monday(dated[0][0]), monday(dated[-1][0])
        while week <= last:  # every week between first and last, zeros included, so gaps show on the plot
            weeks.append(WeekCount(week=week, stories=counts.get(week, 0)))
            week += timedelta(days=7)
    issues: OrderedDict[str, IssueCoverage] = OrderedDict()
    for h in sorted(hits, key=lambda h: (h.date or "9999-12-31", h.issue)):
        entry = issues.get(h.issue_id)
        if entry is None:
            entry = issues[h.issue_id] = IssueCoverage(issue_id=h.issue_id, issue=h.issue, date=h.date,
                                                       source=h.source, stories=0, headlines=[])
        entry.stories += 1
        entry.headlines.append(h.headline)
    return Coverage(query=query, terms=terms, filters=filters, total=len(hits),
                    undated=len(hits) - len(dated), first_mention=dated[0][1] if dated else None,
                    last_mention=max(dated, key=lambda p: (p[0], p[1].score))[1] if dated else None,
                    weeks=weeks, issues=list(issues.values()))


def coverage(deps: ArchiveDeps, query: str, *, filters: Filters | None = None) -> Coverage:
    parsed, hits = find_mentions(deps, query, filters=filters)
    return build_coverage(parsed.text, parsed.terms + parsed.phrases, hits,
                          filters=filters.describe() if filters else "")


def explore(deps: ArchiveDeps, query: str, *, filters: Filters | None = None,
            sort: str | SortOrder = SortOrder.RELEVANCE, limit: int = 50) -> tuple[ArchiveResult, Coverage]:
    """The archive results and the coverage timeline of one query, from one matching pass."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    order = SortOrder.parse(sort)
    parsed, hits = find_mentions(deps, query, filters=filters)
    cov = build_coverage(parsed.text, parsed.terms + parsed.phrases, hits,
                         filters=filters.describe() if filters else "")
    return archive_result(deps, parsed, hits, filters=filters, order=order, limit=limit), cov
