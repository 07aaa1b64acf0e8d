"""The web app on a free loopback port over a copy of the corpus index (plus one hostile feed entry), and a
headless Debian chromium driven by Playwright. Artifacts (screenshots) go to test-artifacts/ui/."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from tests.conftest import CORPUS_ISSUES, REPO, SEED_DIR, SHARED, free_port, make_settings
from tests.requires import require

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO / "test-artifacts" / "ui"
ADMIN_PASSWORD = "correct horse battery staple"
SANITIZE = SHARED / "feeds" / "feedparser-tests" / "wellformed" / "sanitize"

# The hostile feed entry: a unique topic so questions find it, and payloads taken from feedparser's sanitizer
# test cases, kept as literal text (as a feed that escapes its HTML delivers them) so the app must escape them.
PAYLOAD_DATE = date(2026, 4, 1)
# January to May 2026, three of them in March (the date-range tests filter on March).
LWIAI_ISSUES = ["2026-01-12-332.md", "2026-02-16-335.md", "2026-03-09-337.md", "2026-03-16-338.md",
                "2026-03-23-339.md", "2026-05-25-341.md"]
PAYLOAD_HEADLINE = "Zebra quokka festival <script>window.__xss = 'headline'</script> opens"


def _payloads() -> tuple[str, str]:
    """The raw <script> and onerror= payloads of two feedparser sanitizer cases (before any sanitising)."""
    script = (SANITIZE / "entry_title_script_inline.xml").read_text()
    onerror = (SANITIZE / "item_description_onerror.xml").read_text()
    script_payload = re.search(r"<script[^>]*>.*?</script>", script, re.S)
    onerror_payload = re.search(r"<description>(.*?)</description>", onerror, re.S)
    assert script_payload and onerror_payload, "feedparser test cases changed"
    return script_payload.group(0), html.unescape(onerror_payload.group(1))


def payload_story_text() -> str:
    script, onerror = _payloads()
    # onerror= payloads that would set a flag if they ever ran, next to feedparser's own payload.
    return (f"The zebra quokka festival opened in Perth with three hundred visitors and a parade. {script} "
            f"Organisers said the zebra quokka parade will return next spring. {onerror} "
            "<img src=x onerror=\"window.__xss='body'\"> The festival's zebra quokka mascot was a hit.")


def add_payload_entry(settings: Settings, embedder: Any) -> None:
    from assistant.ingest.issues import ingest_issues
    from assistant.records import Issue, SourceKind, Story

    story = Story(story_id="feed-payload#0", issue_id="feed-payload", issue_title="Payload Feed <b>bold</b>",
                  index=0, headline=PAYLOAD_HEADLINE, body=payload_story_text(), section="Feeds",
                  date=PAYLOAD_DATE, url="javascript:window.__xss='link'", source_kind=SourceKind.FEED,
                  source_name="Payload Feed <img src=x onerror=\"window.__xss='source'\">")
    ingest_issues(settings, embedder, [Issue(issue_id="feed-payload", title=story.issue_title, date=PAYLOAD_DATE,
                                             source_name=story.source_name, path="payload.xml",
                                             stories=[story])])


@pytest.fixture(scope="session")
def ui_settings(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Settings:
    """The app's own index (the Admin tests write to it): ClusterMind and six Last Week in AI issues from the
    bundled corpus (a fifth of it, to keep the suite fast) plus the hostile feed entry."""
    from assistant.ingest.issues import ingest_paths

    root = tmp_path_factory.mktemp("ui")
    settings = make_settings(root / "idx", admin_password=ADMIN_PASSWORD, feeds_file=root / "feeds.opml",
                             port=free_port())
    ingest_paths(settings, embedder, [SEED_DIR, *(CORPUS_ISSUES / "last-week-in-ai" / name for name in LWIAI_ISSUES)])
    add_payload_entry(settings, embedder)
    return settings


@pytest.fixture(scope="session")
def ui_desk(ui_settings: Settings, embedder: Any) -> Any:
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(ui_settings)
    desk.__dict__["embedder"] = embedder  # share the loaded model with the other tests
    return desk


@pytest.fixture(scope="session")
def app_url(ui_desk: Any) -> Iterator[str]:
    from assistant.ui.app import serve

    demo = serve(ui_desk, block=False)
    yield f"http://127.0.0.1:{ui_desk.settings.port}/"
    demo.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    require(CHROMIUM.exists(),
            "Debian chromium is not installed (scripts/test-deps.sh installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageWatch:
    """A page with everything that must not happen recorded: dialogs, page errors, non-loopback requests."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:")) else
                self.outside.append(r.url))

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def watched(chromium: Any, app_url: str) -> Iterator[PageWatch]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)  # generous: CI machines are 2 shared cores
    watch = PageWatch(page, app_url.rstrip("/"))
    page.goto(app_url)
    page.wait_for_selector("#nd-question textarea")
    yield watch
    context.close()
    assert watch.outside == [], f"the page reached beyond loopback: {watch.outside}"
