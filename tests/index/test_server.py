"""Server mode: every index feature against a real `chroma run` on a free loopback port (started by a fixture
and stopped by its PID). Each index version is its own collection on the server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.index.reader import open_reader
from assistant.index.store import IndexStore
from assistant.ingest.issues import ingest_paths, remove_target
from assistant.ingest.rebuild import rebuild_index
from tests.conftest import make_settings, run_cli
from tests.index.conftest import SEED_FILE, ChromaServer, index_state, seed_variant

AMD = "AMD + Samsung: HBM4 for the MI455X"


def server_collections(settings, store: IndexStore) -> set[str]:
    client = store.client("any")
    try:
        names = {getattr(c, "name", c) for c in client.list_collections()}
    finally:
        client.close()
    return {n for n in names if n.startswith(settings.collection + "-")}


@pytest.mark.slow
def test_every_feature_in_server_mode(chroma_server: ChromaServer, tmp_path: Path, embedder) -> None:
    settings = make_settings(tmp_path / "idx", chroma_url=chroma_server.url, collection="srvfeat",
                             keep_versions=2)
    store = IndexStore(settings)
    issue = tmp_path / "issues" / "clustermind" / SEED_FILE.name
    issue.parent.mkdir(parents=True)
    issue.write_text(seed_variant("a"))

    # ingest, then incremental: nothing re-embedded, then one changed and one removed story.
    first = ingest_paths(settings, embedder, [issue.parent])
    assert (first.chunks, first.embedded) == (5, 5)
    assert server_collections(settings, store) == {f"srvfeat-{first.version}"}
    assert not (store.version_dir(first.version) / "chroma").exists()  # vectors live on the server
    again = ingest_paths(settings, embedder, [issue.parent])
    assert again.embedded == 0 and again.unchanged == 5
    # Nothing changed: no new version, on disk or on the server.
    assert again.version is None and store.current() == first.version
    assert server_collections(settings, store) == {f"srvfeat-{first.version}"}
    issue.write_text(seed_variant("b"))
    changed = ingest_paths(settings, embedder, [issue.parent])
    assert (changed.embedded, changed.removed) == (1, 1)
    assert index_state(settings)[2] == 4
    # keep_versions=2: only the current version and one before it stay, on the server too.
    assert server_collections(settings, store) == {f"srvfeat-{v}" for v in store.chain()}
    assert len(store.chain()) == 2

    # remove one story; it stays out of a rebuild.
    story_id = next(c.story_id for c in open_reader(store).get_chunks() if c.headline == AMD)
    assert remove_target(settings, embedder, story_id) == 1
    assert index_state(settings)[2] == 3
    rebuilt = rebuild_index(settings, embedder)
    assert rebuilt.chunks == 3 and rebuilt.reread == 1 and rebuilt.embedded == 0
    version, chunks, _ = index_state(settings)
    assert version == rebuilt.version and story_id not in {cid.split(":")[0] for cid, _ in chunks}

    # rollback goes back to the version before the rebuild, whose collection is still on the server.
    before = store.chain()[1]
    assert store.rollback() == before
    assert store.current() == before
    assert server_collections(settings, store) == {f"srvfeat-{v}" for v in store.chain()}
    remove_target(settings, embedder, issue.parent.name + "--" + issue.stem.replace("_", "-"))
    assert index_state(settings)[2] == 0


@pytest.mark.slow
def test_cli_ask_and_stats_in_server_mode(chroma_server: ChromaServer, tmp_path: Path, embedder) -> None:
    settings = make_settings(tmp_path / "idx", chroma_url=chroma_server.url, collection="srvcli")
    issue_dir = tmp_path / "issues" / "clustermind"
    issue_dir.mkdir(parents=True)
    shutil.copy(SEED_FILE, issue_dir)
    ingest_paths(settings, embedder, [issue_dir])
    env = {"NEWSDESK_CHROMA_URL": chroma_server.url, "NEWSDESK_COLLECTION": "srvcli",
           "NEWSDESK_INDEX_DIR": str(settings.index_dir)}
    asked = run_cli("ask", "--json", "Who will supply HBM4 memory for AMD's MI455X?", env=env)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["citations"][0]["headline"] == AMD
    stats = run_cli("stats", "--json", env=env)
    data = json.loads(stats.stdout)
    assert (data["chunks"], data["embedded_last_run"], data["version"]) == (5, 5, IndexStore(settings).current())
    assert not any((settings.index_dir / "readers").glob("*/chroma")), "server mode makes no local copies"
