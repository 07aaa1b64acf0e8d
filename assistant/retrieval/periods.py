"""Parts of a year in a question: "in early 2023", "mid-2026", "late 2024", "in autumn 2022", "summer of 2021".

dateparser reads none of these, so "Who acquired Gatsby Inc. in early 2023?" searched every date and found the
Gatsby release notes of 2022 before the acquisition. A third of a year is four months, a season three (the
northern meteorological seasons; winter, which spans two years, is left to the rest of the parser).

    [(first, last, start, end)] = year_parts("Who acquired Gatsby in early 2023?")
    first, last   # date(2023, 1, 1), date(2023, 4, 30)
"""

from __future__ import annotations

import calendar
import re
from datetime import date

# part -> (first month, last month)
PARTS = {"early": (1, 4), "mid": (5, 8), "late": (9, 12), "spring": (3, 5), "summer": (6, 8), "autumn": (9, 11),
         "fall": (9, 11)}
_PART_RE = re.compile(r"\b(?:(?:in|during|by)\s+)?(?:the\s+)?(?P<part>early|mid|late|spring|summer|autumn|fall)"
                      r"(?:\s+of)?[\s-]+(?P<year>(?:19|20)\d\d)\b", re.IGNORECASE)


def year_parts(question: str) -> list[tuple[date, date, int, int]]:
    """(first day, last day, start, end of the phrase in the question) for each part of a year it names."""
    out = []
    for m in _PART_RE.finditer(question):
        first, last = PARTS[m.group("part").lower()]
        year = int(m.group("year"))
        out.append((date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1]), m.start(), m.end()))
    return out
