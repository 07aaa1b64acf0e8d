"""Briefings (assistant/briefing/): real model, real Chroma, the bundled corpus index (tests/conftest.py) copied and
extended with a feed that retells one of its stories in other words, plus hostile and unrelated entries."""

from __future__ import annotations

import html
import json
import re
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.briefing.brief import Briefing, build_briefing, lead_sentences
from assistant.briefing.clusters import SameEventRule, StoryPoint, story_link_key
from assistant.briefing.names import NameStats, versions
from assistant.briefing.render import render
from assistant.briefing.request import brief
from assistant.briefing.salience import listing_kind
from assistant.config import Settings
from assistant.index.reader import open_reader
from assistant.index.store import IndexStore
from assistant.pipeline import Newsdesk
from assistant.sources.newsletter import links_of, parse_issue
from tests.conftest import CORPUS_ISSUES, make_settings, run_cli

WEEK_339 = {"since": date(2026, 3, 17), "until": date(2026, 3, 23)}
DLSS_HEADLINE = "DLSS 5 looks like a real-time generative AI filter for video games"
HOSTILE_TITLE = '<img src=x onerror=alert(1)> GPU prices [click](javascript:alert(2)) <script>alert(3)</script>'
FEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Frame Rate Daily</title><link>https://framerate.example/</link>
<description>Games and graphics</description>
<item><title>Nvidia's DLSS 5 brings generative AI to game graphics</title>
<link>https://framerate.example/2026/03/18/nvidia-dlss-5</link><guid>fr-1</guid>
<pubDate>Wed, 18 Mar 2026 09:00:00 GMT</pubDate>
<description>At its GTC conference Nvidia unveiled DLSS 5, which applies generative AI to rework lighting, materials
and character details of video games in real time at up to 4K resolution. Developers are split: some call it
nonsense that overrides artistic direction, others praise the look in Starfield.</description></item>
<item><title>{html.escape(HOSTILE_TITLE)}</title>
<link>https://framerate.example/2026/03/19/gpu-prices</link><guid>fr-2</guid>
<pubDate>Thu, 19 Mar 2026 09:00:00 GMT</pubDate>
<description>{html.escape('Graphics card prices fell again this week. <b onmouseover="alert(4)">Retailers</b> cut '
                          'prices on [every model](javascript:alert(5)) as stock recovered.')}</description></item>
<item><title>Allotment gardeners try a solar-powered weeding robot</title>
<link>https://framerate.example/2026/03/20/weeding-robot</link><guid>fr-3</guid>
<pubDate>Fri, 20 Mar 2026 09:00:00 GMT</pubDate>
<description>A community garden in Leeds lent its beds to a small solar-powered robot that pulls weeds between
rows of leeks and onions; the volunteers say it misses about one weed in five.</description></item>
</channel></rss>
"""


@pytest.fixture(scope="module")
def brief_settings(corpus_index: Settings, embedder, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The session's corpus index, copied, plus the feed above refreshed into it (three entries embedded)."""
    from assistant.cli.main import main
    from assistant.embedding.encoder import Embedder

    root = tmp_path_factory.mktemp("brief")
    shutil.copytree(corpus_index.index_dir, root / "index", ignore=shutil.ignore_patterns("readers", "*.lock"))
    (root / "frame-rate.rss").write_text(FEED, encoding="utf-8")
    env = {"NEWSDESK_FEEDS_FILE": str(root / "feeds.opml"), "NEWSDESK_INDEX_DIR": str(root / "index")}
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Embedder, "from_settings", classmethod(lambda cls, s, **kw: embedder))
        for args in (["feeds", "add", str(root / "frame-rate.rss")], ["refresh"]):
            res = runner.invoke(main, args, env=env)
            assert res.exit_code == 0, res.output
    return make_settings(root / "index")


@pytest.fixture(scope="module")
def desk(brief_settings: Settings) -> Newsdesk:
    return Newsdesk(brief_settings)


def item_with(briefing: Briefing, headline_part: str):
    found = [i for i in briefing.items if any(headline_part in s.headline for s in i.sources)]
    assert len(found) == 1, [(i.rank, [s.headline for s in i.sources]) for i in briefing.items]
    return found[0]


def point(headline: str, vector: np.ndarray, **kw: object) -> StoryPoint:
    base: dict[str, object] = {"story_id": headline, "issue_id": "i", "issue_title": "I", "source_name": "S",
                               "source_kind": "newsletter", "section": "", "headline": headline,
                               "text": headline, "url": None, "links": [], "day": date(2026, 3, 1),
                               "position": 0, "vector": vector}
    base.update(kw)
    return StoryPoint(**base).prepare(NameStats())  # type: ignore[arg-type]


class TestNames:
    def test_title_case_words_are_not_names_but_identifiers_are(self) -> None:
        stats = NameStats.learn([("x", "The company said Waymo rolls out rides. It rolls on. Latest news: Waymo "
                                       "rolls again, the latest move.")] * 3)
        names = stats.names_of("Waymo Rolls Out Latest Rides In Miami", "Gemini 3.1 and GPT-5.2 shipped.")
        assert {"waymo", "3.1", "gpt-5.2", "gemini"} <= names
        assert not {"rolls", "latest", "out"} & names

    def test_versions_and_stages(self) -> None:
        assert versions("Announcing Rust 1.77.1") == {"1.77.1"}
        assert versions("Vite 7.0 Beta - Drops Node 18") == {"7.0", "beta"}
        assert versions("Kubernetes v1.33 is released") == versions("Kubernetes 1.33 is released")
        assert versions("The History of Open-Source LLMs (Part 2)") == {"part 2"}


class TestClusters:
    def test_arxiv_versions_are_one_link(self) -> None:
        assert story_link_key("https://arxiv.org/abs/2406.02528v1") == story_link_key("http://arxiv.org/pdf/2406.02528")
        assert story_link_key("https://example.com/") is None

    def test_rule_on_real_vectors(self, embedder) -> None:
        texts = ["Announcing Rust 1.77.0", "Announcing Rust 1.77.1", "Waymo launches robotaxi rides in Miami",
                 "Allotment gardeners try a solar-powered weeding robot"]
        v = embedder.encode(texts)
        rule, stats = SameEventRule(), NameStats()
        r0, r1 = point(texts[0], v[0]), point(texts[1], v[1], story_id="b", issue_id="j")
        assert float(v[0] @ v[1]) > 0.9 and rule.why(r0, r1, cosine=float(v[0] @ v[1]), stats=stats) is None
        same_link = [point(texts[2], v[2], url="https://a.example/x?utm_source=rss"),
                     point(texts[3], v[3], story_id="c", url="https://www.a.example/x/")]
        assert rule.why(*same_link, cosine=float(v[2] @ v[3]), stats=stats) == "same link"
        far = point(texts[2], v[2], story_id="d", day=date(2026, 6, 1))
        assert rule.why(same_link[0], far, cosine=1.0, stats=stats) is None

    def test_feed_retelling_joins_the_newsletter_story(self, desk: Newsdesk) -> None:
        briefing = desk.brief(since=WEEK_339["since"], until=WEEK_339["until"], max_items=60)
        dlss = item_with(briefing, DLSS_HEADLINE)
        assert {s.source for s in dlss.sources} == {"Last Week in AI", "Frame Rate Daily"}
        weeding = item_with(briefing, "weeding robot")
        assert len(weeding.sources) == 1
        # Every story of the window is in exactly one item when the briefing is long enough.
        full = desk.brief(since=WEEK_339["since"], until=WEEK_339["until"], max_items=100)
        ids = [s.story_id for i in full.items for s in i.sources]
        assert len(ids) == len(set(ids)) == full.stories


class TestSalience:
    def test_listing_cues(self) -> None:
        v = np.zeros(3, dtype=np.float32)
        assert listing_kind(point("2026-08-20 | Virtual (Berlin, DE) | Rust Berlin", v)) == "event listing"
        assert listing_kind(point("Jobs", v, text="Jobs\nPlease see the latest Who's Hiring thread")) == "job post"
        assert listing_kind(point("Quote of the Week", v)) == "quote of the week"
        assert listing_kind(point("CFP - Projects", v)) == "call for participation"
        assert listing_kind(point("Sam Altman is hiring someone to worry about the dangers of AI", v)) is None
        assert listing_kind(point("Nvidia unveils DLSS 5", v)) is None

    def test_rust_briefings_never_lead_with_listings(self, desk: Newsdesk) -> None:
        issues = sorted(CORPUS_ISSUES.glob("this-week-in-rust/*.md"))
        assert len(issues) == 4
        for path in issues:
            day = date.fromisoformat(path.name[:10])
            briefing = desk.brief(since=day, until=day, sources=["this week in rust"], max_items=300)
            kinds = [i.listing for i in briefing.items]
            assert kinds[0] is None, briefing.items[0].headline
            lead = briefing.items[0].headline.lower()
            assert not re.search(r"event|meetup|jobs|hiring|quote|cfp|call for", lead), lead
            # Every listing comes after every news item, and the issue's listings are found at all.
            first_listing = next(n for n, k in enumerate(kinds) if k)
            assert all(kinds[first_listing:]), [i.headline for i in briefing.items[first_listing:]][:5]
            heads = {i.headline for i in briefing.items if i.listing}
            assert {"Jobs", "Quote of the Week"} <= heads

    def test_top_news_leads_the_issue_summary(self, desk: Newsdesk) -> None:
        summary = desk.brief(issue="#339", max_items=8)
        assert summary.issue_id and summary.title == "Summary of Last Week in AI #339"
        assert summary.items[0].headline == DLSS_HEADLINE
        positions = [i.sources[0].story_id.rsplit("#", 1)[1] for i in summary.items[:4]]
        assert set(positions) <= {"0", "1", "2", "3"}  # the issue's Top News, with no heading telling it
        assert all(len(i.sentences) <= 1 for i in summary.items)
        assert {s.issue_id for i in summary.items for s in i.sources} == {summary.issue_id}


class TestBrief:
    def test_sentences_are_quoted_from_the_cited_story(self, desk: Newsdesk, brief_settings: Settings) -> None:
        briefing = desk.brief(since=WEEK_339["since"], until=WEEK_339["until"], max_items=10)
        reader = open_reader(IndexStore(brief_settings))
        try:
            texts: dict[str, str] = {}
            for c in reader.get_chunks():
                texts[c.story_id] = texts.get(c.story_id, "") + " " + " ".join(c.text.split())
        finally:
            reader.close()
        assert sum(1 for i in briefing.items if i.sentences) >= 5
        for item in briefing.items:
            cited = next(s for s in item.sources if s.n == item.cite)
            for sentence in item.sentences:
                assert sentence in texts[cited.story_id], (sentence, cited.headline)
                assert "Related:" not in sentence

    def test_developing_points_to_earlier_coverage(self, desk: Newsdesk) -> None:
        briefing = desk.brief(since=date(2026, 3, 10), until=date(2026, 3, 16), max_items=15)
        developing = [i for i in briefing.items if i.developing]
        assert developing, [i.headline for i in briefing.items]
        for item in developing:
            assert item.first_covered is not None and item.first_covered.date
            assert item.first_covered.date < "2026-03-10"
            assert item.first_covered.story_id not in {s.story_id for s in item.sources}

    def test_last_issue_window_and_errors(self, desk: Newsdesk) -> None:
        latest = desk.brief(sources=["Last Week in AI"], max_items=3)
        assert latest.since == latest.until == date(2026, 5, 25)
        assert desk.brief(since="7d", as_of=date(2026, 3, 23), max_items=3).since == date(2026, 3, 17)
        from assistant.errors import NewsdeskError

        for kwargs in ({"issue": "#999"}, {"sources": ["No Such Letter"]}, {"since": "yesterday-ish"}):
            with pytest.raises(NewsdeskError) as info:
                desk.brief(**kwargs)  # type: ignore[arg-type]
            assert "\n" not in str(info.value)


class TestRender:
    def test_hostile_feed_text_stays_text(self, desk: Newsdesk) -> None:
        briefing = desk.brief(since=WEEK_339["since"], until=WEEK_339["until"], max_items=100)
        item = item_with(briefing, "GPU prices")
        assert "onerror=alert(1)" in item.headline  # kept as text, not dropped or run
        page = render(briefing, "html")
        assert "<script" not in page and "<img" not in page and "<b " not in page
        assert "javascript:" not in " ".join(re.findall(r'href="[^"]*"', page))
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
        md = render(briefing, "md")
        assert not re.search(r"(?<!\\)\]\(javascript:", md)  # "\](javascript:" is text, not a link
        assert not re.search(r"(?<!\\)<", md)  # every "<" escaped: no HTML comes out of the markdown
        data = json.loads(render(briefing, "json"))
        assert any(HOSTILE_TITLE.split(" GPU")[0] in i["headline"] for i in data["items"])
        text = render(briefing, "text")
        assert "onerror=alert(1)" in text


class TestCli:
    def test_brief_json_through_the_cli(self, brief_settings: Settings) -> None:
        res = run_cli("brief", "--index-dir", str(brief_settings.index_dir), "--since", "2026-03-17",
                      "--until", "2026-03-23", "--max", "5", "--format", "json")
        assert res.returncode == 0, res.stderr
        data = json.loads(res.stdout)
        assert data["kind"] == "briefing" and len(data["items"]) == 5
        assert data["since"] == "2026-03-17" and data["stories"] > 30
        first = data["items"][0]
        assert first["sources"][0]["url"].startswith("https://") and first["cite"] == first["sources"][0]["n"]

    def test_errors_are_one_line(self, brief_settings: Settings) -> None:
        res = run_cli("brief", "--index-dir", str(brief_settings.index_dir), "--issue", "#999")
        assert res.returncode != 0
        assert res.stderr.strip().startswith("error:") and len(res.stderr.strip().splitlines()) == 1
        assert "Traceback" not in res.stderr


class TestHeadingsRemoved:
    """Without its section headings, an issue still parses into its stories (bench_briefing.py relies on it)."""

    def test_other_news_items_stay_stories(self, tmp_path: Path) -> None:
        src = CORPUS_ISSUES / "last-week-in-ai" / "2026-03-23-339.md"
        text = src.read_text(encoding="utf-8")
        stripped = "\n".join("" if re.match(r"^#{1,6}\s", ln) and not links_of(ln) else ln for ln in text.split("\n"))
        copy = tmp_path / src.name
        copy.write_text(stripped, encoding="utf-8")
        original, headless = parse_issue(src), parse_issue(copy)
        before, after = [s.headline for s in original.stories], [s.headline for s in headless.stories]
        assert after[:4] == before[:4]
        # Items whose link text is one or two words ("Attention Residuals") join the item above them.
        assert len(after) >= 0.9 * len(before) and set(after) <= set(before)
        assert max(len(s.body.split()) for s in headless.stories) < 400  # nothing swallowed the Other News

    def test_lead_sentences_skip_related_lists(self) -> None:
        v = np.zeros(3, dtype=np.float32)
        story = point("H", v, text="H\nRelated:\n* Other outlet's headline\nThe lead says what happened here. "
                                    "A second sentence adds a detail.")
        assert lead_sentences(story, limit=2) == ["The lead says what happened here.",
                                                  "A second sentence adds a detail."]


def test_build_briefing_rejects_zero_items(brief_settings: Settings) -> None:
    from assistant.briefing.brief import BriefingError

    reader = open_reader(IndexStore(brief_settings))
    try:
        with pytest.raises(BriefingError):
            build_briefing(reader, max_items=0)
        assert isinstance(brief(reader, issue="latest", max_items=2), Briefing)
    finally:
        reader.close()
