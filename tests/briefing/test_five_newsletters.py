"""The five-newsletter week (assistant/evaluation/briefings.py, `newsdesk eval briefings`): one week in which Last
Week in AI, This Week in Rust, LWKD, This Week In React and ML Papers of the Week each published an issue, only
those five issues indexed with the real model; the week's briefing (15 items) gives each newsletter's lead story
a place. Plus the week picker on made-up dates (no model)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from assistant.evaluation.briefings import FIVE, NEWSLETTERS, bench_five, overlap_weeks
from assistant.records import Issue
from tests.requires import requires

WEEK_END = date(2024, 11, 30)  # This Week in Rust 2024-11-27 (260 stories) beside four shorter issues


def _issue(label: str, day: date) -> Issue:
    return Issue(issue_id=f"{label}-{day}", title=label, date=day, source_name=label, path=label)


def test_overlap_weeks_need_one_issue_of_each_and_spread_out() -> None:
    start = date(2024, 1, 1)
    weekly = {label: [_issue(label, start + timedelta(days=7 * k + n)) for k in range(20)]
              for n, label in enumerate(["a", "b", "c"])}
    weekly["late"] = [_issue("late", start + timedelta(days=7 * k)) for k in range(8, 20)]  # starts in week 9
    weeks = overlap_weeks(weekly, count=3)
    assert len(weeks) == 3 and weeks[0] >= start + timedelta(days=7 * 8)
    assert all((b - a).days >= 7 for a, b in zip(weeks, weeks[1:], strict=False))
    for end in weeks:
        for found in weekly.values():
            assert sum(1 for i in found if i.date and end - timedelta(days=6) <= i.date <= end) == 1
    assert overlap_weeks({"a": weekly["a"], "none": []}) == []


@requires(all((NEWSLETTERS / folder).is_dir() for folder in FIVE.values()),
          f"shared newsletters missing under {NEWSLETTERS}")
def test_each_newsletter_leads_within_the_first_15(embedder, tmp_path: Path) -> None:
    lines: list[str] = []
    result = bench_five(embedder, cache=tmp_path, weeks=[WEEK_END], emit=lines.append, progress=lines.append)
    text = "\n".join(lines)
    assert set(result["first_lead_placed"]) == set(FIVE)
    assert all(n == 1 for n in result["first_lead_placed"].values()), text
    assert result["met"] and result["overall"] >= 0.8, text
    # The long newsletter does not fill the top: no newsletter holds more than 6 of the 15 items.
    items = result["per_week"][0]["items"]
    assert len(items) == 15
    by_source: dict[str, int] = {}
    for item in items:
        source = item.split(":", 1)[0]
        by_source[source] = by_source.get(source, 0) + 1
    assert max(by_source.values()) <= 6, items
