"""What time phrases need to know of one index version: the days that hold stories, issue dates, and when a
term was first reported (for "before GTC")."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import date
from typing import Any

# An event's date is the first mention in the latest run of mentions no more than this many days apart.
EVENT_CLUSTER_DAYS = 45


@dataclass
class ArchiveCalendar:
    """Facts about one index version that time phrases need: which days hold stories, issue dates, and which
    stories name a term."""

    issue_dates: list[tuple[date, str, str]]  # (date, issue id, source name), newsletter issues only, sorted
    latest: date | None
    days: list[int] = field(default_factory=list)  # sorted distinct story dates as ordinals
    sources: set[str] = field(default_factory=set)  # lower-cased source names (never taken for events)
    mentions: Any = None  # callable(term) -> list[date], dates of stories that name the term

    def issues_before(self, as_of: date, sources: list[str] | None = None) -> list[tuple[date, str, str]]:
        return [row for row in self.issue_dates if row[0] <= as_of and (not sources or row[2] in sources)]

    def covers(self, since: date | None, until: date | None) -> bool:
        """Whether any story is dated within [since, until]; never for an archive of undated stories, where a
        date filter could only return nothing."""
        if not self.days:
            return False
        lo = bisect.bisect_left(self.days, since.toordinal() if since else 0)
        return lo < len(self.days) and (until is None or self.days[lo] <= until.toordinal())

    def event_date(self, term: str, as_of: date) -> date | None:
        dates = sorted(d for d in (self.mentions(term) if self.mentions else []) if d <= as_of)
        if not dates:
            return None
        first = dates[-1]
        for d in reversed(dates[:-1]):
            if (first - d).days > EVENT_CLUSTER_DAYS:
                break
            first = d
        return first
