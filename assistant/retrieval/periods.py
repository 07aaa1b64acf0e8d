"""Periods that editors and readers name in a question, beyond what dateparser reads: parts of a year ("in early
2023", "mid-2026", "late 2024", "in autumn 2022", "summer of 2021"), named weeks ("the week ending May 27, 2024",
"the week of May 13-19, 2024") and issues named by their date ("the August 12, 2026 issue").

dateparser reads none of these, so "Who acquired Gatsby Inc. in early 2023?" searched every date and found the
Gatsby release notes of 2022 before the acquisition. A third of a year is four months, a season three (the
northern meteorological seasons; winter, which spans two years, is left to the rest of the parser).

    [(first, last, start, end)] = year_parts("Who acquired Gatsby in early 2023?")
    first, last   # date(2023, 1, 1), date(2023, 4, 30)
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

_MONTH_ALT = ("january|february|march|april|may|june|july|august|september|october|november|december|"
              "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_WEEK_RE = re.compile(
    rf"\b(?:the\s+)?week\s+(?P<how>ending|ended|of)\s+(?P<month>{_MONTH_ALT})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?"
    rf"(?:\s*[-–]\s*(?:(?P<month2>{_MONTH_ALT})\.?\s+)?(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?)?,?\s+(?P<year>(?:19|20)\d\d)\b",
    re.IGNORECASE)


def month_number(name: str) -> int:
    key = name.lower().rstrip(".")[:3]
    return next(i for i, m in enumerate(_MONTH_ALT.split("|")[:12], 1) if m.startswith(key))


def named_weeks(question: str, *, margin: int) -> list[tuple[date, date, int, int]]:
    """(first day, last day, start, end) for each week the question names. The issue of a week can be dated a
    few days after it ends, so `margin` days are added after the week."""
    out = []
    for m in _WEEK_RE.finditer(question):
        try:
            year = int(m.group("year"))
            day = date(year, month_number(m.group("month")), int(m.group("day")))
            if m.group("day2"):
                month2 = month_number(m.group("month2") or m.group("month"))
                end = date(year + (1 if month2 < day.month else 0), month2, int(m.group("day2")))
                out.append((day, end + timedelta(days=margin), m.start(), m.end()))
                continue
        except ValueError:
            continue
        if m.group("how").lower() == "of":
            out.append((day, day + timedelta(days=6 + margin), m.start(), m.end()))
        else:
            out.append((day - timedelta(days=6), day + timedelta(days=margin), m.start(), m.end()))
    return out


# An issue named by its date: "the August 12, 2026 issue", "the issue of May 7, 2025", "the 2025-05-07 edition".
_DAY_RE = re.compile(rf"(?P<month>{_MONTH_ALT})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d\d)"
                     rf"|(?P<iso>(?:19|20)\d\d-\d\d-\d\d)", re.IGNORECASE)
_ANY_DAY = re.sub(r"\(\?P<\w+>", "(?:", _DAY_RE.pattern)  # the same text, without its groups
_DATED_ISSUE_RE = re.compile(rf"\bthe\s+(?P<a>{_ANY_DAY})\s+(?:issue|edition|newsletter)\b|"
                             rf"\b(?:issue|edition)\s+(?:of|from|dated)\s+(?P<b>{_ANY_DAY})", re.IGNORECASE)


def dated_issues(question: str) -> list[tuple[date, int, int]]:
    """(the day, start, end of the phrase) for each issue the question names by its date."""
    out = []
    for m in _DATED_ISSUE_RE.finditer(question):
        day = _DAY_RE.fullmatch(m.group("a") or m.group("b"))
        assert day is not None  # the same pattern found it
        try:
            out.append((date.fromisoformat(day["iso"]) if day["iso"] else
                        date(int(day["year"]), month_number(day["month"]), int(day["day"])), m.start(), m.end()))
        except ValueError:
            continue  # "February 30"
    return out


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
