"""`newsdesk remove` refuses keys that would delete more than one issue or story by accident (issue #14)."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

from assistant.index.reader import ReaderCache
from assistant.index.store import IndexStore
from tests.conftest import run_cli


def _shared_link(index_dir: Path) -> tuple[str, int]:
    """A link that stories of several issues carry, and how many issues."""
    reader = ReaderCache(IndexStore(_settings(index_dir))).get()
    got = reader.collection.get(include=["metadatas"])
    issues: dict[str, set[str]] = defaultdict(set)
    for m in got["metadatas"] or []:
        if m and m.get("url"):
            issues[str(m["url"])].add(str(m["issue_id"]))
    url, owners = max(issues.items(), key=lambda kv: len(kv[1]))
    return url, len(owners)


def _settings(index_dir: Path):
    from tests.conftest import make_settings

    return make_settings(index_dir)


class TestRemoveSafety:
    def test_empty_and_blank_keys_are_refused(self, corpus_index) -> None:
        env = {"NEWSDESK_INDEX_DIR": str(corpus_index.index_dir)}
        for key in ("", "   "):
            for extra in ([], ["--dry-run"], ["--all-matching"]):
                result = run_cli("remove", key, *extra, env=env)
                assert result.returncode != 0 and "empty key" in result.stderr, (key, extra, result.stderr)
                assert "Traceback" not in result.stderr

    def test_a_link_shared_by_several_issues_needs_all_matching(self, corpus_index, tmp_path: Path) -> None:
        copy = tmp_path / "index"
        shutil.copytree(corpus_index.index_dir, copy)
        url, owners = _shared_link(copy)
        assert owners > 1, "the bundled corpus has a link that several issues share"
        env = {"NEWSDESK_INDEX_DIR": str(copy)}
        dry = run_cli("remove", url, "--dry-run", env=env)
        assert dry.returncode == 0 and f"in {owners} issues" in dry.stdout, dry.stdout + dry.stderr
        refused = run_cli("remove", url, env=env)
        assert refused.returncode != 0 and "--all-matching" in refused.stderr
        before = ReaderCache(IndexStore(_settings(copy))).get().collection.count()
        done = run_cli("remove", url, "--all-matching", env=env)
        assert done.returncode == 0, done.stderr
        after = ReaderCache(IndexStore(_settings(copy))).get().collection.count()
        assert after < before
