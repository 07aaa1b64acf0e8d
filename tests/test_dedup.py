"""Entry identity and near-duplicate rules."""

from __future__ import annotations

from datetime import date

from assistant.sources.dedup import (
    DuplicateFinder,
    Signature,
    clean_url,
    compare,
    entry_identity,
    link_key,
    merge_links,
)

TEXT = ("The city council voted on Tuesday to expand the tram network by twelve kilometres, adding four new "
        "stops in the eastern districts and a depot near the ring road, with work starting next spring.")


def sig(key: str, source: str, headline: str = "", body: str = "", url: str | None = None,
        day: date | None = date(2024, 5, 1)) -> Signature:
    return Signature.of(key=key, source=source, headline=headline, body=body, url=url, day=day)


def test_link_key_ignores_tracking_scheme_www_and_slashes() -> None:
    assert link_key("https://www.Example.com/a/b/?utm_source=rss&id=3&fbclid=x#tk.rss_all") == "example.com/a/b?id=3"
    assert link_key("http://example.com:80/a/b?id=3") == "example.com/a/b?id=3"
    assert link_key("http://scripting.com/2017/06/26.html#a080605") == "scripting.com/2017/06/26.html#a080605"
    assert link_key("https://medium.com/p/1?source=rss----abc") == "medium.com/p/1"
    assert link_key("https://example.com/search?source=web") == "example.com/search?source=web"
    assert link_key("mailto:a@b.c") is None and link_key("") is None and link_key("not a url") is None


def test_clean_url_keeps_what_matters() -> None:
    assert clean_url("https://heise.de/x.html?wt_mc=rss.developer&p=2") == "https://heise.de/x.html?p=2"
    assert clean_url("https://Site.example/a?utm_campaign=z") == "https://site.example/a"


def test_identity_order() -> None:
    assert entry_identity(guid=" g1 ", link="https://x.org/a", title="t", text="b") == "guid:g1"
    assert entry_identity(guid=None, link="https://x.org/a?utm_medium=rss", title="t", text="b") == "link:x.org/a"
    h = entry_identity(guid="", link="javascript:alert(1)", title="t", text="b")
    assert h.startswith("hash:") and h == entry_identity(guid=None, link=None, title=" t", text="b ")


def test_same_link_across_sources_matches_any_date() -> None:
    a = sig("a", "feed-1", url="https://news.example/story?utm_source=x", day=date(2024, 1, 1))
    b = sig("b", "newsletter:weekly", url="http://www.news.example/story/", day=date(2024, 6, 1))
    match = compare(a, b)
    assert match is not None and (match.key, match.reason) == ("b", "same link")
    assert compare(sig("c", "feed-1", url="https://news.example/"), sig("d", "feed-2", url="https://news.example"))\
        is None  # a home page is a site, not a story


def test_same_text_and_same_headline_within_days() -> None:
    a = sig("a", "feed-1", "Council expands tram network", TEXT)
    b = sig("b", "feed-2", "Trams: twelve more kilometres", TEXT + " Residents welcomed the plan.",
            day=date(2024, 5, 3))
    assert compare(a, b) is not None and compare(a, b).reason == "same text"  # type: ignore[union-attr]
    far = sig("b", "feed-2", "Trams", TEXT, day=date(2024, 6, 1))
    assert compare(a, far) is None  # same words a month apart: a re-run, not this story
    h1 = sig("h1", "feed-1", "Acme Rockets launches reusable booster from Kourou", "Short.")
    h2 = sig("h2", "feed-3", "Acme Rockets launches reusable booster from Kourou spaceport", "Other words.")
    assert compare(h1, h2) is not None and compare(h1, h2).reason == "same headline"  # type: ignore[union-attr]


def test_no_match_within_one_source_or_on_short_or_different_text() -> None:
    a = sig("a", "feed-1", "Council expands tram network", TEXT, url="https://n.example/1")
    assert compare(a, sig("b", "feed-1", "Council expands tram network", TEXT)) is None
    assert compare(sig("x", "f1", "Weekly links #12"), sig("y", "f2", "Weekly links #12")) is None
    assert compare(a, sig("c", "feed-2", "Harbour to grow by a third",
                          "The port authority approved a plan to grow the container harbour by a third.")) is None


def test_finder_returns_the_best_candidate_and_skips_hub_links() -> None:
    finder = DuplicateFinder()
    finder.add(sig("orig", "feed-1", "Council expands tram network", TEXT, url="https://n.example/tram"))
    finder.add(sig("other", "feed-2", "Harbour grows", "The container harbour will grow by a third next year."))
    found = finder.find(sig("new", "feed-3", "Trams everywhere", TEXT))
    assert found is not None and found.key == "orig"
    assert finder.find(sig("new2", "feed-3", "Cats", "Cats sleep most of the day in sunny spots.")) is None
    for i in range(5):  # a meetup page every issue links: a hub, not one story's address
        finder.add(sig(f"meet{i}", f"newsletter:{i}", f"Meetup {i}", f"Event {i}.", url="https://meetup.example/rust"))
    assert finder.find(sig("m", "feed-9", "Rust meetup", "Join us.", url="https://meetup.example/rust")) is None


def test_merge_links_dedups_by_key_in_order() -> None:
    assert merge_links(["https://a.example/1"], ["http://www.a.example/1/?utm_source=x", None, "https://b.example/"]
                       ) == ["https://a.example/1", "https://b.example/"]


def test_find_all_returns_every_match_and_discard_forgets() -> None:
    finder = DuplicateFinder()
    finder.add(sig("f1", "feed-1", "Council expands tram network", TEXT))
    finder.add(sig("f2", "feed-2", "Trams: twelve more kilometres", TEXT, url="https://n.example/tram"))
    finder.add(sig("f3", "feed-3", "Harbour grows", "The container harbour will grow by a third next year."))
    story = sig("n", "newsletter:weekly", "Tram network to grow", TEXT, url="https://n.example/tram?utm_source=x")
    found = {m.key: m.reason for m in finder.find_all(story)}
    assert found == {"f1": "same text", "f2": "same link"}
    assert finder.find(story).key == "f2"  # type: ignore[union-attr]  # a same-link match ranks first
    finder.discard("f2")
    assert [m.key for m in finder.find_all(story)] == ["f1"] and "f2" not in finder.sigs
    finder.discard("missing")  # forgetting an unknown story is harmless
