"""Issues named by number narrow a question to that issue (assistant/retrieval/issueref.py)."""

from __future__ import annotations

from assistant.retrieval.issueref import issue_refs, matching_issues

TITLES = {
    "this-week-in-rust--2024-03-27-this-week-in-rust": "This Week in Rust 540",
    "this-week-in-rust--2024-04-03-this-week-in-rust": "This Week in Rust 541",
    "last-week-in-ai--2026-03-23-339": "Last Week in AI #339",
    "this-week-in-react--141": "This Week In React",
    "ml-papers--readme--2023-05-07": "Top ML Papers of the Week (May 1-7)",
    "ml-papers--readme--2023-06-07": "Top ML Papers of the Week (June 1-7)",
}


class TestIssueRefs:
    def test_the_ways_a_question_names_an_issue(self) -> None:
        cases = {
            "Which version of reqwest did issue 540 announce?": ["540"],
            "What milestone did issue #141 celebrate?": ["141"],
            "Summarize #339": ["339"],
            "What did edition no. 12 lead with?": ["12"],
            "What did newsletter number 007 say?": ["7"],
        }
        for question, numbers in cases.items():
            assert [r.number for r in issue_refs(question)] == numbers, question

    def test_numbers_that_are_not_issues(self) -> None:
        for question in ("What changed in C#12?", "How many issues covered Rust 1.77?", "What did F#9 add?",
                         "Which 540 benchmarks regressed?", "What is the fix for GitHub issue-540x?"):
            assert issue_refs(question) == [], question

    def test_where_the_reference_stands(self) -> None:
        question = "What did issue #141 celebrate?"
        (ref,) = issue_refs(question)
        assert question[ref.start:ref.end] == "issue #141"

    def test_a_number_matches_titles_and_ids_but_only_whole(self) -> None:
        assert matching_issues("540", TITLES) == ["this-week-in-rust--2024-03-27-this-week-in-rust"]
        assert matching_issues("339", TITLES) == ["last-week-in-ai--2026-03-23-339"]
        assert matching_issues("141", TITLES) == ["this-week-in-react--141"]
        assert matching_issues("54", TITLES) == []
        # A number many issues carry ("May 1-7", "June 1-7") names none of them: the caller needs exactly one.
        assert len(matching_issues("7", TITLES)) == 2
