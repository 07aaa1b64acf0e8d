"""The briefing's archive pass off the request path: the reader hook the web app sets starts it in the background
when a version opens, a briefing then finds it made, and the names found on the way are the ones names_of finds."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.briefing import window
from assistant.briefing.names import NameStats
from assistant.index.reader import IndexReader, ReaderCache
from assistant.index.store import IndexStore
from tests.briefing import smallindex
from tests.fakes import FakeEmbedder


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> IndexStore:
    return IndexStore(smallindex.build(tmp_path_factory.mktemp("warmup"), FakeEmbedder()))


def test_hook_starts_the_archive_pass_in_the_background(store: IndexStore) -> None:
    window._views.clear()
    threads: list[Any] = []
    cache = ReaderCache(store, on_open=lambda reader: threads.append(window.archive_view_in_background(reader)))
    try:
        reader = cache.get()
        assert cache.get() is reader and len(threads) == 1  # once per version, not per call
        threads[0].join(timeout=60)
        view = window._views.get(reader.version)
        assert view is not None and len(view.stories) == 5
        assert window.archive_view(reader) is view  # the briefing finds it made
    finally:
        cache.close()


def test_a_failing_hook_does_not_break_reading(store: IndexStore) -> None:
    def boom(reader: IndexReader) -> None:
        raise RuntimeError("hook failed")

    cache = ReaderCache(store, on_open=boom)
    try:
        assert cache.get().count() > 0
    finally:
        cache.close()


def test_a_failing_background_pass_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        version = "v-broken"

        @property
        def lexical(self) -> Any:
            raise OSError("gone")

    window._views.clear()
    window.archive_view_in_background(Broken()).join(timeout=10)  # type: ignore[arg-type]
    assert "archive pass of index version v-broken failed" in caplog.text
    assert "v-broken" not in window._views


def test_learn_with_names_matches_names_of() -> None:
    stories = [("OpenAI ships GPT-5.2", "OpenAI said GPT-5.2 is out. The company rolls it out to Plus users."),
               ("Waymo Rolls Out In Miami", "Waymo rolls out rides in Miami. It rolls on with Jaguar cars."),
               ("C++ 26 lands", "The C++ committee voted; Herb Sutter's blog has the list.")]
    stats, found = NameStats.learn_with_names(stories)
    assert found == [stats.names_of(h, b) for h, b in stories]
    assert NameStats.learn(stories).df == stats.df
    assert "waymo" in found[1] and "rolls" not in found[1] and "gpt-5.2" in found[0]
