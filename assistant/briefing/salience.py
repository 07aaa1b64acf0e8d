"""How much a story cluster matters, learned from the archive itself rather than from one newsletter's section names.

Signals, each in [0, 1] (or a little beyond), then a weighted sum:

- **position**: where its best story sits in its issue. Editors put the important items first; `1/sqrt(1+rank)`
  keeps the first few items apart and flattens the long tail of link lists. Feed entries have no editorial
  order and get a middling value.
- **prominence**: how much room the issue gave it, against the issue's median story (log2 of the ratio): a
  three-paragraph story among one-line links stands out whatever its heading said.
- **breadth**: how many sources (newsletters, feeds) and issues carry it.
- **novelty**: the share of its rare names that the archive first saw inside the window.
- **routine** (a penalty): a headline its newsletter repeats in issue after issue ("Crate of the Week",
  "Approved RFCs") is a regular feature, not news.

**Per-source balance.** Sources do not score on one scale: a newsletter of bare links (This Week in Rust) never
earns prominence, one of long stories (This Week In React) earns it deep into its issue. In a window with several
sources, each source's scores are also scaled so that its best cluster matches the window's best, and the final
score is the mix `(1 - source_balance) * raw + source_balance * scaled`: every newsletter's lead stories compete
with the others' leads, and one long newsletter cannot fill the top of the briefing. With one source the factor is
1 and nothing changes.

Event listings, meetups, job posts, sponsor items, quotes of the week and calls for participation never lead: they
are told apart by generic cues (a date with a place or "|" columns, "hiring", "sponsor", "quote of the week",
"call for participation" / "CFP", a bodiless item inside a run of listings) and ranked after every other item.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

from assistant.briefing.clusters import StoryCluster, StoryPoint
from assistant.briefing.window import ArchiveView

_DATE = r"(?:\d{4}-\d{2}-\d{2}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?)"
_LISTING_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # "2025-03-11 | Virtual (London, UK) | Women in Rust", "Mar 12 - Berlin, DE: RustFest"
    ("event listing", re.compile(rf"^\W*{_DATE}\b.*(?:\||\b[A-Z][\w .'-]+, [A-Z]{{2,3}}\b|\bvirtual\b|\bonline\b)",
                                 re.IGNORECASE)),
    ("event listing", re.compile(r"\b(?:upcoming events|events? between|meetups?|meet-ups?)\b", re.IGNORECASE)),
    ("job post", re.compile(r"^\W*(?:jobs?|job board|careers?|who'?s hiring|hiring|we'?re hiring|open positions?)"
                            r"\b|\bjobs? (?:board|thread|listings?)\b|\bwho'?s hiring\b", re.IGNORECASE)),
    ("sponsor item", re.compile(r"\bsponsor(?:ed|s|ship)?\b|\bpartner content\b|\badvertis(?:ement|ing)\b",
                                re.IGNORECASE)),
    ("quote of the week", re.compile(r"\bquotes? of the (?:week|day|month)\b", re.IGNORECASE)),
    ("call for participation", re.compile(
        r"\bcalls? for (?:participation|papers|proposals|speakers|testing|contributors)\b|\bCFPs?\b"
        r"|\bcall for (?:talks|sessions)\b|\bhelp wanted\b", re.IGNORECASE)),
)
FEED_POSITION = 0.35  # a feed entry's place says nothing; about what the 8th item of an issue gets


def listing_kind(story: StoryPoint) -> str | None:
    """Why a story may not lead a briefing, from its headline and section (and the start of a short body)."""
    head = " ".join(story.headline.split())
    lead = " ".join(story.body.split()[:25]) if story.words < 120 else ""
    for kind, pattern in _LISTING_CUES:
        if pattern.search(head) or pattern.search(story.section or "") or (lead and kind in (
                "job post", "sponsor item", "quote of the week") and pattern.search(lead)):
            return kind
    if story.body.lstrip().startswith(">") and re.search(r"\bsuggest", story.body, re.IGNORECASE):
        return "quote of the week"  # a quotation "thanks to ... for the suggestion"
    return None


def mark_listing_runs(points: list[StoryPoint], kinds: dict[str, str | None]) -> None:
    """A bodiless item between two listings of its issue is part of the listing (a meetup's title line)."""
    by_issue: dict[str, list[StoryPoint]] = {}
    for p in points:
        by_issue.setdefault(p.issue_id, []).append(p)
    for stories in by_issue.values():
        stories.sort(key=lambda p: p.position)
        for i in range(1, len(stories) - 1):
            p = stories[i]
            if kinds.get(p.story_id) or p.body.strip():
                continue
            before, after = kinds.get(stories[i - 1].story_id), kinds.get(stories[i + 1].story_id)
            if before and before == after:
                kinds[p.story_id] = before


@dataclass
class Salience:
    score: float
    position: float
    prominence: float
    breadth: float
    novelty: float
    listing: str | None = None   # why it may not lead; None for a news item
    routine: bool = False        # a regular feature of its newsletter ("Crate of the Week")
    best: StoryPoint | None = None  # the story that speaks for the cluster
    raw: float | None = None     # the score before the per-source balance (None: not balanced)

    def to_json(self) -> dict[str, object]:
        return {"score": round(self.score, 4), "position": round(self.position, 4),
                "prominence": round(self.prominence, 4), "breadth": round(self.breadth, 4),
                "novelty": round(self.novelty, 4), "listing": self.listing, "routine": self.routine,
                "raw": round(self.raw, 4) if self.raw is not None else None}


@dataclass(frozen=True)
class SalienceWeights:
    position: float = 1.0
    prominence: float = 0.5
    breadth: float = 0.8
    novelty: float = 0.3
    routine: float = 0.75  # subtracted for a regular feature: below the news of its issue, above its link lists
    source_balance: float = 0.5  # share of the score scaled per source (its best = the window's best)


class SalienceRanker:
    """Ranks a window's clusters, most salient first; listings after everything else.

        ranker = SalienceRanker(view=archive_view(reader))
        ranked = ranker.rank(clusters, since=date(2026, 3, 16))   # [(cluster, Salience), ...]
    """

    def __init__(self, *, view: ArchiveView, weights: SalienceWeights | None = None,
                 max_name_share: float = 0.01) -> None:
        self.view = view
        self.weights = weights or SalienceWeights()
        self.max_name_share = max_name_share

    def position(self, story: StoryPoint) -> float:
        if story.source_kind == "feed":
            return FEED_POSITION
        return 1.0 / math.sqrt(1.0 + max(0, story.position))

    def prominence(self, story: StoryPoint) -> float:
        median = self.view.issue_median_words.get(story.issue_id) or 0.0
        if median <= 0 or story.words <= 0 or len(story.body.split()) < 5:
            return 0.0  # no text of its own (a bare link, a headline left empty) says nothing about its weight
        return max(-1.0, min(2.0, math.log2(story.words / median))) / 2.0

    def novelty(self, cluster: StoryCluster, since: date | None) -> float:
        if since is None:
            return 0.0
        start = int(since.strftime("%Y%m%d"))
        rare = [n for n in cluster.names if self.view.stats.is_rare(n, max_share=self.max_name_share)]
        if not rare:
            return 0.0
        return sum(1 for n in rare if self.view.first_seen.get(n, start) >= start) / len(rare)

    def score(self, cluster: StoryCluster, *, since: date | None, kinds: dict[str, str | None]) -> Salience:
        w = self.weights
        # A quote of the week that quotes this week's article joins its cluster, but neither speaks for it nor
        # lends it its place and length: only the news stories count, unless the cluster is all listings.
        news = [s for s in cluster.stories if not kinds.get(s.story_id)]
        listing = None if news else kinds.get(cluster.stories[0].story_id)
        counted = news or cluster.stories
        # The story that speaks for the cluster: the best placed and spaced one, whatever the weights.
        best = max(counted, key=lambda s: (self.position(s) + 0.5 * self.prominence(s), -s.position))
        position = max(self.position(s) for s in counted)
        prominence = max(self.prominence(s) for s in counted)
        sources, issues = len(cluster.sources), len(cluster.issues)
        breadth = math.log2(1.0 + (sources - 1) + 0.5 * max(0, issues - sources))
        novelty = self.novelty(cluster, since)
        # A regular feature ("Rust Compiler Performance Triage") stays one when a PR it mentions joins it.
        routine = breadth == 0 and self.view.routine(best.source_name, best.headline)
        score = w.position * position + w.prominence * prominence + w.breadth * breadth + w.novelty * novelty
        score -= w.routine if routine else 0.0
        return Salience(score=score, position=position, prominence=prominence, breadth=breadth, novelty=novelty,
                        listing=listing, routine=routine, best=best)

    def balance(self, scored: list[tuple[StoryCluster, Salience]]) -> None:
        """Per-source normalisation (see the module's note): each source's positive scores are scaled so that its
        best news cluster scores like the window's best, and mixed with the raw score by `source_balance`."""
        alpha = self.weights.source_balance
        best: dict[str, float] = {}
        for _cluster, sal in scored:
            if sal.listing is None and sal.best is not None:
                source = sal.best.source_name
                best[source] = max(best.get(source, sal.score), sal.score)
        if alpha <= 0 or len(best) < 2:
            return
        top = max(best.values())
        if top <= 0:
            return
        for _cluster, sal in scored:
            own = best.get(sal.best.source_name, 0.0) if sal.best is not None else 0.0
            if own <= 0 or sal.score <= 0:
                continue
            sal.raw = sal.score
            sal.score = (1.0 - alpha) * sal.score + alpha * sal.score * (top / own)

    def rank(self, clusters: list[StoryCluster], *, since: date | None) -> list[tuple[StoryCluster, Salience]]:
        points = [s for c in clusters for s in c.stories]
        kinds = {p.story_id: listing_kind(p) for p in points}
        mark_listing_runs(points, kinds)
        scored = [(c, self.score(c, since=since, kinds=kinds)) for c in clusters]
        self.balance(scored)
        # Listings last whatever their score; ties by date (newest first), then by place in the issue.
        scored.sort(key=lambda cs: (cs[1].listing is not None, -cs[1].score,
                                    -(cs[0].first_day.toordinal() if cs[0].first_day else 0),
                                    cs[1].best.position if cs[1].best else 0))
        for cluster, sal in scored:
            if sal.best is not None:  # the story that speaks for the cluster goes first
                best_id = sal.best.story_id
                cluster.stories.sort(key=lambda s: (s.story_id != best_id, s.day or date.min))  # noqa: B023
        return scored
