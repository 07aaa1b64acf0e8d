"""A small real index (real Chroma and BM25, the hashed-words fake encoder: no model) for the delivery tests:
two newsletters over four days, one story continued from earlier coverage, and a hostile feed entry."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from assistant.config import Settings
from assistant.records import Issue, SourceKind, Story
from tests.conftest import make_settings

HOSTILE_HEADLINE = "<script>alert(1)</script> Quokka <b>bold</b> & co. opens a festival"
HOSTILE_URL = "javascript:alert('link')"
DAYS = [date(2026, 3, 2), date(2026, 3, 16), date(2026, 3, 17), date(2026, 3, 18)]


def _story(issue: Issue, n: int, headline: str, body: str, url: str | None, kind: SourceKind) -> Story:
    return Story(story_id=f"{issue.issue_id}#{n}", issue_id=issue.issue_id, issue_title=issue.title, index=n,
                 headline=headline, body=body, date=issue.date, url=url, source_kind=kind,
                 source_name=issue.source_name, section="News")


def issues() -> list[Issue]:
    early = Issue(issue_id="orbit-1", title="Orbit Weekly #1", date=DAYS[0], source_name="Orbit Weekly", path="o1")
    early.stories = [_story(early, 0, "Zephyrix launches the Z-9 lunar lander programme",
                            "Zephyrix announced the Z-9 lunar lander programme with a first flight planned for "
                            "March. The Z-9 lander carries four instruments to the lunar south pole.",
                            "https://orbit.example/1/z9", SourceKind.NEWSLETTER)]
    weekly = Issue(issue_id="orbit-2", title="Orbit Weekly #2", date=DAYS[1], source_name="Orbit Weekly", path="o2")
    weekly.stories = [
        _story(weekly, 0, "Zephyrix Z-9 lunar lander reaches orbit",
               "The Zephyrix Z-9 lunar lander reached lunar orbit on Sunday after a six-day cruise. Zephyrix says "
               "the Z-9 will attempt its landing at the lunar south pole next week.",
               "https://orbit.example/2/z9-orbit?a=1&b=2", SourceKind.NEWSLETTER),
        _story(weekly, 1, "Kelpworks raises funding for seaweed batteries",
               "Kelpworks raised forty million dollars to build batteries from seaweed in Tromso. The company "
               "plans a pilot plant next year.", "https://orbit.example/2/kelpworks", SourceKind.NEWSLETTER),
    ]
    feed1 = Issue(issue_id="wire-17", title="Wire Feed", date=DAYS[2], source_name="Wire Feed", path="w17")
    feed1.stories = [_story(feed1, 0, "Tidewell opens a tidal power station in Orkney",
                            "Tidewell opened a tidal power station off Orkney that feeds twelve megawatts into "
                            "the grid. The station uses eight turbines anchored to the sea bed.",
                            "https://wire.example/tidewell", SourceKind.FEED)]
    feed2 = Issue(issue_id="wire-18", title="Wire Feed <i>daily</i>", date=DAYS[3], source_name="Wire Feed",
                  path="w18")
    feed2.stories = [_story(feed2, 0, HOSTILE_HEADLINE,
                            "The quokka festival opened in Perth with three hundred visitors and a parade. "
                            "<img src=x onerror=alert(2)> Organisers said the parade returns next spring.",
                            HOSTILE_URL, SourceKind.FEED)]
    return [early, weekly, feed1, feed2]


def build(root: Path, embedder: object) -> Settings:
    from assistant.ingest.issues import ingest_issues

    settings = make_settings(root / "index")
    ingest_issues(settings, embedder, issues())  # type: ignore[arg-type]
    return settings
