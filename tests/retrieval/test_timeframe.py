"""Time phrases -> windows, relative to an as-of date (pure: no index, no model)."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.retrieval.calendar import ArchiveCalendar
from assistant.retrieval.timeframe import recency_bonus, resolve

AS_OF = date(2026, 5, 27)  # a Wednesday


def calendar(days: list[date], *, mentions: dict[str, list[date]] | None = None,
             sources: set[str] | None = None) -> ArchiveCalendar:
    mentions = mentions or {}
    return ArchiveCalendar(issue_dates=[(d, f"issue-{d}", "Last Week in AI") for d in sorted(days)],
                           latest=max(days), days=sorted(d.toordinal() for d in days),
                           sources=sources or {"last week in ai"}, mentions=lambda term: mentions.get(term, []))


ARCHIVE = calendar([date(2026, 3, 16), date(2026, 3, 23), date(2026, 5, 4), date(2026, 5, 25)],
                   mentions={"GTC": [date(2026, 3, 23)]})


def window(question: str, as_of: date | None = AS_OF, archive: ArchiveCalendar | None = None):
    frame = resolve(question, as_of=as_of, archive=archive)
    return frame, (frame.window.since, frame.window.until) if frame.window else None


def test_last_week_is_the_previous_calendar_week_plus_reporting_lag() -> None:
    frame, span = window("What did Anthropic announce last week?")
    assert span == (date(2026, 5, 18), date(2026, 5, 27))  # Mon 18 .. Sun 24, reported up to 6 days later
    assert frame.query == "What did Anthropic announce?"
    assert frame.recency is False


def test_this_week_past_days_and_yesterday() -> None:
    assert window("What happened this week?")[1] == (date(2026, 5, 25), AS_OF)
    # N days or weeks up to the as-of date, both ends included (as `newsdesk brief --since 3d`).
    assert window("Any news from the past 3 days?")[1] == (date(2026, 5, 25), AS_OF)
    assert window("What happened over the last two weeks?")[1] == (date(2026, 5, 14), AS_OF)
    assert window("What happened yesterday?")[1] == (date(2026, 5, 26), date(2026, 5, 26))


def test_month_and_year_from_dateparser() -> None:
    frame, span = window("What did we write about OpenAI in May 2026?")
    assert span == (date(2026, 5, 1), AS_OF)
    assert frame.window and frame.window.label == "in May 2026"
    # A closed month in the past keeps stories reported up to six days after it.
    assert window("What did Google do in December?")[1] == (date(2025, 12, 1), date(2026, 1, 6))
    assert window("Who was elected in 2024?")[1] == (date(2024, 1, 1), date(2025, 1, 6))
    assert window("What happened between March 1 and March 15?")[1] == (date(2026, 3, 1), date(2026, 3, 21))
    assert window("What were the top stories in March and April 2026?")[1] == (date(2026, 3, 1), date(2026, 5, 6))


def test_since_after_before() -> None:
    assert window("Any news since 2025?")[1] == (date(2025, 1, 1), AS_OF)
    assert window("What changed after May 2026?", as_of=date(2026, 8, 1))[1] == (date(2026, 6, 1), date(2026, 8, 1))
    assert window("What was said before March 2026?")[1] == (None, date(2026, 2, 28))
    assert window("after October 4, 2023, and before November 1, 2023?")[1] == (date(2023, 10, 4),
                                                                               date(2023, 11, 1))


def test_since_the_previous_issue_uses_the_archives_issue_dates() -> None:
    frame, span = window("What changed since the previous issue?", archive=ARCHIVE)
    assert span == (date(2026, 5, 5), AS_OF)  # the issue before the latest is 2026-05-04
    frame, span = window("What was in the latest issue?", archive=ARCHIVE)
    assert span == (date(2026, 5, 25), date(2026, 5, 25))
    frame, span = window("What changed since the previous issue?", archive=None)
    assert span is None and "could not date" in frame.notes[0]


def test_before_a_named_event_is_dated_from_the_archive() -> None:
    frame, span = window("What did Nvidia announce before GTC?", archive=ARCHIVE)
    assert span == (None, date(2026, 3, 22))
    assert frame.window and "first reported 2026-03-23" in frame.window.label
    assert "2026-03-22" in frame.describe(since=None, until=date(2026, 3, 22))
    # Unknown events are reported, not guessed.
    frame, span = window("What happened before WWDC?", archive=ARCHIVE)
    assert span is None and "WWDC" in frame.notes[0]
    # A name followed by more words ("the GTC keynote rumours") cannot be dated by its mentions.
    assert window("before the GTC keynote rumours started?", archive=ARCHIVE)[1] is None
    # Source names are not events.
    assert window("What was reported after Last Week in AI?", archive=ARCHIVE)[1] is None


def test_phrases_that_are_not_time_windows() -> None:
    for question in ("Which politicians are candidates in Taiwan's upcoming election?",
                     "Who may supply HBM4 memory for AMD in 2 weeks?",
                     "Who won the 2022 World Cup?",
                     "Does the article from Business Today discuss inflation?",
                     "Was Tate McRae's performance on Saturday Night Live reviewed?",
                     "What did the Sporting News say on \"Sunday Night Football\"?",
                     "Is the team aiming to improve on the previous year?"):
        frame, span = window(question)
        assert span is None, question
        assert frame.recency is True and frame.query == question


def test_yearless_dates_move_to_the_archives_years_and_empty_windows_are_dropped() -> None:
    old = calendar([date(2023, 10, 1), date(2023, 10, 6), date(2023, 11, 9)])
    _, span = window("What did the Herald report on October 1st?", as_of=None, archive=old)
    assert span == (date(2023, 9, 25), date(2023, 10, 7))
    frame, span = window("What happened last week?", as_of=None, archive=old)
    assert span is None and "nothing in the archive is dated" in frame.notes[0]
    assert "searched all dates" in frame.describe()


def test_as_of_defaults_to_today_and_is_stated() -> None:
    frame = resolve("What is new with Cursor?", as_of=None)
    assert frame.as_of == date.today() and not frame.explicit_as_of
    text = frame.describe(half_life_days=14, until=None)
    assert "today" in text and "half-life 14 days" in text
    frame = resolve("What is new with Cursor?", as_of=AS_OF)
    assert "as of 2026-05-27" in frame.describe(until=AS_OF)


def test_recency_bonus_is_bounded_and_halves() -> None:
    bonus = recency_bonus([0.0, 14.0, 28.0, -3.0], weight=0.2, half_life_days=14.0)
    assert bonus[0] == pytest.approx(0.2) and bonus[1] == pytest.approx(0.1) and bonus[2] == pytest.approx(0.05)
    assert bonus[3] == pytest.approx(0.2)  # future-dated stories never get more than today's


def test_an_archive_of_undated_stories_gets_no_window() -> None:
    # A single undated issue (ClusterMind's seed): "this year" cannot filter it, or nothing would be found.
    undated = ArchiveCalendar(issue_dates=[], latest=None, days=[], sources={"clustermind"})
    frame = resolve("According to Deloitte, what fraction of this year's AI compute is inference?", as_of=AS_OF,
                    archive=undated)
    assert frame.window is None and frame.notes and "searched all dates" in frame.notes[0]


def test_a_month_used_as_an_adjective_dates_what_it_names() -> None:
    as_of = date(2026, 11, 28)
    advisory = resolve("What CVE did the April 2024 security advisory for the standard library carry?", as_of=as_of)
    # An event's month: the issues that reported it may run up to the publication lag after it.
    assert advisory.window and (advisory.window.since, advisory.window.until) == (date(2024, 4, 1), date(2024, 5, 6))
    before = resolve("Before the May 2023 featured PR on API Priority and Fairness, how long did clients wait?",
                     as_of=as_of)
    # "Before" bounds by the month of the thing named, which itself is dated somewhere in May.
    assert before.window and (before.window.since, before.window.until) == (None, date(2023, 5, 31))
    spotlight = resolve("Who was profiled in the June 2026 maintainer spotlight?", as_of=as_of)
    assert spotlight.window and spotlight.window.label == "the June 2026"
    # "may" the verb is no month, and "the March 2026 issues" keeps its own rule (no lag: our writing).
    assert resolve("What did the may 2023 plan say?", as_of=as_of).window is None
    issues = resolve("What did the March 2026 issues say about Rust?", as_of=as_of)
    assert issues.window and issues.window.until == date(2026, 3, 31)


def test_the_last_n_days_is_n_days_as_in_a_briefing() -> None:
    # "the last 7 days" / "the past week" as of the 23rd: the 17th to the 23rd, as `newsdesk brief --since 7d`.
    as_of = date(2023, 10, 23)
    for question in ("What happened in the last 7 days?", "What happened in the past week?"):
        frame = resolve(question, as_of=as_of)
        assert frame.window and (frame.window.since, frame.window.until) == (date(2023, 10, 17), as_of), question
    two = resolve("What happened in the past two weeks?", as_of=as_of)
    assert two.window and two.window.since == date(2023, 10, 10)


def test_questions_about_our_writing_take_the_issues_dates() -> None:
    from assistant.retrieval.timeframe import about_our_writing

    for question in ("Which rustup releases did we announce in March 2025?",
                     "Which Waymo stories were in the issue for the week ending May 27, 2024?",
                     "What ingress-nginx news did the March 2026 issues carry?",
                     "What subscriber milestone did issue #141 celebrate?"):
        assert about_our_writing(question), question
    assert not about_our_writing("What did Google announce in March?")
    assert not about_our_writing("Which model was #1 on the leaderboard?")
    assert window("Which rustup releases did we announce in March 2026?")[1] == (date(2026, 3, 1), date(2026, 3, 31))


def test_parts_of_a_year_are_windows() -> None:
    # "early" is January-April, "mid" May-August, "late" September-December; seasons are three months.
    assert window("Who acquired Gatsby Inc. in early 2023?")[1] == (date(2023, 1, 1), date(2023, 5, 6))
    assert window("What did we cover in late 2024?")[1] == (date(2024, 9, 1), date(2024, 12, 31))
    assert window("Which company did the Remix team join in autumn 2022?")[1] == (date(2022, 9, 1), date(2022, 12, 6))
    frame, span = window("Which design system shipped in beta in mid-2026?")
    assert span == (date(2026, 5, 1), AS_OF) and frame.query == "Which design system shipped in beta?"


def test_an_issue_named_by_its_date_is_that_issue() -> None:
    # No archive: the day itself. With one: the issue dated that day, or the first after it within the lag.
    frame, span = window("How many pull requests were merged in the week reported by the May 12, 2026 issue?")
    assert span == (date(2026, 5, 12), date(2026, 5, 12))
    assert frame.query == "How many pull requests were merged in the week reported by?"
    cal = ArchiveCalendar(issue_dates=[(date(2026, 5, 5), "a", "LWKD"), (date(2026, 5, 15), "b", "LWKD")],
                          latest=date(2026, 5, 15), days=[date(2026, 5, 5).toordinal(), date(2026, 5, 15).toordinal()])
    assert window("What did the issue of May 12, 2026 say?", archive=cal)[1] == (date(2026, 5, 15), date(2026, 5, 15))
    assert window("What did the February 30, 2026 issue say?")[1] is None
