"""The web app in a real browser (Debian chromium, headless, through Playwright): chat, archive, admin and the
safe rendering of a hostile feed entry. Screenshots of each tab are saved to test-artifacts/ui/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from tests.conftest import free_port
from tests.ui.conftest import ADMIN_PASSWORD, CHROMIUM, PageWatch

pytestmark = pytest.mark.slow

HBM4_QUESTION = "Who will supply HBM4 memory for AMD's MI455X?"
HBM4_HEADLINE = "AMD + Samsung: HBM4 for the MI455X"
MUSK_QUESTION = "What happened in Elon Musk's lawsuit against OpenAI and Sam Altman?"
UPLOAD = """---
title: "Lantern Weekly #7"
date: 2026-06-01
newsletter: Lantern Weekly
---
## [Glowworm Labs ships the Lantern-7 photonic chip](https://example.com/lantern-7)

Glowworm Labs shipped the Lantern-7, a photonic inference chip that draws 40 watts, to its first customers in
Oslo on Monday. The company says the Lantern-7 runs speech models four times faster than its previous chip.

## [Fjord Robotics opens a harbour test site](https://example.com/fjord)

Fjord Robotics opened a harbour test site in Bergen where its autonomous ferries will run night trials.
"""


def ask(page: Any, question: str, headline: str) -> Any:
    """Ask in the chat and wait for the source card with this headline; returns that card."""
    page.locator("#nd-question textarea").fill(question)
    page.locator("#nd-ask").click()
    card = page.locator("#nd-sources .nd-card", has=page.locator(".nd-headline", has_text=headline))
    card.first.wait_for()
    return card.first


def bot_messages(page: Any) -> Any:
    return page.locator('#nd-chatbot [data-testid="bot"]')


def assert_nothing_ran(watch: PageWatch) -> None:
    page = watch.page
    assert page.evaluate("window.__xss === undefined"), page.evaluate("String(window.__xss)")
    assert watch.dialogs == [] and watch.errors == [], (watch.dialogs, watch.errors)
    # No element from the payloads reached the DOM as markup.
    assert page.evaluate("document.querySelectorAll('[onerror]').length") == 0
    assert page.evaluate("document.querySelectorAll('#nd-sources script, #nd-results script, "
                         "#nd-chatbot script').length") == 0
    assert page.evaluate("[...document.querySelectorAll('a[href]')].filter("
                         "a => a.href.trim().toLowerCase().startsWith('javascript:')).length") == 0


def test_chat_answers_with_source_cards_links_feedback_and_examples(watched: PageWatch,
                                                                   ui_settings: Settings) -> None:
    page = watched.page
    examples = page.locator("#nd-chatbot button.example")
    examples.first.wait_for()
    assert all(t.startswith("What happened with") for t in examples.all_inner_texts())

    card = ask(page, HBM4_QUESTION, HBM4_HEADLINE)
    assert card.locator(".nd-source").inner_text() == "Clustermind"
    assert "Samsung" in card.locator(".nd-snippet").inner_text()
    assert "[1]" in bot_messages(page).last.inner_text()

    # A follow-up is rewritten into a standalone question from the conversation, and says so.
    page.locator("#nd-question textarea").fill("and what about NVIDIA?")
    page.locator("#nd-ask").click()
    page.wait_for_function("() => [...document.querySelectorAll('#nd-chatbot [data-testid=\"bot\"]')]"
                           ".length === 2")
    # The next question is asked at once, while the follow-up still streams: it must be kept and answered
    # after it, never dropped.
    card = ask(page, MUSK_QUESTION, "Elon Musk Loses $150 Billion Suit")
    assert bot_messages(page).count() == 3
    follow_up = bot_messages(page).nth(1)
    assert "Searched for:" in follow_up.inner_text() and "NVIDIA" in follow_up.inner_text()

    # A cited story with a link: [1] in the answer links to the same URL as the card's headline.
    href = card.locator(".nd-headline a").get_attribute("href")
    assert href and href.startswith("https://")
    citation_links = bot_messages(page).last.locator("a")
    assert href in [a.get_attribute("href") for a in citation_links.all()]
    assert card.locator(".nd-issue").inner_text().startswith("Last Week in AI #341")
    assert card.locator("time").inner_text() == "2026-05-25"

    # Thumbs up on that answer: question, answer and vote appended to the feedback file.
    before = ui_settings.feedback_file.read_text().splitlines() if ui_settings.feedback_file.exists() else []
    page.locator("#nd-chatbot button[aria-label='Like']").last.click()
    page.wait_for_function("() => document.body.innerText.includes('feedback was recorded')")
    lines = ui_settings.feedback_file.read_text().splitlines()
    assert len(lines) == len(before) + 1
    entry = json.loads(lines[-1])
    assert entry["vote"] == "up" and entry["question"] == MUSK_QUESTION
    assert "[1]" in entry["answer"] and entry["citations"][0]["url"] == href
    watched.shot("chat")

    # New chat empties the conversation and the sources panel; the examples come back and answer.
    page.locator("#nd-new-chat").click()
    page.wait_for_function("() => !document.querySelector('#nd-chatbot [data-testid=\"bot\"]')")
    assert page.locator("#nd-sources .nd-card").count() == 0
    page.locator("#nd-chatbot button.example").first.click()
    page.locator("#nd-sources .nd-card").first.wait_for()
    assert bot_messages(page).count() == 1


def test_archive_date_range_shows_only_matching_dates(watched: PageWatch) -> None:
    page = watched.page
    page.get_by_role("tab", name="Archive").click()
    page.locator("#nd-archive-query textarea").fill("OpenAI")
    for elem, value in (("#nd-archive-since input", "2026-03-01"), ("#nd-archive-until input", "2026-03-31")):
        page.locator(elem).fill(value)
        page.locator(elem).press("Enter")
    page.locator("#nd-archive-search").click()
    page.wait_for_function("() => document.querySelector('#nd-results p.nd-summary')"
                           "?.innerText.includes('2026-03-01 to 2026-03-31')")
    rows = page.locator("#nd-results tbody tr")
    dates = [rows.nth(i).locator("td.nd-date").inner_text() for i in range(rows.count())]
    assert dates and all("2026-03-01" <= d <= "2026-03-31" for d in dates), dates
    assert len(set(dates)) > 1  # several issues of March, nothing from outside it

    summary = page.locator("#nd-coverage").inner_text()
    assert "First mention: 2026-03-" in summary and "Last mention: 2026-03-" in summary
    page.locator("#nd-timeline svg, #nd-timeline canvas").first.wait_for()  # the weekly plot is drawn

    page.get_by_label("Newest first").check()
    page.wait_for_function("() => document.querySelector('#nd-results p.nd-summary')"
                           "?.innerText.includes('sorted by newest')")
    newest = [rows.nth(i).locator("td.nd-date").inner_text() for i in range(rows.count())]
    assert newest == sorted(dates, reverse=True)
    watched.shot("archive")


def test_admin_upload_is_then_cited_in_chat(watched: PageWatch, ui_settings: Settings, tmp_path: Path) -> None:
    page = watched.page
    page.get_by_role("tab", name="Admin").click()
    page.locator("#nd-admin-password input").fill("wrong password")
    page.locator("#nd-admin-signin").click()
    page.get_by_text("Wrong password.").wait_for()
    assert not page.locator("#nd-admin-upload").is_visible()

    page.locator("#nd-admin-password input").fill(ADMIN_PASSWORD)
    page.locator("#nd-admin-signin").click()
    page.locator("#nd-admin-stats table").wait_for()
    assert "Embedding model" in page.locator("#nd-admin-stats").inner_text()

    issue = tmp_path / "lantern weekly #7 (draft).md"  # an awkward name: stored under a safe one
    issue.write_text(UPLOAD)
    page.locator("#nd-admin-upload input[type=file]").set_input_files(str(issue))
    page.locator("#nd-admin-upload-btn").click()
    message = page.locator("#nd-admin-upload-msg .nd-ok")
    message.wait_for()
    assert "Lantern Weekly #7: 2 stories, 2026-06-01" in message.inner_text()
    stored = ui_settings.index_dir / "uploads" / "uploaded-issues" / "lantern-weekly-7-draft.md"
    assert stored.read_text() == UPLOAD
    watched.shot("admin")

    page.get_by_role("tab", name="Chat").click()
    card = ask(page, "Which chip did Glowworm Labs ship to customers in Oslo?",
               "Glowworm Labs ships the Lantern-7 photonic chip")
    assert card.locator(".nd-source").inner_text() == "Lantern Weekly"
    assert card.locator(".nd-headline a").get_attribute("href") == "https://example.com/lantern-7"


def test_hostile_feed_entry_renders_as_text_and_runs_nothing(watched: PageWatch) -> None:
    page = watched.page
    card = ask(page, "When did the zebra quokka festival open in Perth?", "Zebra quokka festival")
    assert "<script>window.__xss = 'headline'</script>" in card.locator(".nd-headline").inner_text()
    assert "onerror=" in card.locator(".nd-source").inner_text()
    assert card.locator(".nd-headline a").count() == 0  # its javascript: link is not made clickable
    answer = bot_messages(page).last.inner_text()
    assert "zebra quokka" in answer.lower()
    assert_nothing_ran(watched)
    watched.shot("payload-chat")

    page.get_by_role("tab", name="Archive").click()
    page.locator("#nd-archive-query textarea").fill("zebra quokka")
    page.locator("#nd-archive-search").click()
    row = page.locator("#nd-results tbody tr").first
    row.wait_for()
    assert "<script>" in row.locator("td.nd-headline").inner_text()
    assert "Payload Feed <b>bold</b>" in row.locator("td.nd-issue").inner_text()
    page.wait_for_timeout(500)  # give any injected handler a moment to fire
    assert_nothing_ran(watched)
    watched.shot("payload-archive")


@pytest.fixture
def no_admin_url(ui_desk: Any) -> Iterator[str]:
    from assistant.pipeline import Newsdesk
    from assistant.ui.app import serve

    settings = ui_desk.settings.model_copy(update={"admin_password": None, "port": free_port()})
    desk = Newsdesk(settings)
    desk.__dict__["embedder"] = ui_desk.embedder
    demo = serve(desk, block=False)
    yield f"http://127.0.0.1:{settings.port}/"
    demo.close()


def test_admin_tab_hidden_without_a_password(chromium: Any, no_admin_url: str) -> None:
    assert CHROMIUM.exists()
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(no_admin_url)
    page.get_by_text("NEWSDESK_ADMIN_PASSWORD").wait_for()
    # The note can render before the tab bar does; wait for the tabs, then check which ones exist.
    page.get_by_role("tab", name="Chat").wait_for()
    page.get_by_role("tab", name="Archive").wait_for()
    assert page.get_by_role("tab", name="Admin").count() == 0
    watch = PageWatch(page, no_admin_url)
    watch.shot("admin-off")
    context.close()
