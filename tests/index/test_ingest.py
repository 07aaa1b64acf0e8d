from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.index.lock import WriterBusyError
from assistant.index.reader import open_reader
from assistant.index.store import IndexStore
from assistant.ingest.issues import ingest_paths, remove_target
from tests.conftest import SEED_DIR, make_settings


def test_ingest_is_incremental(tmp_path: Path, fake_embedder) -> None:
    settings = make_settings(tmp_path / "idx")
    issue = tmp_path / "issues" / "seed.txt"
    issue.parent.mkdir()
    shutil.copy(SEED_DIR / "000_31baea9013c4bfac.txt", issue)

    first = ingest_paths(settings, fake_embedder, [issue])
    assert (first.chunks, first.embedded) == (5, 5)
    store = IndexStore(settings)
    assert store.manifest().chunks == 5

    again = ingest_paths(settings, fake_embedder, [issue])
    assert again.embedded == 0 and again.unchanged == 5
    # Nothing changed, so nothing is published: the same version stays current, no folder is left behind.
    assert again.version is None and store.current() == first.version
    assert [p.name for p in (settings.index_dir / "versions").iterdir()] == [first.version]

    # One changed story: one chunk embedded; a story removed from the issue: its chunk removed.
    text = issue.read_text()
    text = text.replace("Cisco, IBM, and Google Cloud", "Cisco, IBM, Oracle and Google Cloud")
    start = text.index("📸 Shutterstock Goes All-In")
    end = text.index("That's it for today")
    issue.write_text(text[:start] + text[end:])
    changed = ingest_paths(settings, fake_embedder, [issue])
    assert changed.embedded == 1 and changed.removed == 1
    assert store.manifest().embedded_last_run == 1 and store.manifest().parent == first.version
    reader = open_reader(store)
    assert reader.count() == 4
    assert len(reader.lexical) == 4
    assert "Oracle" in " ".join(c.text for c in reader.get_chunks())
    reader.close()


def test_remove_and_versions(tmp_path: Path, fake_embedder) -> None:
    settings = make_settings(tmp_path / "idx", keep_versions=2)
    ingest_paths(settings, fake_embedder, [SEED_DIR])
    store = IndexStore(settings)
    issue_id = open_reader(store).get_chunks(limit=1)[0].issue_id
    before = store.current()
    assert remove_target(settings, fake_embedder, issue_id) == 5
    assert store.manifest().chunks == 0
    assert store.current() != before
    assert len(store.published_versions()) <= 2
    with pytest.raises(LookupError):
        remove_target(settings, fake_embedder, "no-such-issue")
    # A failed write publishes nothing.
    assert store.manifest().chunks == 0


def test_second_writer_gets_a_clear_error(tmp_path: Path, fake_embedder) -> None:
    settings = make_settings(tmp_path / "idx")
    store = IndexStore(settings)
    with store.lock(), pytest.raises(WriterBusyError, match="another newsdesk process"):
        ingest_paths(settings, fake_embedder, [SEED_DIR])
    assert store.current() is None
