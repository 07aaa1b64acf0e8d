"""`newsdesk rebuild` from the recorded sources: re-reads, reuses embeddings, never loses an issue."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.index.errors import IndexMissingError, IndexWriteError
from assistant.index.reader import open_reader
from assistant.index.sources import (
    SOURCE_READERS,
    SourceReadResult,
    SourceRecord,
    SourceRegistry,
    register_source_reader,
)
from assistant.index.store import IndexStore
from assistant.ingest.issues import ingest_issues, ingest_paths, remove_target
from assistant.ingest.rebuild import rebuild_index
from assistant.records import Issue, Story
from tests.conftest import make_settings, run_cli
from tests.index.conftest import SEED_FILE, index_state, seed_variant

AMD = "AMD + Samsung: HBM4 for the MI455X"


@pytest.fixture
def issue(tmp_path: Path) -> Path:
    path = tmp_path / "issues" / "clustermind" / SEED_FILE.name
    path.parent.mkdir(parents=True)
    path.write_text(seed_variant("a"))
    return path


def headlines(settings) -> set[str]:
    reader = open_reader(IndexStore(settings))
    try:
        return {c.headline for c in reader.get_chunks()}
    finally:
        reader.close()


def test_rebuild_rereads_sources_and_reuses_embeddings(tmp_path: Path, issue: Path, fake_embedder) -> None:
    settings = make_settings(tmp_path / "idx")
    store = IndexStore(settings)
    with pytest.raises(IndexMissingError):
        rebuild_index(settings, fake_embedder)
    first = ingest_paths(settings, fake_embedder, [issue.parent])
    registry = SourceRegistry.load(store.version_dir(first.version))
    assert [r.ref for r in registry.records.values()] == [str(issue.resolve())]

    unchanged = rebuild_index(settings, fake_embedder)
    assert (unchanged.chunks, unchanged.embedded, unchanged.reused, unchanged.reread) == (5, 0, 5, 1)
    assert store.manifest().operation == "rebuild" and store.manifest().embedded_last_run == 0

    issue.write_text(seed_variant("b"))  # edited on disk: the rebuild reads the file as it is now
    edited = rebuild_index(settings, fake_embedder)
    assert (edited.chunks, edited.embedded, edited.reused) == (4, 1, 3)
    assert store.chain()[1] == unchanged.version  # the previous version is kept for rollback
    again = rebuild_index(settings, fake_embedder, reembed=True)
    assert again.embedded == 4
    store.rollback()
    store.rollback()
    assert index_state(settings)[2] == 5


def test_rebuild_keeps_issues_whose_source_is_gone(tmp_path: Path, issue: Path, fake_embedder) -> None:
    settings = make_settings(tmp_path / "idx")
    ingest_paths(settings, fake_embedder, [issue.parent])
    before = index_state(settings)[1]
    issue.unlink()
    report = rebuild_index(settings, fake_embedder)
    assert report.kept == [("clustermind--000-31baea9013c4bfac", "file is gone")]
    assert report.carried == 5 and report.embedded == 0
    assert index_state(settings)[1] == before


def test_removed_stories_stay_removed(tmp_path: Path, issue: Path, fake_embedder) -> None:
    settings = make_settings(tmp_path / "idx")
    ingest_paths(settings, fake_embedder, [issue.parent])
    reader = open_reader(IndexStore(settings))
    amd = next(c for c in reader.get_chunks() if c.headline == AMD)
    reader.close()
    assert remove_target(settings, fake_embedder, amd.story_id) == 1
    assert AMD not in headlines(settings)
    report = ingest_paths(settings, fake_embedder, [issue.parent])  # the routine re-ingest of the folder
    assert report.excluded == 1 and AMD not in headlines(settings)
    rebuild_index(settings, fake_embedder)
    assert AMD not in headlines(settings) and index_state(settings)[2] == 4
    # Removing the whole issue forgets its source: a rebuild does not bring it back.
    remove_target(settings, fake_embedder, amd.issue_id)
    rebuild_index(settings, fake_embedder)
    assert index_state(settings)[2] == 0


def _feed_issue(n: int) -> Issue:
    stories = [Story(story_id=f"fake-feed#{i}", issue_id="fake-feed", issue_title="Fake Feed", index=i,
                     headline=f"Glacier survey {i} finds {i * 7} new crevasses", body=f"Survey {i} of the ice.",
                     url=f"https://example.org/{i}") for i in range(n)]
    return Issue(issue_id="fake-feed", title="Fake Feed", date=None, source_name="Fake Feed", path="fake://feed",
                 stories=stories)


def test_rebuild_hook_for_other_source_kinds(tmp_path: Path, issue: Path, fake_embedder) -> None:
    """A kind registers a reader (the feeds do: assistant.ingest.refresh:read_feed_sources). Additive kinds keep
    entries their source no longer lists; kinds without a reader keep their chunks."""
    settings = make_settings(tmp_path / "idx")
    ingest_paths(settings, fake_embedder, [issue.parent])
    record = SourceRecord(issue_id="fake-feed", kind="fake-feed", ref="fake://feed", additive=True)
    ingest_issues(settings, fake_embedder, [_feed_issue(3)], sources=[record])
    calls: list[list[str]] = []

    def reader(_settings, records: list[SourceRecord]) -> SourceReadResult:
        calls.append([r.issue_id for r in records])
        return SourceReadResult(issues=[_feed_issue(1)])  # the feed now shows only its latest entry

    register_source_reader("fake-feed", reader)
    try:
        report = rebuild_index(settings, fake_embedder)
        assert calls == [["fake-feed"]] and report.chunks == 8 and report.carried == 2
        SOURCE_READERS.pop("fake-feed")  # no reader installed any more: kept as they are
        report = rebuild_index(settings, fake_embedder)
        assert report.kept == [("fake-feed", "no reader for 'fake-feed' sources is installed")]
        assert report.chunks == 8
    finally:
        SOURCE_READERS.pop("fake-feed", None)


def test_rebuild_refuses_to_lose_an_issue(tmp_path: Path, issue: Path, fake_embedder) -> None:
    settings = make_settings(tmp_path / "idx")
    ingest_paths(settings, fake_embedder, [issue.parent])
    current = IndexStore(settings).current()

    def emptied(_settings, records: list[SourceRecord]) -> SourceReadResult:
        return SourceReadResult(issues=[Issue(issue_id=r.issue_id, title="t", date=None, source_name="s",
                                              path=r.ref, stories=[]) for r in records])

    builtin = SOURCE_READERS["file"]
    register_source_reader("file", emptied)
    try:
        with pytest.raises(IndexWriteError, match="would lose 1 issues"):
            rebuild_index(settings, fake_embedder)
    finally:
        SOURCE_READERS["file"] = builtin
    assert IndexStore(settings).current() == current and index_state(settings)[2] == 5
    assert sorted(p.name for p in (settings.index_dir / "versions").iterdir()) == [current]


def test_rebuild_repairs_a_broken_current_version(tmp_path: Path, issue: Path, embedder) -> None:
    """Chroma's tracker has reports of lost or unloadable HNSW files (#7090, #5925). With the vector files of
    the current version destroyed, the app says so in one line and a rebuild restores a working version."""
    from assistant.index.errors import IndexUnavailableError
    from assistant.pipeline import Newsdesk

    settings = make_settings(tmp_path / "idx")
    ingest_paths(settings, embedder, [issue.parent])
    store = IndexStore(settings)
    chroma = store.version_dir(store.current()) / "chroma"
    shutil.rmtree(chroma)
    chroma.mkdir()
    (chroma / "chroma.sqlite3").write_bytes(b"\x00" * 4096)
    desk = Newsdesk(settings)
    desk.__dict__["embedder"] = embedder
    with pytest.raises(IndexUnavailableError, match="rebuild"):
        desk.ask("Who will supply HBM4 memory for AMD's MI455X?")
    report = rebuild_index(settings, embedder)
    assert report.notes and "cannot be read" in report.notes[0]
    assert report.embedded == 5
    assert desk.ask("Who will supply HBM4 memory for AMD's MI455X?").citations[0].headline == AMD


@pytest.mark.slow
def test_cli_rebuild_and_rollback(tmp_path: Path, issue: Path, embedder) -> None:
    settings = make_settings(tmp_path / "idx")
    first = ingest_paths(settings, embedder, [issue.parent]).version
    issue.unlink()
    env = {"NEWSDESK_INDEX_DIR": str(settings.index_dir)}
    result = run_cli("rebuild", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["chunks"] == 5 and data["parent"] == first
    assert "kept clustermind--000-31baea9013c4bfac as it was: file is gone" in result.stderr
    back = run_cli("rollback", env=env)
    assert back.returncode == 0 and first in back.stdout
    busy = IndexStore(settings).lock()
    with busy:
        refused = run_cli("rebuild", env=env)
    assert refused.returncode != 0 and "another newsdesk process" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
