"""MDX issues (This Week In React) and one-file archives of many issues (ML Papers of the Week)."""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import pytest

from assistant.records import Issue
from assistant.sources.archive_file import heading_span, parse_issues
from assistant.sources.mdx import mdx_to_markdown
from assistant.sources.newsletter import IssueError, parse_issue
from tests.conftest import SHARED
from tests.requires import require, requires

TWIREACT = SHARED / "newsletters" / "this-week-in-react"
MLPAPERS = SHARED / "newsletters" / "ml-papers-of-the-week" / "README.md"

needs_react = requires(TWIREACT.is_dir(), f"shared data missing: {TWIREACT}")
needs_mlpapers = requires(MLPAPERS.is_file(), f"shared data missing: {MLPAPERS}")


def _news(issue: Issue) -> list:
    """The issue's stories after the editor's note (the excerpt story, named after the issue)."""
    return [s for s in issue.stories if s.headline != issue.title]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _everything(issue: Issue) -> str:
    return "\n".join(f"{s.headline}\n{s.body}\n{s.section}" for s in issue.stories)


@pytest.fixture(scope="module")
def react_issues() -> dict[str, Issue]:
    require(TWIREACT.is_dir(), f"shared data missing: {TWIREACT}")
    return {p.name: parse_issue(p) for p in sorted(TWIREACT.glob("*.mdx"))}


@pytest.fixture(scope="module")
def ml_issues() -> list[Issue]:
    require(MLPAPERS.is_file(), f"shared data missing: {MLPAPERS}")
    return parse_issues(MLPAPERS)


class TestMdx:
    @needs_react
    def test_every_issue_is_read_and_dated_as_the_manifest_says(self, react_issues: dict[str, Issue]) -> None:
        with (TWIREACT / "MANIFEST.tsv").open(encoding="utf-8") as fh:
            manifest = {row["file"]: date.fromisoformat(row["date"]) for row in csv.DictReader(fh, delimiter="\t")}
        assert len(react_issues) == 185 == len(manifest)
        # Front-matter dates are month-day-year ("08-19-2026"); a day-first reading would misdate most issues.
        assert {name: issue.date for name, issue in react_issues.items()} == manifest
        assert all(issue.date_source == "metadata" for issue in react_issues.values())
        assert len({issue.issue_id for issue in react_issues.values()}) == 185
        assert react_issues["200.mdx"].issue_id == "this-week-in-react--200"
        names = {issue.source_name for issue in react_issues.values()}
        assert names == {"This Week In React", "React Hebdo"}  # #159's title uses the French edition's name
        counts = [len(issue.stories) for issue in react_issues.values()]
        assert 8_500 <= sum(counts) <= 10_500
        # #114 is mostly a Docusaurus launch essay; every other issue is a full link digest.
        assert sorted(counts)[:2][0] >= 5 and sorted(counts)[1] >= 9
        assert sum(c >= 20 for c in counts) >= 175

    @needs_react
    def test_no_markup_or_sponsor_survives(self, react_issues: dict[str, Issue]) -> None:
        sponsored = linkless = 0
        for name, issue in react_issues.items():
            raw = (TWIREACT / name).read_text(encoding="utf-8")
            paid = set(re.findall(r"^- 💸 \[([^\]]+)\]", raw, re.M))
            for block in re.findall(r"^## 💸 Sponsors?.*?$(.*?)(?=^## )", raw, re.M | re.S):
                paid.update(re.findall(r"^\*\*\[([^\]]+)\]", block, re.M))
            sponsored += len(paid)
            headlines = {s.headline for s in issue.stories}
            assert not paid & headlines, name
            text = _everything(issue)
            # (#123's tracking pixel and #127's <div style={{maxWidth: 300}}> are the real files' raw HTML.)
            for leak in ("<Support", "SubscribeFormEmbed", "{#", "](/emails", "\\-", "<!--", "vpdae.com", "maxWidth"):
                assert leak not in text, (name, leak)
            linkless += sum(not s.links for s in _news(issue))
        assert sponsored > 600  # the sponsor check above really looked at sponsor blocks
        # Stories without a link: the #114 essay's parts, a few meme captions ("Fun"), one link-less lead, and the
        # text some sections hold before their first link (a quiet-week note, a release's highlights), kept since
        # nothing of an issue may be lost.
        assert linkless <= 16

    @needs_react
    def test_the_editors_note_is_one_story_named_after_the_issue(self, react_issues: dict[str, Issue]) -> None:
        # The excerpt above <!-- truncate --> holds facts found nowhere else (184 of 185 issues have one; the
        # oldest only repeat the title there, and their note, under the title as a heading, stays out).
        notes = [i.stories[0] for i in react_issues.values() if i.stories[0].headline == i.title]
        assert len(notes) >= 150
        assert "At 43k subscribers" in react_issues["200.mdx"].stories[0].body
        assert "• Shopify acquires Remix" in react_issues["122.mdx"].stories[0].body  # its list is one story
        assert "Subscribers: 31k ➡️ 46k" in react_issues["215.mdx"].stories[0].body
        assert all("<Support" not in n.body and "import Support" not in n.body for n in notes)

    @needs_react
    def test_issue_200_sections_leads_and_items(self, react_issues: dict[str, Issue]) -> None:
        issue = react_issues["200.mdx"]
        by_headline = {s.headline: s for s in issue.stories}
        assert [s for s in dict.fromkeys(s.section for s in _news(issue))] == ["React", "React-Native", "Other"]
        lead = by_headline["CSS :has for React developers"]
        assert lead.section == "React" and "2 great articles" in lead.body
        assert lead.links == ["https://www.joshwcomeau.com/css/has/",
                              "https://www.developerway.com/posts/replacing-react-with-css"]
        item = by_headline["TanStack Router - Virtual File Routes"]
        assert item.body == "Tanstack Start has its equivalent of Remix routes.ts."
        assert item.url == "https://tanstack.com/router/v1/docs/framework/react/guide/virtual-file-routes"
        assert by_headline["Express 5.0"].section == "Other"
        assert "Remix 2.12 - Single Fetch improvements + future.unstable_optimizeDeps" in by_headline
        for sponsor in ("Handsontable", "Omlet", "PSPDFKit", "Unleash Document Superpowers"):
            assert sponsor not in _everything(issue)
        assert "See ya" not in _everything(issue)

    @needs_react
    @pytest.mark.parametrize(("name", "first", "body_start", "sections"), [
        ("110.mdx", "Fresh 1.0", "The Preact framework officially supported by Deno",
         ["React", "React-Native", "Other"]),
        ("150.mdx", "Next.js App Router Update - Top Priorities", "The Next.js team shares some context",
         ["React", "React-Native", "Jobs", "Other"]),
        ("294.mdx", "The React Compiler rollout", "The rollout of the Rust-based compiler continues",
         ["React", "React-Native", "Other"]),
    ])
    def test_issues_from_three_years(self, react_issues: dict[str, Issue], name: str, first: str,
                                     body_start: str, sections: list[str]) -> None:
        issue = react_issues[name]
        news = _news(issue)
        assert news[0].headline == first
        assert news[0].body.startswith(body_start)
        assert list(dict.fromkeys(s.section for s in news)) == sections
        # A link-list item is one story: its link title, its comment, its links.
        items = [s for s in issue.stories if s.url and not s.body.count("\n")]
        assert len(items) >= 25
        assert all(not s.headline.startswith(("📜", "📦", "🐦", "🎥", "-")) for s in issue.stories)

    def test_jsx_stripped_prose_kept_hostile_markup_gone(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "12.mdx", """---
title: "Frontend Weekly #12: Signals, Routers"
date: 03-04-2025
---
import { YouTube } from "../components";
export const meta = {
  author: "x",
};

Intro that is not news.

{/* an editor's note
   over two lines */}

<Newsletter issue={12} onLoad={() => alert("attr")}>

## ⚛️ React {#react}

- 📜 [Signals in React](https://example.com/signals) \\- A look at <Em color="red">fine-grained</Em> reactivity.
- 📦 [Router 2.0](https://example.com/router): faster loaders, see [docs](https://example.com/docs).
- 💸 [Buy our course](https://sponsor.example.com)

<YouTube id="abc123" />

## Editorial

<Callout type="note">
The React team says `<Activity>` ships in 19.3, a \\<Suspense\\> cousin.
</Callout>

<script>alert("pwned")</script>
<SCRIPT type="module">alert('caps')</SCRIPT>
<style>body { color: red }</style>
<iframe src="javascript:alert('frame')"></iframe>
<img src="https://tracker.example.com/p.gif" onerror="alert(1)" />

## 💸 Sponsor

**[Acme DB](https://acme.example.com)**

Acme is the best database for you.

## 📱 React Native

- 🎥 [Expo talk](https://example.com/expo) - Expo 60 preview. <script>alert("inline")</script>
- 🐦 [RN 0.80](https://example.com/rn) - New arch by default.

</Newsletter>

<script>alert("never closed")
document.cookie
""")
        issue = parse_issue(path)
        assert issue.date == date(2025, 3, 4) and issue.source_name == "Frontend Weekly"
        assert issue.title == "Frontend Weekly #12: Signals, Routers"
        assert [(s.section, s.headline) for s in issue.stories] == [
            ("React", "Signals in React"), ("React", "Router 2.0"), ("Editorial", "Editorial"),
            ("React Native", "Expo talk"), ("React Native", "RN 0.80")]
        signals, router, editorial, expo = issue.stories[:4]
        assert signals.body == "A look at fine-grained reactivity."
        assert router.links == ["https://example.com/router", "https://example.com/docs"]
        # The prose inside <Callout> is kept, including code and escaped angle brackets that are text.
        assert editorial.body == "The React team says <Activity> ships in 19.3, a <Suspense> cousin."
        assert expo.body == "Expo 60 preview."
        text = _everything(issue)
        for gone in ("alert", "pwned", "script", "color: red", "tracker", "YouTube", "abc123", "import", "export",
                     "editor's note", "Newsletter", "Acme", "Buy our course", "{", "Intro that", "cookie"):
            assert gone not in text, gone

    def test_mdx_code_fences_and_autolinks(self) -> None:
        body = "## Notes\n\nSee <https://example.com/a> and [b](<https://example.com/b>).\n\n```jsx\n<App />\n```\n"
        markdown = mdx_to_markdown(body)
        assert "[https://example.com/a](https://example.com/a)" in markdown
        assert "[b](<https://example.com/b>)" in markdown
        assert "```jsx\n<App />\n```" in markdown  # code is text, left as written

    def test_a_lead_may_open_with_an_emoji(self, tmp_path: Path) -> None:
        # This Week In React #254 opens its Remix 3 lead with "🎥 **[...](...)**"; that story was lost before.
        path = _write(tmp_path, "254.mdx", "---\ntitle: Weekly #254\ndate: 10-15-2025\n---\n\n## ⚛️ React\n\n"
                      "**[Next.js 16 beta](https://nextjs.org/blog)**\n\nA new major version.\n\n---\n\n"
                      "![Remix v3](/remix.jpg)\n\n🎥 **[Remix Jam 2025 \\- Introducing Remix 3](https://youtu.be/x)**\n\n"
                      "Ryan and Michael introduced Remix v3 in a long talk.\n\n---\n\n"
                      "- [Other item](https://a.example): comment\n- [More](https://b.example): two\n")
        [issue] = parse_issues(path)
        by_headline = {s.headline: s for s in issue.stories}
        remix = by_headline["Remix Jam 2025 - Introducing Remix 3"]
        assert "Ryan and Michael" in remix.body and remix.url == "https://youtu.be/x" and remix.section == "React"
        assert "Ryan" not in by_headline["Next.js 16 beta"].body and "Other item" in by_headline

    def test_an_excerpt_with_headings_of_its_own_keeps_its_structure(self) -> None:
        note = mdx_to_markdown("Hi!\n\n- Shopify acquires Remix\n\n<!-- truncate -->\n\n## News\n\n- [A](https://a.x)\n",
                               title="Weekly #1")
        assert note.startswith("## Weekly #1") and "• Shopify acquires Remix" in note
        own = mdx_to_markdown("Hi!\n\n## News\n\n[A](https://a.x) - one\n\n<!-- truncate -->\n", title="Weekly #1")
        assert "Weekly #1" not in own  # the heading below the greeting structures the excerpt itself

    def test_parse_issues_on_one_mdx_issue_is_parse_issue(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "7.mdx", "---\ntitle: Weekly #7\ndate: 01-02-2024\n---\n\n## News\n\n"
                      "- [A](https://a.example) - one\n- [B](https://b.example) - two\n")
        [issue] = parse_issues(path)
        assert issue == parse_issue(path) and issue.date == date(2024, 1, 2)


class TestMultiIssueArchive:
    @needs_mlpapers
    def test_real_archive_splits_into_dated_weeks(self, ml_issues: list[Issue]) -> None:
        assert 127 <= len(ml_issues) <= 133
        assert all(issue.date is not None for issue in ml_issues)
        assert all(5 <= len(issue.stories) <= 15 for issue in ml_issues)
        assert 1_250 <= sum(len(issue.stories) for issue in ml_issues) <= 1_350
        assert len({issue.issue_id for issue in ml_issues}) == len(ml_issues)
        dates = [issue.date for issue in ml_issues if issue.date is not None]
        assert dates == sorted(dates, reverse=True) and len(set(dates)) == len(dates)  # newest first, weekly
        assert dates[0] == date(2025, 6, 29) and dates[-1] == date(2023, 1, 8)
        by_title = {issue.title: issue for issue in ml_issues}
        # A week across the year end: the heading's year is the end date's.
        assert by_title["Top ML Papers of the Week (December 30 - January 5) - 2025"].date == date(2025, 1, 5)
        # 2023 headings carry no year (the "## 2023" headings only frame the table of contents).
        assert by_title["Top ML Papers of the Week (December 25 - December 31)"].date == date(2023, 12, 31)
        assert by_title["Top ML Papers of the Week (May 29-June 4)"].date == date(2023, 6, 4)
        first = ml_issues[0]
        assert first.issue_id == "ml-papers-of-the-week--readme--2025-06-29"
        assert first.source_name == "ML Papers of The Week" and first.date_source == "section heading"

    @needs_mlpapers
    def test_real_archive_stories_are_papers(self, ml_issues: list[Issue]) -> None:
        first = ml_issues[0].stories[0]
        assert first.headline == "Ultra-Fast Diffusion-based Language Models"
        assert first.body.startswith("This paper introduces Mercury")
        assert first.links == ["https://arxiv.org/abs/2506.17298", "https://x.com/omarsar0/status/1937600372430045494"]
        oldest = ml_issues[-1].stories[0]
        assert oldest.headline == "Muse: Text-To-Image Generation via Masked Generative Transformers"
        assert oldest.body.startswith("introduces Muse") and len(oldest.links) == 4
        stories = [s for issue in ml_issues for s in issue.stories]
        # The table of contents ("- [Top ML Papers of the Week (...)](./#...)") and the footer are no stories.
        assert not [s for s in stories if "Top ML Papers" in s.headline or "Discord" in s.text]
        assert sum(bool(s.body) for s in stories) >= 1_250 and all(s.links for s in stories)
        assert sum(any("arxiv.org" in u for u in s.links) for s in stories) >= 1_000
        assert not [s for s in stories if "<br" in s.body or "|" in s.body or re.match(r"\d+\)", s.headline)]

    def test_year_crossing_enclosing_year_and_neighbours(self, tmp_path: Path) -> None:
        week = "| **Paper** | **Links** |\n| --- | --- |\n" + "".join(
            f"| {n}) **Paper {n}** - does thing {n}. | [Paper](https://arxiv.org/abs/{n}) |\n" for n in (1, 2))
        path = _write(tmp_path, "archive.md", f"""# Paper Digest

## 2024
- [Week (January 6 - January 12)](#a)
- [Week (December 30 - January 5)](#b)

## Week (January 6 - January 12) - 2025
{week}
## Week (December 30 - January 5) - 2025
{week}
## Week (Dec 23-29)
{week}
## Week (Dec 16 - Dec 22)
{week}
---

Subscribe to our newsletter. Join our Discord.
""")
        issues = parse_issues(path)
        assert [i.date for i in issues] == [date(2025, 1, 12), date(2025, 1, 5), date(2024, 12, 29),
                                            date(2024, 12, 22)]
        assert [len(i.stories) for i in issues] == [2, 2, 2, 2]
        assert issues[1].issue_id == "paper-digest--archive--2025-01-05"
        assert issues[0].stories[1].headline == "Paper 2" and issues[0].stories[1].body == "does thing 2."
        assert "Discord" not in "".join(_everything(i) for i in issues)  # the archive footer
        assert "Week (" not in "".join(_everything(i) for i in issues)  # the table of contents

    def test_enclosing_year_heading_and_list_sections(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "digest.md", "".join(
            f"# {year}\n\n" + "".join(
                f"## {month} {day}\n\n- [Story {year}-{day}](https://e.example/{year}/{day}) - text\n"
                f"- [Other {year}-{day}](https://e.example/o/{year}/{day}) - more\n\n"
                for month, day in (("Dec", 28), ("March", 3), ("Jan", 4)))
            for year in (2023, 2022)))
        issues = parse_issues(path)
        assert [i.date for i in issues] == [date(2023, 12, 28), date(2023, 3, 3), date(2023, 1, 4),
                                            date(2022, 12, 28), date(2022, 3, 3), date(2022, 1, 4)]
        assert issues[0].stories[0].headline == "Story 2023-28" and issues[0].stories[0].body == "text"
        assert [s.section for s in issues[0].stories] == ["", ""]

    def test_single_issues_are_not_split(self, tmp_path: Path) -> None:
        # Two dated headings, or dated headings among many undated ones, are an issue's own sections.
        few = _write(tmp_path, "few.md", "# Weekly\n\n## March 3 meetup\n\nTalk.\n\n## March 10 meetup\n\nTalk.\n")
        mixed = _write(tmp_path, "mixed.md", "".join(f"## Topic {n}\n\nText {n}.\n\n" for n in range(5))
                       + "".join(f"## May {d} event\n\nText.\n\n" for d in (1, 2, 3)))
        for path in (few, mixed):
            [issue] = parse_issues(path)
            assert issue == parse_issue(path)

    def test_ids_stay_when_the_archive_grows_and_undated_sections(self, tmp_path: Path) -> None:
        body = "".join(f"## Week of June {d}, 2024\n\n- [P{d}](https://p.example/{d}) - s\n\n" for d in (17, 10, 3))
        path = _write(tmp_path, "log.md", body)
        old = [i.issue_id for i in parse_issues(path)]
        path.write_text("## Week of June 24, 2024\n\n- [New](https://p.example/new) - s\n\n" + body, encoding="utf-8")
        assert [i.issue_id for i in parse_issues(path)][1:] == old
        # issue_date fills only what the headings leave undated.
        undated = _write(tmp_path, "undated.md", "".join(
            f"## Week {w} (June {d})\n\n- [P](https://p.example/{d}) - s\n\n" for w, d in ((3, 17), (2, 10), (1, 3))))
        issues = parse_issues(undated, issue_date=date(2024, 6, 20))
        assert [i.date for i in issues] == [date(2024, 6, 17), date(2024, 6, 10), date(2024, 6, 3)]

    def test_empty_archive_sections_raise(self, tmp_path: Path) -> None:
        path = _write(tmp_path, "empty.md", "".join(f"## June {d}, 2024\n\n---\n\n" for d in (1, 8, 15)))
        with pytest.raises(IssueError):
            parse_issues(path)

    @pytest.mark.parametrize(("heading", "expected"), [
        ("Top ML Papers of the Week (May 29-June 4)", ((5, 29), (6, 4), None, None)),
        ("Top ML Papers of the Week (Feb 13 - 19)", ((2, 13), (2, 19), None, None)),
        ("Top ML Papers of the Week (Jan 1-8)", ((1, 1), (1, 8), None, None)),
        ("Top (December 30 - January 5) - 2025", ((12, 30), (1, 5), None, 2025)),
        ("March 3, 2024", ((3, 3), (3, 3), 2024, 2024)),
        ("Issue of 2024-03-03", ((3, 3), (3, 3), 2024, 2024)),
        ("Sept 9th to Sept 15th, 2024", ((9, 9), (9, 15), None, 2024)),
        ("June 31 - July 6", None),
        ("May the force be with you", None),
        ("Top 10 of March 2024", None),
    ])
    def test_heading_dates(self, heading: str, expected: tuple[object, ...] | None) -> None:
        span = heading_span(heading)
        got = None if span is None else (span.start, span.end, span.start_year, span.end_year)
        assert got == expected
