"""Story clusters (assistant/briefing/clusters.py) on the hand-labelled pairs of tests/data/cluster_pairs.jsonl.

Each pair names two stories (a file under ../shared/data, a date, a headline substring); the file is parsed with
Newsdesk's own parsers (newsletters: parse_issues, which also splits the ML-papers archive into weekly issues;
feeds: parse_feed), the story found, its first chunk made as ingest makes it and embedded with the project's
Embedder. The decision is `SameEventRule.why`, the rule the clusterer applies to a window's stories. Name
rarity and hub links are learned from every story of the files the pairs reference (about 11k stories).

Thresholds are chosen by a grid search that maximises recall at precision >= 0.9 (else F1), recall counted in whole
pairs with a tolerance of one: a looser rule must find at least two more same-event pairs than a stricter one, so
no threshold moves on the evidence of a single pair; within the tolerance the more precise rule wins, then the one
finding more, then the stricter. "In-sample" picks them on all pairs; "held-out" is leave-one-source-out: for each
newsletter (or feed) the pairs involving it are scored with thresholds picked on the other pairs only. The shipped
defaults are printed beside both.

    .venv/bin/python benchmarks/bench_clusters.py            # vectors cached in /tmp/newsdesk-bench-clusters
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from common import REPO, SHARED, table, write_result  # isort: skip
from assistant.briefing.clusters import SameEventRule, StoryPoint, story_link_key  # noqa: E402
from assistant.briefing.names import NameStats  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.embedding.encoder import Embedder  # noqa: E402
from assistant.ingest.chunking import chunk_story  # noqa: E402
from assistant.records import Story  # noqa: E402
from assistant.sources.archive_file import parse_issues  # noqa: E402
from assistant.sources.dedup import MAX_LINK_POSTING  # noqa: E402
from assistant.sources.feeds import parse_feed  # noqa: E402

PAIRS = REPO / "tests" / "data" / "cluster_pairs.jsonl"
CACHE = Path("/tmp/newsdesk-bench-clusters")
GRID = {
    "cosine_alone": [round(0.70 + 0.025 * i, 3) for i in range(11)],
    "cosine_with_name": [round(0.50 + 0.025 * i, 3) for i in range(13)],
    "max_name_share": [0.0005, 0.001, 0.002, 0.003, 0.005, 0.01],
    "max_days": [7, 10, 14, 21],
}
TARGET_P, TARGET_R = 0.9, 0.8
# A rule finding one same-event pair more than a stricter one is no better: one pair is not evidence (with Last
# Week in AI held out, one Guardian pair alone moved cosine_with_name from 0.60 to 0.525).
RECALL_TOLERANCE = 1


@dataclass
class Pair:
    id: str
    fold: str
    same: bool
    kind: str
    a: StoryPoint
    b: StoryPoint


def _norm(text: str) -> str:
    return " ".join(text.replace("\\", "").replace("`", "").split()).lower()


class Corpus:
    """Parsed files, found once each."""

    def __init__(self) -> None:
        self.files: dict[str, list[Story]] = {}

    def stories(self, rel: str) -> list[Story]:
        if rel not in self.files:
            path = SHARED / rel
            if rel.startswith("feeds/"):
                self.files[rel] = parse_feed(path.read_bytes(), feed_id=f"feed-{path.stem}").stories
            else:
                self.files[rel] = [s for issue in parse_issues(path) for s in issue.stories]
        return self.files[rel]

    def find(self, ref: dict[str, Any]) -> Story | None:
        """The story whose headline (else text) holds the labelled headline, else the one carrying its link;
        the nearest in date when several do (the ML-papers archive repeats titles)."""
        want = _norm(ref["headline"])
        day = date.fromisoformat(ref["date"])
        stories = self.stories(ref["file"])
        found = [s for s in stories if want in _norm(s.headline)] or [s for s in stories if want in _norm(s.text)]
        if not found and ref.get("url"):
            key = story_link_key(ref["url"])
            found = [s for s in stories if key in {story_link_key(u) for u in [s.url, *s.links]}]
        found.sort(key=lambda s: abs(((s.date or day) - day).days))
        return found[0] if found else None


def fold_of(row: dict[str, Any]) -> str:
    """The newsletter (or feed) a pair belongs to: the non-Last-Week-in-AI side when there is one."""
    names = []
    for side in ("a", "b"):
        parts = row[side]["file"].split("/")
        names.append(parts[1] if parts[0] == "newsletters" else f"feed:{parts[-1]}")
    other = [n for n in names if n != "skynet-today-last-week-in-ai"]
    return other[0] if other else names[0]


class VectorCache:
    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.path = CACHE / "vectors.npz"
        self.vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            data = np.load(self.path)
            self.vectors = {str(k): v for k, v in zip(data["keys"], data["vectors"], strict=True)}
        self.dirty = False

    def get(self, texts: list[str]) -> list[np.ndarray]:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        missing = [(k, t) for k, t in zip(keys, texts, strict=True) if k not in self.vectors]
        if missing:
            for (k, _), v in zip(missing, self.embedder.encode([t for _, t in missing]), strict=True):
                self.vectors[k] = v
            self.dirty = True
        return [self.vectors[k] for k in keys]

    def save(self) -> None:
        if self.dirty:
            CACHE.mkdir(parents=True, exist_ok=True)
            keys = list(self.vectors)
            np.savez(self.path, keys=np.asarray(keys), vectors=np.stack([self.vectors[k] for k in keys]))


def point(story: Story, vector: np.ndarray, stats: NameStats) -> StoryPoint:
    first = chunk_story(story)[0]
    return StoryPoint(story_id=story.story_id, issue_id=story.issue_id, issue_title=story.issue_title,
                      source_name=story.source_name, source_kind=story.source_kind.value, section=story.section,
                      headline=story.headline, text=first.text, url=story.url, links=story.links, day=story.date,
                      position=story.index, vector=vector, words=len(story.text.split())).prepare(stats)


def load() -> tuple[list[Pair], list[str], NameStats, frozenset[str]]:
    rows = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    corpus = Corpus()
    for row in rows:
        for side in ("a", "b"):
            corpus.stories(row[side]["file"])
    every = [s for stories in corpus.files.values() for s in stories]
    stats = NameStats.learn((s.headline, s.body) for s in every)
    links = Counter(k for s in every for k in {story_link_key(u) for u in [s.url, *s.links]} if k)
    hubs = frozenset(k for k, n in links.items() if n > MAX_LINK_POSTING)
    cache = VectorCache(Embedder.from_settings(Settings()))
    pairs: list[Pair] = []
    missing: list[str] = []
    for row in rows:
        a, b = corpus.find(row["a"]), corpus.find(row["b"])
        if a is None or b is None:
            missing.append(f"{row['id']}: {row['a' if a is None else 'b']['headline'][:60]!r} not parsed as a story")
            continue
        va, vb = cache.get([chunk_story(a)[0].text, chunk_story(b)[0].text])
        pairs.append(Pair(row["id"], fold_of(row), bool(row["same_event"]), row["kind"], point(a, va, stats),
                          point(b, vb, stats)))
    cache.save()
    return pairs, missing, stats, hubs


def decide(pairs: list[Pair], rule: SameEventRule, stats: NameStats, hubs: frozenset[str]) -> list[str | None]:
    return [rule.why(p.a, p.b, cosine=float(p.a.vector @ p.b.vector), stats=stats, hubs=hubs) for p in pairs]


def scores(pairs: list[Pair], said: list[str | None]) -> dict[str, float]:
    tp = sum(1 for p, r in zip(pairs, said, strict=True) if p.same and r)
    fp = sum(1 for p, r in zip(pairs, said, strict=True) if not p.same and r)
    fn = sum(1 for p, r in zip(pairs, said, strict=True) if p.same and not r)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def rules() -> list[SameEventRule]:
    out = []
    for alone, named, share, days in itertools.product(*GRID.values()):
        if named <= alone:
            out.append(SameEventRule(max_days=days, cosine_alone=alone, cosine_with_name=named,
                                     max_name_share=share))
    return out


def pick(pairs: list[Pair], stats: NameStats, hubs: frozenset[str]) -> tuple[SameEventRule, dict[str, float]]:
    """Highest recall at precision >= TARGET_P, within RECALL_TOLERANCE pairs of the highest: among those the most
    precise, then the one finding more, then the stricter. Without such a rule, the highest F1."""
    scored = [(rule, scores(pairs, decide(pairs, rule, stats, hubs))) for rule in rules()]

    def strict(rule: SameEventRule) -> tuple[float, ...]:
        return (rule.cosine_alone, rule.cosine_with_name, -rule.max_name_share, -rule.max_days)

    feasible = [(rule, s) for rule, s in scored if s["precision"] >= TARGET_P]
    if not feasible:
        return max(scored, key=lambda rs: (rs[1]["f1"], rs[1]["precision"], *strict(rs[0])))
    most = max(s["tp"] for _, s in feasible)
    near = [(rule, s) for rule, s in feasible if s["tp"] >= most - RECALL_TOLERANCE]
    return max(near, key=lambda rs: (rs[1]["precision"], rs[1]["tp"], *strict(rs[0])))


def main() -> int:
    pairs, missing, stats, hubs = load()
    same_story = [p for p in pairs if p.a.story_id == p.b.story_id]
    print(f"{len(pairs)} pairs found ({sum(p.same for p in pairs)} same event); {len(missing)} left out:")
    for line in missing:
        print("  " + line)
    print(f"{len(same_story)} pairs are one parsed story (a 'Related:' link inside a story): "
          f"{sum(p.same for p in same_story)} labelled same, {sum(not p.same for p in same_story)} not")
    shipped = SameEventRule()
    in_rule, in_scores = pick(pairs, stats, hubs)
    folds = sorted({p.fold for p in pairs})
    held_said: dict[str, str | None] = {}
    fold_rows = []
    for fold in folds:
        train = [p for p in pairs if p.fold != fold]
        test = [p for p in pairs if p.fold == fold]
        rule, _ = pick(train, stats, hubs)
        said = decide(test, rule, stats, hubs)
        held_said.update({p.id: r for p, r in zip(test, said, strict=True)})
        s = scores(test, said)
        fold_rows.append([fold, len(test), sum(p.same for p in test), s["tp"], s["fp"], s["fn"],
                          f"{rule.cosine_alone}/{rule.cosine_with_name}/{rule.max_name_share}/{rule.max_days}"])
    held = scores(pairs, [held_said[p.id] for p in pairs])
    ship = scores(pairs, decide(pairs, shipped, stats, hubs))
    distinct = [p for p in pairs if p.a.story_id != p.b.story_id]
    ship_distinct = scores(distinct, decide(distinct, shipped, stats, hubs))
    held_distinct = scores(distinct, [held_said[p.id] for p in distinct])
    print()
    print(table("Held out, by fold (thresholds picked on the other folds: alone/with name/name share/days)",
                ["fold", "pairs", "same", "tp", "fp", "fn", "thresholds"], fold_rows))
    print()
    rows = [["held-out (leave one source out)", held["precision"], held["recall"], held["tp"], held["fp"], held["fn"]],
            ["held-out, distinct stories only", held_distinct["precision"], held_distinct["recall"],
             held_distinct["tp"], held_distinct["fp"], held_distinct["fn"]],
            ["in-sample (picked on all pairs)", in_scores["precision"], in_scores["recall"], in_scores["tp"],
             in_scores["fp"], in_scores["fn"]],
            ["shipped defaults", ship["precision"], ship["recall"], ship["tp"], ship["fp"], ship["fn"]],
            ["shipped, distinct stories only", ship_distinct["precision"], ship_distinct["recall"],
             ship_distinct["tp"], ship_distinct["fp"], ship_distinct["fn"]]]
    print(table(f"Pairwise same-event decision (target precision >= {TARGET_P}, recall >= {TARGET_R})",
                ["", "precision", "recall", "tp", "fp", "fn"], rows))
    print(f"in-sample pick: {in_rule}")
    print(f"shipped:        {shipped}")
    said = decide(pairs, shipped, stats, hubs)
    for title, decided in (("shipped rule's errors", said), ("held-out errors", [held_said[p.id] for p in pairs])):
        print(f"\n{title}:")
        for p, r in zip(pairs, decided, strict=True):
            if bool(r) != p.same:
                print(f"  {'FP' if r else 'FN'} {p.id} [{p.kind}] cos {float(p.a.vector @ p.b.vector):.3f} "
                      f"{p.a.headline[:45]!r} ~ {p.b.headline[:45]!r}{': ' + r if r else ''}")
    reasons = Counter((r or "").split(",")[0] for p, r in zip(pairs, said, strict=True) if p.same and r)
    print("true positives by reason:", dict(reasons))
    path = write_result("bench_clusters", {
        "pairs": len(pairs), "left_out": missing, "one_parsed_story": len(same_story), "held_out": held,
        "in_sample": in_scores, "in_sample_rule": in_rule.__dict__, "shipped": ship, "shipped_rule": shipped.__dict__,
        "shipped_distinct_stories": ship_distinct, "held_out_distinct_stories": held_distinct, "folds": fold_rows,
        "met": held["precision"] >= TARGET_P and held["recall"] >= TARGET_R})
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
