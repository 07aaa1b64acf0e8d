"""Every named endpoint of the web app through gradio_client, against the app on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

HBM4_QUESTION = "Who will supply HBM4 memory for AMD's MI455X?"
HBM4_HEADLINE = "AMD + Samsung: HBM4 for the MI455X"


@pytest.fixture(scope="module")
def client(app_url: str) -> Iterator[Any]:
    from gradio_client import Client

    # gradio_client ignores GRADIO_ANALYTICS_ENABLED; without this it would call huggingface.co.
    yield Client(app_url, analytics_enabled=False, verbose=False, download_files=False)


def test_only_the_three_documented_endpoints_are_public(client: Any) -> None:
    named = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert named == {"/ask", "/search", "/coverage"}  # chat, archive and admin events stay private


def test_ask_streams_then_returns_a_cited_answer_with_sources(client: Any) -> None:
    job = client.submit(HBM4_QUESTION, api_name="/ask")
    final = job.result(timeout=120)
    updates = job.outputs()
    assert len(updates) >= 3, updates  # status line, partial answer(s), final answer
    assert "Searching" in updates[0]
    assert "[1]" in final and "Samsung" in final
    assert "**Sources**" in final and HBM4_HEADLINE in final


def test_ask_keeps_its_one_argument_form_and_honours_filters(client: Any) -> None:
    plain = client.predict(HBM4_QUESTION, api_name="/ask")
    assert "[1]" in plain
    # The HBM4 story is undated; a date range excludes it, so the archive has nothing to say.
    filtered = client.predict(HBM4_QUESTION, "2026-08-01", "2026-08-31", "", "", api_name="/ask")
    assert "HBM4 for the MI455X" not in filtered
    bad = client.predict(HBM4_QUESTION, "not a date", api_name="/ask")
    assert bad.startswith("Sorry:") and "cannot read" in bad


def test_search_filters_and_sorts(client: Any) -> None:
    data = client.predict("OpenAI", "2026-03-01", "2026-03-31", "Last Week in AI", "", "newest", 100,
                          api_name="/search")
    assert data["exact"] is True and data["total"] == len(data["hits"]) > 0
    dates = [h["date"] for h in data["hits"]]
    assert all("2026-03-01" <= d <= "2026-03-31" for d in dates), dates
    assert dates == sorted(dates, reverse=True)
    assert {h["source"] for h in data["hits"]} == {"Last Week in AI"}

    oldest = client.predict("OpenAI lawsuit", sort="oldest", api_name="/search")
    dates = [h["date"] for h in oldest["hits"]]
    assert dates == sorted(dates) and oldest["terms"] == ["openai", "lawsuit"]


def test_search_falls_back_to_closest_stories_when_nothing_mentions_the_query(client: Any) -> None:
    data = client.predict("HBM4 quantum teleportation", api_name="/search")
    assert data["exact"] is False and data["total"] == 0
    assert data["hits"], "closest stories expected"


def test_coverage_timeline(client: Any) -> None:
    cov = client.predict("OpenAI", api_name="/coverage")
    assert cov["total"] > 20
    assert sum(w["stories"] for w in cov["weeks"]) + cov["undated"] == cov["total"]
    dated = sorted(i["date"] for i in cov["issues"] if i["date"])
    first = date.fromisoformat(cov["first_mention"]["date"])
    assert cov["first_mention"]["date"] == dated[0]
    assert cov["weeks"][0]["week"] == (first - timedelta(days=first.weekday())).isoformat()  # its Monday
    assert cov["last_mention"]["date"] == dated[-1]
    assert sum(i["stories"] for i in cov["issues"]) == cov["total"]


def test_api_errors_are_one_clear_line(client: Any) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="cannot read"):
        client.predict("OpenAI", "not a date", api_name="/search")
    with pytest.raises(AppError, match="empty"):
        client.predict("   ", api_name="/coverage")
