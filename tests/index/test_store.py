"""Versions, the pointer chain, pruning, rollback, private reader copies and the ReaderCache."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from assistant.index.errors import IndexMissingError
from assistant.index.reader import ReaderCache
from assistant.index.snapshot import READERS, sweep
from assistant.index.store import POINTER, IndexStore
from assistant.ingest.issues import ingest_paths
from tests.conftest import make_settings
from tests.index.conftest import SEED_FILE, index_state, seed_variant, tree_digest


@pytest.fixture
def issue(tmp_path: Path) -> Path:
    path = tmp_path / "issues" / "clustermind" / SEED_FILE.name
    path.parent.mkdir(parents=True)
    path.write_text(seed_variant("a"))
    return path


def test_readers_never_touch_published_versions(tmp_path: Path, issue: Path, fake_embedder) -> None:
    """Embedded Chroma writes into its folder even to read; readers therefore open private copies, and a
    published version stays byte-for-byte as its writer left it."""
    settings = make_settings(tmp_path / "idx")
    ingest_paths(settings, fake_embedder, [issue])
    store = IndexStore(settings)
    published = store.version_dir(store.current())
    before = tree_digest(published)
    cache = ReaderCache(store)
    reader = cache.get()
    assert reader.dense(fake_embedder.encode_one("HBM4 memory for AMD"), k=2)
    assert reader.count() == 5
    copies = list((settings.index_dir / READERS).iterdir())
    assert len(copies) == 1 and (copies[0] / "chroma" / "chroma.sqlite3").is_file()
    cache.close()
    assert not list((settings.index_dir / READERS).iterdir()), "the copy goes when the reader closes"
    assert tree_digest(published) == before


def test_chain_keep_versions_and_rollback(tmp_path: Path, issue: Path, fake_embedder) -> None:
    settings = make_settings(tmp_path / "idx", keep_versions=3)
    store = IndexStore(settings)
    versions = []
    for i in range(4):
        issue.write_text(seed_variant("ab"[i % 2]))
        versions.append(ingest_paths(settings, fake_embedder, [issue]).version)
    assert store.chain() == versions[::-1][:3]
    assert sorted(p.name for p in (settings.index_dir / "versions").iterdir()) == sorted(versions[1:])
    assert store.published_versions() == sorted(versions[1:])
    assert index_state(settings)[2] == 4  # variant b

    assert store.rollback() == versions[2]
    assert index_state(settings)[2] == 5  # variant a again
    assert store.rollback() == versions[1]
    with pytest.raises(IndexMissingError, match="no earlier index version"):
        store.rollback()
    assert store.current() == versions[1]
    # After a rollback a new write continues from the rolled-back version (variant b): the same issue again
    # changes nothing and publishes nothing; variant a is a new version on top of it.
    assert ingest_paths(settings, fake_embedder, [issue]).version is None and store.chain() == [versions[1]]
    issue.write_text(seed_variant("a"))
    newest = ingest_paths(settings, fake_embedder, [issue]).version
    assert newest and store.chain() == [newest, versions[1]]
    assert index_state(settings)[2] == 5


def test_unswitched_and_legacy_versions(tmp_path: Path, issue: Path, fake_embedder) -> None:
    settings = make_settings(tmp_path / "idx")
    store = IndexStore(settings)
    v1 = ingest_paths(settings, fake_embedder, [issue]).version
    issue.write_text(seed_variant("b"))
    v2 = ingest_paths(settings, fake_embedder, [issue]).version
    # A writer killed after writing its manifest but before the switch leaves a complete-looking folder; it is
    # not published (the pointer never named it), readers never see it and the next writer drops it.
    orphan = "v29991231T235959000000"
    shutil.copytree(store.version_dir(v2), store.version_dir(orphan))
    assert orphan not in store.published_versions() and store.current() == v2
    # A pointer written before the chain existed (one line): earlier folders are the rollback chain.
    (settings.index_dir / POINTER).write_text(v2 + "\n")
    assert store.chain() == [v2, v1]
    issue.write_text(seed_variant("a"))
    v3 = ingest_paths(settings, fake_embedder, [issue]).version
    assert store.chain() == [v3, v2, v1]
    assert not store.version_dir(orphan).exists()


def test_reader_cache_follows_the_pointer_and_recovers(tmp_path: Path, issue: Path, fake_embedder) -> None:
    settings = make_settings(tmp_path / "idx")
    store = IndexStore(settings)
    ingest_paths(settings, fake_embedder, [issue])
    cache = ReaderCache(store, check_every=0.0)
    first = cache.get()
    assert cache.get() is first
    issue.write_text(seed_variant("b"))
    v2 = ingest_paths(settings, fake_embedder, [issue]).version
    second = cache.get()
    assert second.version == v2 and second.count() == 4
    # A failed reader (e.g. a Chroma server that went away) is replaced on the next call.
    second.broken = True
    third = cache.get()
    assert third is not second and third.version == v2 and third.count() == 4
    # A pointer to a version that cannot be opened: the old reader keeps serving.
    good = store.current()
    broken = "v29990101T000000000000"
    shutil.copytree(store.version_dir(good), store.version_dir(broken))
    shutil.rmtree(store.version_dir(broken) / "chroma")
    (store.version_dir(broken) / "chroma").write_text("not a folder")
    store.set_current(broken)
    assert cache.get() is third
    store.set_current(good)
    time.sleep(0.01)
    assert cache.get().version == good
    cache.close()


def test_sweep_drops_copies_of_dead_readers(tmp_path: Path) -> None:
    base = tmp_path / READERS
    dead, fresh = base / "v1.123.dead", base / "v1.456.fresh"
    for folder in (dead, fresh):
        (folder / "chroma").mkdir(parents=True)
        (folder / ".held").write_text("")
    old = time.time() - 3600
    os.utime(dead, (old, old))
    assert sweep(base) == [dead]
    assert fresh.exists()  # too young to judge: its reader may be taking its lock right now


def test_a_frozen_chroma_server_times_out_instead_of_hanging(tmp_path: Path) -> None:
    """A server that accepts connections and never answers (frozen, half-open): opening a client gives up after
    NEWSDESK_CHROMA_TIMEOUT with one line instead of waiting for ever (chromadb's own client has no timeout).
    The same timeout on every later request is checked against a real `chroma run` stopped with SIGSTOP in
    test_faults.py::test_chroma_server_killed_during_writes."""
    import socket

    from assistant.index.errors import IndexUnavailableError

    with socket.socket() as frozen:
        frozen.bind(("127.0.0.1", 0))
        frozen.listen(8)  # the kernel completes the handshakes; nobody ever reads or replies
        url = f"http://127.0.0.1:{frozen.getsockname()[1]}"
        store = IndexStore(make_settings(tmp_path / "idx", chroma_url=url, chroma_timeout=0.5))
        started = time.monotonic()
        with pytest.raises(IndexUnavailableError) as caught:
            store.client("any")
        assert time.monotonic() - started < 5
    assert "cannot reach the Chroma server" in str(caught.value) and "timed out" in str(caught.value)
