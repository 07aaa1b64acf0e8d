"""Story clusters: one event told by several stories, across sources and issues.

Two stories tell the same event (`SameEventRule`) when, published at most `max_days` apart and not naming two
different releases ("Rust 1.77.0" / "Rust 1.77.1", "Vite 7.0 Beta" / "Vite 7.0"), they are the same story, share
a link (the near-duplicate links of assistant/sources/dedup.py, a paper's arXiv versions counted as one), repeat
each other's wording (dedup's shingle containment, between issues), or their stored embeddings are close: very
close alone, or close and sharing a name few stories in the archive carry ("NemoClaw", "Kathy Hochul"). The
thresholds were chosen on tests/data/cluster_pairs.jsonl with leave-one-source-out folds
(benchmarks/bench_clusters.py, README "Briefings"). Vectors are the ones the index stores; nothing is embedded
again.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from assistant.briefing.names import NameStats, versions
from assistant.sources.dedup import MAX_LINK_POSTING, MIN_SHINGLES, TEXT_CONTAINMENT, link_key, shingles

# arxiv.org/abs/2406.02528, /abs/2406.02528v1, /pdf/2406.02528v2.pdf: one paper.
_ARXIV_RE = re.compile(r"^(?:export\.)?arxiv\.org/(?:abs|pdf|html)/(.+?)(?:v\d+)?(?:\.pdf)?$")


def story_link_key(url: str | None) -> str | None:
    """dedup's link key, with a paper's arXiv versions and formats as one link; None for a bare home page."""
    key = link_key(url)
    if key is None:
        return None
    match = _ARXIV_RE.match(key)
    if match:
        return f"arxiv.org/abs/{match.group(1)}"
    if key.endswith("/") and key.count("/") == 1:
        return None  # "https://example.com/" names a site, not a story
    return key


@dataclass
class StoryPoint:
    """What clustering and salience know about one story: its metadata, its lead, its stored vector."""

    story_id: str
    issue_id: str
    issue_title: str
    source_name: str
    source_kind: str
    section: str
    headline: str
    text: str             # the story's first chunk: headline and lead
    url: str | None
    links: list[str]
    day: date | None
    position: int         # the story's place in its issue (0 = first)
    vector: np.ndarray
    words: int = 0        # words of the whole story (every chunk)
    names: frozenset[str] = frozenset()
    link_keys: frozenset[str] = frozenset()
    versions: frozenset[str] = frozenset()
    shingles: frozenset[int] = frozenset()

    def prepare(self, stats: NameStats) -> StoryPoint:
        """Fill the derived fields (names need the archive's casing statistics)."""
        body = self.text[len(self.headline):] if self.text.startswith(self.headline) else self.text
        self.names = stats.names_of(self.headline, body)
        self.link_keys = frozenset(k for k in (story_link_key(u) for u in [self.url, *self.links]) if k)
        self.versions = versions(self.headline)
        self.shingles = shingles(body)
        return self

    @property
    def body(self) -> str:
        return self.text[len(self.headline):].lstrip() if self.text.startswith(self.headline) else self.text


def hub_links(points: list[StoryPoint]) -> frozenset[str]:
    """Links so many stories carry that they name a site or a project, not one story (as in dedup)."""
    counts = Counter(k for p in points for k in p.link_keys)
    return frozenset(k for k, n in counts.items() if n > MAX_LINK_POSTING)


@dataclass(frozen=True)
class SameEventRule:
    """Whether two stories tell the same event, and why.

        rule = SameEventRule()
        reason = rule.why(a, b, cosine=float(a.vector @ b.vector), stats=stats)  # "same link", ... or None
    """

    # Picked on tests/data/cluster_pairs.jsonl (benchmarks/bench_clusters.py): in-sample precision 0.908,
    # recall 0.908; leave-one-source-out 0.903 / 0.855.
    max_days: int = 14               # one event's coverage spans about two weekly issues
    cosine_alone: float = 0.825      # this close, the embeddings alone say "same event"
    cosine_with_name: float = 0.60   # this close, plus a rare shared name (not in a later issue of one source)
    max_name_share: float = 0.01     # a name at most this share of the archive's stories carry is "rare"

    def why(self, a: StoryPoint, b: StoryPoint, *, cosine: float, stats: NameStats,
            hubs: frozenset[str] = frozenset()) -> str | None:
        if a.story_id == b.story_id:
            return "same story"
        if a.day and b.day and abs((a.day - b.day).days) > self.max_days:
            return None
        if a.versions and b.versions and a.versions != b.versions:
            return None  # another release of the same product is another event
        if (a.link_keys & b.link_keys) - hubs:
            return "same link"
        if a.issue_id != b.issue_id and min(len(a.shingles), len(b.shingles)) >= MIN_SHINGLES:
            small = min(len(a.shingles), len(b.shingles))
            if len(a.shingles & b.shingles) / small >= TEXT_CONTAINMENT:
                return "same text"
        if cosine >= self.cosine_alone:
            return "similar"
        # A source naming the same thing again in a later issue (or a feed on a later day) is mostly telling
        # what happened next: "developing", not the same event. Only the closest embeddings say otherwise.
        later_edition = a.source_name == b.source_name and (a.issue_id != b.issue_id or a.day != b.day)
        if cosine >= self.cosine_with_name and not later_edition:
            shared = stats.rare_shared(a.names, b.names, max_share=self.max_name_share)
            if shared:
                return f"similar, both name {shared[0]}"
        return None


@dataclass
class StoryCluster:
    """Stories of one event, the best-placed first after ranking."""

    stories: list[StoryPoint]
    reasons: list[str] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(s.source_name for s in self.stories))

    @property
    def issues(self) -> list[str]:
        return list(dict.fromkeys(s.issue_id for s in self.stories))

    @property
    def names(self) -> frozenset[str]:
        return frozenset().union(*(s.names for s in self.stories))

    @property
    def first_day(self) -> date | None:
        days = [s.day for s in self.stories if s.day]
        return min(days) if days else None

    def centroid(self) -> np.ndarray:
        mean = np.mean([s.vector for s in self.stories], axis=0)
        norm = float(np.linalg.norm(mean))
        return mean / norm if norm else mean


class StoryClusterer:
    """Groups a window's stories into clusters of one event each.

        clusterer = StoryClusterer(stats=stats)
        clusters = clusterer.cluster(points)   # points: StoryPoint.prepare(stats) already called

    Pairs the rule accepts are joined strongest first. Two groups of several stories join only when their
    centroids are still `cosine_with_name` apart, so a chain of pairwise matches (A like B, B like C) cannot
    pull unrelated stories into one cluster."""

    def __init__(self, *, stats: NameStats, rule: SameEventRule | None = None) -> None:
        self.stats = stats
        self.rule = rule or SameEventRule()

    def cluster(self, points: list[StoryPoint]) -> list[StoryCluster]:
        if not points:
            return []
        hubs = hub_links(points)
        matrix = np.stack([p.vector for p in points]).astype(np.float32)
        sims = matrix @ matrix.T
        candidates: dict[tuple[int, int], float] = {}
        rows, cols = np.nonzero(np.triu(sims >= self.rule.cosine_with_name, k=1))
        for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
            candidates[(i, j)] = float(sims[i, j])
        by_link: dict[str, list[int]] = {}
        for i, p in enumerate(points):
            for key in p.link_keys - hubs:
                by_link.setdefault(key, []).append(i)
        for members in by_link.values():
            for x, i in enumerate(members):
                for j in members[x + 1:]:
                    candidates.setdefault((min(i, j), max(i, j)), float(sims[i, j]))
        parent = list(range(len(points)))
        groups: dict[int, list[int]] = {i: [i] for i in range(len(points))}
        reasons: dict[int, list[str]] = {i: [] for i in range(len(points))}

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for (i, j), cosine in sorted(candidates.items(), key=lambda kv: -kv[1]):
            ri, rj = root(i), root(j)
            if ri == rj:
                continue
            reason = self.rule.why(points[i], points[j], cosine=cosine, stats=self.stats, hubs=hubs)
            if reason is None:
                continue
            if len(groups[ri]) > 1 and len(groups[rj]) > 1 and reason not in ("same link", "same text"):
                ci = _unit(matrix[groups[ri]].mean(axis=0))
                cj = _unit(matrix[groups[rj]].mean(axis=0))
                if float(ci @ cj) < self.rule.cosine_with_name:
                    continue
            parent[rj] = ri
            groups[ri].extend(groups.pop(rj))
            reasons[ri].extend([*reasons.pop(rj), f"{points[i].headline[:60]} ~ {points[j].headline[:60]}: {reason}"])
        return [StoryCluster(stories=[points[i] for i in sorted(members)], reasons=reasons[r])
                for r, members in groups.items()]


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector
