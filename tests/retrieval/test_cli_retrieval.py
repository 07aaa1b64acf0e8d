"""Filters and time phrases through the real `newsdesk ask`, and bad input: one clear line, no traceback."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli


@pytest.mark.slow
def test_ask_states_the_window_it_used(corpus_index) -> None:
    result = run_cli("ask", "--json", "How many pull requests did the Rust project merge last week?",
                     "--as-of", "2026-08-13", "--index-dir", str(corpus_index.index_dir))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["window"].startswith("2026-08-03 to 2026-08-13") and "last week" in data["window"]
    assert data["citations"] and all(c["date"] >= "2026-08-03" for c in data["citations"])
    assert data["citations"][0]["headline"] == "Updates from the Rust Project"
    text = run_cli("ask", "Which crate was crate of the week?", "--source", "this week in rust",
                   "--since", "2026-08-10", "--index-dir", str(corpus_index.index_dir))
    assert text.returncode == 0, text.stderr
    assert "window: from 2026-08-10" in text.stdout and "This Week in Rust" in text.stdout


@pytest.mark.slow
def test_bad_filters_are_one_clear_line(corpus_index) -> None:
    index = str(corpus_index.index_dir)
    cases = [
        (["ask", "anything", "--source", "The Onion"], "unknown source 'The Onion'"),
        (["ask", "anything", "--since", "2026-03-01", "--until", "2026-02-01"], "date range is empty"),
        (["ask", "anything", "--as-of", "not a date"], "cannot read 'not a date' as a date"),
        (["ask", "", "--source", "Last Week in AI"], "empty"),
        (["ask", "why " * 2500], "limit"),
    ]
    for args, expected in cases:
        result = run_cli(*args, "--index-dir", index)
        assert result.returncode != 0, args
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr + result.stdout
