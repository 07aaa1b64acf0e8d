"""Time phrases -> a date window, or recency weighting, relative to an as-of date.

News questions are nearly always about a time: "last week", "in May 2026", "since the previous issue",
"before GTC". A phrase we can date becomes a hard window (the answer states it); a question with no phrase is
taken to be about the recent past before the as-of date, so recent stories get a bounded bonus and nothing
dated after the as-of date is used. Dates themselves are read by dateparser; the small grammar below only
finds the words that introduce a date ("in", "since", "before", ...) and the relative phrases dateparser
cannot turn into a span ("last week" is a span, dateparser gives a single day)."""

from __future__ import annotations

import calendar
import math
import re
import threading
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from assistant.retrieval.calendar import ArchiveCalendar
from assistant.retrieval.periods import dated_issues, month_number, named_weeks, year_parts

# Newsletters report an event in the next issue, up to a week later, so a closed window about the past keeps
# stories dated up to this many days after its end (never past the as-of date).
PUBLICATION_LAG_DAYS = 6
# "What did we write about X in May?" asks about our issues, so May means the issues dated in May: no margin for
# reports that ran after the events. "What happened in May?" keeps the margin.
_OUR_WRITING = re.compile(
    r"\b(?:we|our|us|the newsletter|this newsletter|the issues?|issues?)\b.{0,40}?\b(?:wr(?:ite|ote|itten)|"
    r"cover(?:ed|s)?|mention(?:ed|s)?|publish(?:ed)?|sa(?:y|id)|report(?:ed)?|feature(?:d|s)?|ran|run|"
    r"include[ds]?|discuss(?:ed)?|link(?:ed)?|announce[ds]?|carr(?:y|ied|ies))\b|"
    r"\b(?:issues?|editions?)\s+(?:of|for|from|in|dated|published)\b|\b(?:issue|edition)\s+#?\d+\b",
    re.IGNORECASE)


def about_our_writing(question: str) -> bool:
    """"What did we write about X in May?", "Which papers in the April issues mentioned Mixtral?": a question
    about the newsletter's own coverage, not about when events happened."""
    return bool(_OUR_WRITING.search(question))


_MONTHS = {m.lower() for m in calendar.month_name[1:]} | {m.lower() for m in calendar.month_abbr[1:]}
_WEEKDAYS = {d.lower() for d in calendar.day_name} | {d.lower() for d in calendar.day_abbr}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "twelve": 12}

_PREPOSITION_RE = re.compile(r"\b(in|during|on|since|after|before|until|till|through|from|between)\s+", re.I)
_RELATIVE_RE = re.compile(
    r"\b(today|yesterday|(?:this|last|past) (?:week|month|year)|"
    r"(?:in |over |during )?(?:the )?(?:last|past|previous) (\d+|a|an|one|two|three|four|five|six|seven|eight|"
    r"nine|ten|twelve) (day|week|month|year)s?)\b", re.I)
_ISSUE_RE = re.compile(r"\b(since|in|from|before|after)\s+(?:the\s+|this\s+|our\s+)?"
                       r"(last|latest|previous|prior|current|most recent|this)\s+(issue|newsletter|edition)\b", re.I)
_EVENT_RE = re.compile(r"\b((?i:before|after|since|until|ahead of|following))\s+(?:the\s+)?"
                       r"((?:[A-Z][\w&./'-]*|[0-9]{4})(?:\s+(?:[A-Z0-9][\w&./'-]*))*)")
_TOKEN_RE = re.compile(r"[\w/'-]+|[,.]")
# How editors name issues by their dates: "the March 2026 issues", "the week ending May 27, 2024", "the week of
# May 13-19, 2024". The issue of a week can be dated a few days after it ends, hence the margin after the week.
_MONTH_NAMES = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
_MONTH_ALT = "|".join(m.capitalize() + "|" + m for m in _MONTH_NAMES) + "|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
_ISSUES_OF_MONTH_RE = re.compile(
    rf"\b(?:the\s+)?(?P<month>{_MONTH_ALT})\.?\s+(?P<year>(?:19|20)\d\d)\s+(?:issues?|editions?|newsletters?)\b")
# A month used as an adjective: "the April 2024 security advisory", "before the May 2023 featured PR". The month
# dates the thing named; a preposition before it bounds the window by that month.
_DATED_THING_RE = re.compile(
    rf"(?:\b(?P<word>before|until|after|since)\s+)?\bthe\s+(?P<month>{_MONTH_ALT})\.?\s+(?P<year>(?:19|20)\d\d)"
    rf"\s+(?=[a-z])", re.IGNORECASE)


@dataclass
class Window:
    since: date | None
    until: date | None
    label: str


@dataclass
class TimeFrame:
    """What the retriever does about time for one question."""

    as_of: date
    explicit_as_of: bool
    window: Window | None = None      # from a time phrase in the question
    recency: bool = True              # soft weighting toward the as-of date (only without a window)
    query: str = ""                   # the question without its time phrase, for retrieval
    phrases: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def describe(self, *, half_life_days: float | None = None, since: date | None = None,
                 until: date | None = None) -> str:
        """One line for the answer: the window actually searched."""
        when = "as of" if self.explicit_as_of else "today,"
        if self.window is not None:
            text = f"{_span(since, until)} (from {self.window.label!r}, {when} {self.as_of})"
        else:
            text = f"{_span(since, until)} ({when} {self.as_of})"
            if self.recency and half_life_days:
                text += f"; recent stories weighted up (half-life {half_life_days:g} days)"
        return "; ".join([text, *self.notes])


def _span(since: date | None, until: date | None) -> str:
    if since and until:
        return f"{since} to {until}" if since != until else f"{since}"
    if since:
        return f"from {since}"
    if until:
        return f"up to {until}"
    return "all dates"


def recency_bonus(age_days: np.ndarray | float, *, weight: float, half_life_days: float) -> Any:
    """weight * 2^(-age / half_life): a bounded bonus, so a clearly better older story still wins."""
    age = np.maximum(np.asarray(age_days, dtype=np.float64), 0.0)
    return weight * np.exp(-math.log(2.0) * age / max(half_life_days, 1e-6))


# ------------------------------------------------------------------ dateparser
_parser_lock = threading.Lock()
_parsers: dict[date, Any] = {}


def _parse(text: str, as_of: date) -> tuple[date, str] | None:
    """dateparser's reading of `text` relative to `as_of`: (date, period) or None."""
    from dateparser.date import DateDataParser

    with _parser_lock:
        parser = _parsers.get(as_of)
        if parser is None:
            if len(_parsers) > 64:
                _parsers.clear()
            parser = DateDataParser(languages=["en"], settings={
                "RELATIVE_BASE": datetime.combine(as_of, datetime.min.time()),
                "PREFER_DATES_FROM": "past", "RETURN_AS_TIMEZONE_AWARE": False,
                "PREFER_DAY_OF_MONTH": "first"})
            _parsers[as_of] = parser
        data = parser.get_date_data(text)
    if data is None or data.date_obj is None:
        return None
    return data.date_obj.date(), str(data.period or "day")


def _looks_like_date(tokens: list[str]) -> bool:
    """dateparser reads almost anything ("5", "we", "may") as a date; only spans that name a month, a weekday
    or a year, or are written as a numeric date, are taken as one."""
    for tok in tokens:
        low = tok.lower().strip(",.")
        if low in _MONTHS - {"may"} or low in _WEEKDAYS or (low.isdigit() and len(low) == 4 and low[:2] in
                                                               ("19", "20")):
            return True
        if low == "may" and len(tokens) > 1:  # "May 2026", "May 5"; never the verb alone
            return True
        if sum(ch.isdigit() for ch in low) >= 4 and ("-" in low or "/" in low):
            return True
    return False


def _period_span(day: date, period: str) -> tuple[date, date]:
    if period == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    if period == "quarter":
        first = 3 * ((day.month - 1) // 3) + 1
        end_month = first + 2
        return date(day.year, first, 1), date(day.year, end_month, calendar.monthrange(day.year, end_month)[1])
    if period == "month":
        return date(day.year, day.month, 1), date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    if period == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    return day, day


def _date_after(words: list[str], as_of: date, *, max_tokens: int = 4) -> tuple[date, date, int] | None:
    """The longest run of up to `max_tokens` words at the start of `words` that dateparser reads as a date."""
    for n in range(min(max_tokens, len(words)), 0, -1):
        span = words[:n]
        if span[-1] in (",", ".") or not _looks_like_date(span):
            continue
        parsed = _parse(" ".join(span), as_of)
        if parsed is None:
            continue
        # dateparser ignores trailing words it cannot use ("on 2023-11-24 and the"): drop every trailing word
        # that is not a date word and does not change the reading.
        while n > 1 and not _looks_like_date(span[-1:]) and not span[-1].isdigit() \
                and _parse(" ".join(span[:-1]), as_of) == parsed:
            n -= 1
            span = span[:n]
        start, end = _period_span(*parsed)
        return start, end, n
    return None


def _lagged(end: date, as_of: date, lag: int = PUBLICATION_LAG_DAYS) -> date:
    return min(end + timedelta(days=lag), as_of) if end < as_of else as_of


@dataclass
class _Span:
    since: date | None
    until: date | None
    label: str
    start: int
    end: int
    yearless: bool = False  # "on October 1st": the year was inferred, so another year may be meant


# ------------------------------------------------------------------ resolve
def resolve(question: str, *, as_of: date | None, archive: ArchiveCalendar | None = None,
            sources: list[str] | None = None) -> TimeFrame:
    """Find the question's time phrases and turn them into one window. Dated spans are joined (from the
    earliest start to the latest end); "since/after" and "before/until" bounds then narrow that. A window in
    which the archive holds no story is dropped with a note, since a filter that can only return nothing
    helps no one (and a year named in a question is often the subject, not the publication date)."""
    explicit = as_of is not None
    as_of = as_of or date.today()
    frame = TimeFrame(as_of=as_of, explicit_as_of=explicit, query=question)
    spans: list[_Span] = []
    lag = 0 if about_our_writing(question) else PUBLICATION_LAG_DAYS

    for m in _ISSUES_OF_MONTH_RE.finditer(question):
        found_month = _month_of_issues(m)
        if found_month is not None:
            spans.append(_Span(found_month[0], found_month[1], m.group(0).strip(), m.start(), m.end()))
    for m in _DATED_THING_RE.finditer(question):
        month = m.group("month")
        if _inside(m.start("month"), spans) or not month[0].isupper():  # "the may 2023" is no month
            continue
        first, last = _month_of_issues(m) or (None, None)
        word = (m.group("word") or "").lower()
        since, until = (None, last) if word in ("before", "until") else (first, None) if word else (first, last)
        if until is not None and not word:
            until = _lagged(until, as_of, lag)
        spans.append(_Span(since, until, m.group(0).strip(), m.start(), m.end()))
    for day, start, end in dated_issues(question):
        # "the August 12, 2026 issue" is the issue dated that day, or the first one after it within the lag (an
        # issue's own date can trail the day in its title).
        if archive is not None:
            day = next((d for d, _, source in archive.issue_dates if day <= d <= day + timedelta(
                days=PUBLICATION_LAG_DAYS) and (not sources or source in sources)), day)
        spans.append(_Span(day, day, question[start:end], start, end))
    for first, last, start, end in year_parts(question):
        if not _inside(start, spans):
            spans.append(_Span(first, _lagged(last, as_of, lag), question[start:end], start, end))
    for first, last, start, end in named_weeks(question, margin=PUBLICATION_LAG_DAYS):
        if not _inside(start, spans):
            spans.append(_Span(first, last, question[start:end].strip(), start, end))
    for m in _ISSUE_RE.finditer(question):
        found = _issue_window(m, as_of, archive, sources)
        if isinstance(found, str):
            frame.notes.append(found)
        else:
            spans.append(_Span(found[0], found[1], m.group(0), m.start(), m.end()))
    for m in _RELATIVE_RE.finditer(question):
        # "Business Today" is a name: a capitalised relative word counts only at the start of a sentence.
        if _inside(m.start(), spans) or (m.group(0)[0].isupper() and not _sentence_start(question, m.start())):
            continue
        s, u = _relative_window(m, as_of, lag)
        spans.append(_Span(s, u, m.group(0).strip(), m.start(), m.end()))
    for m in _PREPOSITION_RE.finditer(question):
        if not _inside(m.start(), spans) and not _inside(m.end(), spans):
            found_span = _prepositional(question, m, as_of, lag)
            if found_span is not None:
                spans.append(found_span)
    if archive is not None:
        for m in _EVENT_RE.finditer(question):
            if not _inside(m.start(), spans):
                found_event = _event_window(question, m, as_of, archive, frame)
                if found_event is not None:
                    spans.append(found_event)
    if not spans:
        return frame

    if archive is not None:
        spans = [_shift_to_archive(span, archive) for span in spans]
    # Half-open bounds together make one span ("after October 4 and before November 1"); several bounds of
    # one kind usually constrain different reports, so the loosest wins. All spans are then joined.
    lowers = [sp.since for sp in spans if sp.since and not sp.until]
    uppers = [sp.until for sp in spans if sp.until and not sp.since]
    intervals: list[tuple[date | None, date | None]] = [(sp.since, sp.until) for sp in spans
                                                        if sp.since and sp.until]
    if lowers or uppers:
        intervals.append((min(lowers) if lowers else None, max(uppers) if uppers else None))
    since = None if any(lo is None for lo, _ in intervals) else min(lo for lo, _ in intervals if lo)
    until = min(max(hi or as_of for _, hi in intervals), as_of)
    label = ", ".join(sp.label for sp in spans)
    if since and since > until:
        frame.notes.append(f"the time phrases ({label}) leave no dates up to {as_of}; no window applied")
        return frame
    if archive is not None and not archive.covers(since, until):
        frame.notes.append(f"nothing in the archive is dated {_span(since, until)} ({label}); searched all dates")
        return frame
    frame.window = Window(since=since, until=until, label=label)
    frame.recency = False
    frame.phrases = [sp.label for sp in spans]
    frame.query = _strip(question, [(sp.start, sp.end) for sp in spans])
    return frame


def _shift_to_archive(span: _Span, archive: ArchiveCalendar) -> _Span:
    """A date named without a year is the latest such date the archive has stories around: asked today about
    "October 1st", an archive that ends in 2023 means 2023-10-01."""
    if not span.yearless or archive.covers(span.since, span.until):
        return span
    for years in range(1, 11):
        since = _minus_years(span.since, years)
        until = _minus_years(span.until, years)
        if archive.latest and since and since > archive.latest:
            continue
        if archive.covers(since, until):
            return replace(span, since=since, until=until)
        if archive.days and until and until.toordinal() < archive.days[0]:
            break
    return span


def _minus_years(day: date | None, years: int) -> date | None:
    if day is None:
        return None
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _sentence_start(text: str, pos: int) -> bool:
    before = text[:pos].rstrip()
    return not before or before[-1] in ".?!:\"'("


def _inside(pos: int, spans: list[_Span]) -> bool:
    return any(sp.start <= pos < sp.end for sp in spans)


def _strip(question: str, cuts: list[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in sorted(cuts):
        out.append(question[last:start])
        last = max(last, end)
    out.append(question[last:])
    stripped = re.sub(r"\s+([?.!,;:])", r"\1", " ".join("".join(out).split())).strip(" ,")
    return stripped or question


def _month_of_issues(m: re.Match[str]) -> tuple[date, date] | None:
    year, month = int(m.group("year")), month_number(m.group("month"))
    first = date(year, month, 1)
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1))
    return first, last


_DAYS_PER = {"day": 1, "week": 7}


def _relative_window(m: re.Match[str], as_of: date, lag: int = PUBLICATION_LAG_DAYS) -> tuple[date | None, date]:
    phrase = m.group(1).lower()
    if phrase == "today":
        return as_of, as_of
    if phrase == "yesterday":
        day = as_of - timedelta(days=1)
        return day, day
    if m.group(2):  # "the past 3 weeks": dateparser reads "3 weeks ago"
        count = m.group(2).lower()
        n = int(count) if count.isdigit() else _NUMBERS.get(count, 1)
        unit = m.group(3).lower()
        if unit in _DAYS_PER:  # "the last 7 days" is 7 days, the as-of date included, as `brief --since 7d` is
            return as_of - timedelta(days=n * _DAYS_PER[unit] - 1), as_of
        parsed = _parse(f"{n} {unit}s ago" if n != 1 else f"1 {unit} ago", as_of)
        return (parsed[0] if parsed else as_of - timedelta(days=7 * n)), as_of
    which, unit = phrase.split()
    if unit == "week":
        this_start = as_of - timedelta(days=as_of.weekday())
    elif unit == "month":
        this_start = as_of.replace(day=1)
    else:
        this_start = as_of.replace(month=1, day=1)
    if which == "this":
        return this_start, as_of
    if which == "past":  # a rolling span: the past week = the 7 days up to the as-of date, both included
        if unit in _DAYS_PER:
            return as_of - timedelta(days=_DAYS_PER[unit] - 1), as_of
        parsed = _parse(f"1 {unit} ago", as_of)
        return (parsed[0] if parsed else as_of - timedelta(days=7)), as_of
    # "last week": the previous calendar week, reported up to a week later
    prev_end = this_start - timedelta(days=1)
    prev_start, _ = _period_span(prev_end, unit)
    return prev_start, _lagged(prev_end, as_of, lag)


def _prepositional(question: str, m: re.Match[str], as_of: date, lag: int = PUBLICATION_LAG_DAYS) -> _Span | None:
    word = m.group(1).lower()
    rest = question[m.end():]
    if rest[:1] in "\"'“‘":  # on "Saturday Night Live": a quoted title, not a date
        return None
    tokens = [(t.group(0), t.end()) for t in _TOKEN_RE.finditer(rest)][:12]
    words = [t[0] for t in tokens]
    first = _date_after(words, as_of)
    if first is None:
        return None
    start, end, n = first
    if len(words) > n and words[n][:1].isupper() and words[n].lower() not in _MONTHS | _WEEKDAYS:
        return None  # "on Sunday Night Football", "in March Madness": part of a name
    yearless = not any(w.isdigit() and len(w) == 4 for w in words[:n]) and \
        not any(sum(ch.isdigit() for ch in w) >= 4 for w in words[:n])
    stop = m.end() + tokens[n - 1][1]

    def span(since: date | None, until: date | None, stop: int = stop) -> _Span:
        return _Span(since, until, question[m.start():stop], m.start(), stop, yearless)

    if word not in ("before", "after", "since") and len(words) > n + 1 and \
            words[n].lower() in ("and", "or", "to", "until", "through"):
        second = _date_after(words[n + 1:], as_of)
        if second is not None:
            return span(start, _lagged(second[1], as_of, lag), m.end() + tokens[n + second[2]][1])
    day_only = start == end  # "after October 2": that day's reports count (time zones, same-day follow-ups)
    if word == "since":
        return span(start, None)
    if word == "after":
        return span(start if day_only else end + timedelta(days=1), None)
    if word == "before":
        return span(None, end if day_only else start - timedelta(days=1))
    if word in ("until", "till", "through"):
        return span(None, end)
    if word == "from":  # "from May 2026" without an end: from then on
        return span(start, None)
    if start > as_of:  # "in December" asked in May means last December; dateparser already prefers the past
        return None
    if (end - start).days < 7:  # a day or a week: news about it may also run in the days before (previews)
        start -= timedelta(days=lag)
    return span(start, _lagged(end, as_of, lag))


def _issue_window(m: re.Match[str], as_of: date, archive: ArchiveCalendar | None,
                  sources: list[str] | None) -> tuple[date | None, date | None] | str:
    word, which = m.group(1).lower(), m.group(2).lower()
    issues = archive.issues_before(as_of, sources) if archive else []
    dates = sorted({d for d, _, _ in issues})
    want_previous = which in ("previous", "prior")
    if len(dates) < (2 if want_previous else 1):
        return f"could not date {m.group(0)!r}: the archive holds no such issue up to {as_of}"
    day = dates[-2] if want_previous else dates[-1]
    if word in ("since", "after"):
        return day + timedelta(days=1), as_of
    if word == "before":
        return None, day - timedelta(days=1)
    return day, day


# Words that may follow an event's name ("before GTC and ...", "after WWDC, did ..."); any other lower-case
# word means the name is part of a longer phrase ("before the FTX collapse") that its mentions cannot date.
_AFTER_EVENT = {"and", "or", "but", "in", "on", "at", "to", "for", "of", "with", "was", "were", "is", "are",
                "did", "do", "does", "has", "have", "had", "what", "which", "who", "when", "how", "this", "that",
                "last", "next", "started", "began", "ended", "kicked", "opened", "took"}


def _event_window(question: str, m: re.Match[str], as_of: date, archive: ArchiveCalendar, frame: TimeFrame
                  ) -> _Span | None:
    word, name = m.group(1).lower(), m.group(2).strip(" .,'")
    if not name or name.lower() in archive.sources or (_parse(name, as_of) and _looks_like_date(name.split())):
        return None
    follow = _TOKEN_RE.findall(question[m.end(2):])[:1]
    if follow and follow[0].isalpha() and follow[0].islower() and follow[0] not in _AFTER_EVENT:
        return None
    # Try the full name, then shorter prefixes: "GTC 2026 Keynote" -> "GTC 2026" -> "GTC".
    parts = name.split()
    for n in range(len(parts), 0, -1):
        term = " ".join(parts[:n])
        if term.lower() in archive.sources:
            return None
        day = archive.event_date(term, as_of)
        if day is None:
            continue
        stop = m.start(2) + len(term)
        label = f"{question[m.start():stop]} (first reported {day})"
        if word in ("before", "until", "ahead of"):
            return _Span(None, day - timedelta(days=1), label, m.start(), stop)
        return _Span(day, None, label, m.start(), stop)
    frame.notes.append(f"could not date {name!r} from the archive; no window applied for it")
    return None
