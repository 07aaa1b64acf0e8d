"""One story from a feed and a newsletter issue, in both arrival orders, through the real CLI: `newsdesk feeds
add`, `newsdesk ingest`, `newsdesk refresh`, `newsdesk ask --json` (real Chroma, the real embedding model, the
real Rubenerd feed of corpus/feeds and an issue in tests/sources/data that tells two of its stories)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.config import Settings
from assistant.index.reader import open_reader
from assistant.index.store import IndexStore
from assistant.sources.feedstate import FeedState
from tests.conftest import REPO, make_settings

FEED = REPO / "corpus" / "feeds" / "rubenerd.rss"
ISSUE = REPO / "tests" / "sources" / "data" / "2023-01-12-silo-weekly.md"
SWAP = "https://rubenerd.com/the-commodore-atari-engineer-swap/"         # linked by the same link
SILOS_FEED = "https://rubenerd.com/the-solution-to-centralisation/"     # linked by the same text
SILOS_ISSUE = "https://news.example/2023/01/silos"


@pytest.fixture
def cli(tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch):
    from assistant.cli.main import main
    from assistant.embedding.encoder import Embedder

    monkeypatch.setattr(Embedder, "from_settings", classmethod(lambda cls, s, **kw: embedder))  # load the model once
    shutil.copy(FEED, tmp_path / "rubenerd.rss")
    (tmp_path / "issues").mkdir()
    shutil.copy(ISSUE, tmp_path / "issues" / ISSUE.name)
    env = {"NEWSDESK_FEEDS_FILE": str(tmp_path / "feeds.opml"), "NEWSDESK_INDEX_DIR": str(tmp_path / "index")}
    runner = CliRunner()

    def run(*args: str) -> dict:
        res = runner.invoke(main, list(args), env=env)
        assert res.exit_code == 0, res.output
        lines = [ln for ln in res.output.strip().splitlines() if ln.startswith("{")]
        return json.loads(lines[-1]) if lines else {"output": res.output}

    run("feeds", "add", str(tmp_path / "rubenerd.rss"))
    return run, make_settings(tmp_path / "index")


def stories(settings: Settings) -> dict[str, tuple[str, str | None, tuple[str, ...]]]:
    """headline -> (kind, url, links) of every story in the current version, one row per story."""
    reader = open_reader(IndexStore(settings))
    try:
        chunks = reader.get_chunks()
    finally:
        reader.close()
    out: dict[str, tuple[str, str | None, tuple[str, ...]]] = {}
    for c in sorted(chunks, key=lambda c: (c.story_id, c.chunk_index)):
        row = (c.source_kind, c.url, tuple(c.links))
        assert out.setdefault(c.headline, row) == row  # every chunk of a story says the same
    return out


def cited_once_with_all_links(run, question: str, links: set[str]) -> dict:
    answer = run("ask", "--json", question)
    assert not answer["refused"], answer
    citing = [c for c in answer["citations"] if links & {c["url"], *c["links"]}]
    assert len(citing) == 1, [(c["headline"], c["source"], c["url"]) for c in answer["citations"]]
    assert set(citing[0]["links"]) >= links and citing[0]["source"] == "Silo Weekly"
    return answer


def check_linked(run, settings: Settings) -> dict[str, tuple[str, str | None, tuple[str, ...]]]:
    held = stories(settings)
    assert held["The great Commodore/Atari engineer swap"] == ("newsletter", SWAP, (SWAP,))
    assert held["Podcasting is why silos are not inevitable"] == ("newsletter", SILOS_ISSUE, (SILOS_ISSUE, SILOS_FEED))
    assert held["Fremantle harbour takes delivery of three cranes"][0] == "newsletter"
    assert "The solution to centralisation" not in held  # the feed entry is a link now, not a second story
    kinds = [k for k, _, _ in held.values()]
    assert (kinds.count("feed"), kinds.count("newsletter")) == (8, 3)
    aliases = FeedState.load(settings.index_dir).aliases
    assert sorted(a.reason for a in aliases.values()) == ["same link", "same text"]
    cited_once_with_all_links(run, "How did engineers swap between Commodore and Atari by August 1984?", {SWAP})
    cited_once_with_all_links(run, "Why is there no solution to the centralisation of the internet into silos?",
                              {SILOS_FEED, SILOS_ISSUE})
    again = run("refresh", "--json", "--force")  # every entry compared again: nothing changes, nothing embedded
    assert (again["embedded"], again["linked"], again["new"]) == (0, 2, 0)
    assert stories(settings) == held
    return held


def test_issue_first_then_feed(cli) -> None:
    run, settings = cli
    issue = run("ingest", "--json", "--source", "Silo Weekly", str(settings.index_dir.parent / "issues"))
    assert (issue["stories"], issue["embedded"]) == (3, 3)
    feed = run("refresh", "--json")
    assert (feed["entries"], feed["new"], feed["linked"], feed["failed"]) == (10, 8, 2, 0)
    check_linked(run, settings)


def test_feed_first_then_issue_gives_the_same_index(cli) -> None:
    run, settings = cli
    feed = run("refresh", "--json")
    assert (feed["entries"], feed["new"], feed["linked"]) == (10, 10, 0)
    assert {"The great Commodore/Atari engineer swap", "The solution to centralisation"} <= set(stories(settings))
    before = feed["embedded"]
    issue = run("ingest", "--json", "--source", "Silo Weekly", str(settings.index_dir.parent / "issues"))
    # The issue's 3 stories are embedded; the 2 entries it tells become its links (merged, not counted removed).
    assert (issue["stories"], issue["embedded"], issue["removed"], issue["linked"]) == (3, 3, 0, 2)
    assert before > 10
    held = check_linked(run, settings)
    assert run("refresh", "--json")["embedded"] == 0

    # Re-ingested after an edit: the story is rewritten and keeps the feed entry's link at once.
    path = settings.index_dir.parent / "issues" / ISSUE.name
    path.write_text(path.read_text().replace("people are, when it comes", "people are, when it really comes"))
    edited = run("ingest", "--json", "--source", "Silo Weekly", str(path))
    assert edited["embedded"] == 1 and stories(settings) == held
