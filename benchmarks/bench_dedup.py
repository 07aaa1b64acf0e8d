"""Near-duplicate detection (assistant/sources/dedup.py) on real data: precision on hand-checked pairs, plus recall on
syndication variants of the real feed entries.

Items: the 610 entries of the 27 real feeds (one source per feed), the 326 news articles of MultiHop-RAG's gold
evidence (real titles, outlets, dates, URLs and quoted facts: feed entries of TechCrunch, The Verge, ...), and
every story of the three newsletters in ../shared/data (one source per newsletter). Every pair of items from
different sources that the detector links is listed; benchmarks/dedup_labels.json holds the hand check of each
(same story or not, with a note). Pairs without a label are printed so they can be checked and added.

    .venv/bin/python benchmarks/bench_dedup.py               # chosen thresholds
    .venv/bin/python benchmarks/bench_dedup.py --loose       # looser thresholds, to see what they would add
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import click

from common import LWIAI, ML_PAPERS, REPO, SHARED, TWIR, machine, parse_folder, table, write_result  # isort: skip
import assistant.sources.dedup as dedup  # noqa: E402
from assistant.sources.dedup import DuplicateFinder, Signature, clean_url, compare  # noqa: E402
from assistant.sources.feeds import parse_feed  # noqa: E402

LABELS = REPO / "benchmarks" / "dedup_labels.json"
REAL = SHARED / "feeds" / "real"
MULTIHOP = SHARED / "benchmarks" / "multihop-rag-500" / "ground_truth.json"


@dataclass
class Item:
    key: str
    source: str
    kind: str   # "feed", "news", "newsletter"
    headline: str
    body: str
    url: str | None
    day: date | None

    def sig(self) -> Signature:
        return Signature.of(key=self.key, source=self.source, headline=self.headline, body=self.body,
                            url=self.url, day=self.day)


def load_items() -> list[Item]:
    items: list[Item] = []
    for path in sorted(p for p in REAL.rglob("*") if p.is_file() and p.name not in ("SOURCE.md", "LICENSE",
                                                                                      "LICENSE-MIT")):
        feed_id = f"feed:{path.parent.name}/{path.name}"
        for e in parse_feed(path.read_bytes(), feed_id=feed_id).entries:
            s = e.story
            items.append(Item(s.story_id, feed_id, "feed", s.headline, s.body, s.url, s.date))
    articles: dict[str, Item] = {}
    for q in json.loads(MULTIHOP.read_text()).values():
        for ev in q["evidence_list"]:
            art = articles.setdefault(ev["url"], Item(
                f"news:{ev['url']}", f"news:{ev['source']}", "news", ev["title"], "", clean_url(ev["url"]),
                date.fromisoformat(ev["published_at"][:10])))
            if ev["fact"] not in art.body:
                art.body = f"{art.body} {ev['fact']}".strip()
    items.extend(articles.values())
    for folder in (LWIAI, TWIR, ML_PAPERS):
        for issue in parse_folder(folder):
            for s in issue.stories:
                items.append(Item(s.story_id, f"newsletter:{s.source_name}", "newsletter", s.headline, s.body,
                                  s.url, s.date))
    return items


def pair_label(a: Item, b: Item) -> str:
    return " || ".join(sorted((f"{a.source} :: {a.headline}", f"{b.source} :: {b.headline}")))


def flagged_pairs(items: list[Item]) -> tuple[list[dict[str, Any]], int]:
    by_key = {i.key: i for i in items}
    finder = DuplicateFinder()
    sigs = {i.key: i.sig() for i in items}
    for s in sigs.values():
        finder.add(s)
    seen: set[tuple[str, str]] = set()
    out: list[dict[str, Any]] = []
    compared = 0
    for item in items:
        for other in finder.candidates(sigs[item.key]):
            pair = (min(item.key, other), max(item.key, other))
            if pair in seen:
                continue
            seen.add(pair)
            compared += 1
            match = compare(sigs[item.key], sigs[other])
            if match is None:
                continue
            a, b = by_key[pair[0]], by_key[pair[1]]
            out.append({"label": pair_label(a, b), "reason": match.reason, "score": round(match.score, 3),
                        "kinds": "-".join(sorted((a.kind, b.kind))), "a_url": a.url, "b_url": b.url,
                        "a_date": str(a.day), "b_date": str(b.day)})
    return out, compared


def variants(items: list[Item]) -> list[tuple[Item, str, str]]:
    """Syndication copies of each real feed entry, as another feed would carry them: (copy, original, kind)."""
    out = []
    for n, it in enumerate(i for i in items if i.kind == "feed"):
        words = it.body.split()
        out.append((Item(f"mirror:{n}", "feed:mirror", "feed", f"Mirror {n}", it.body, f"https://mirror.example/{n}",
                         it.day), it.key, "mirror (same text, own link and title)"))
        if it.url:
            parts = urlsplit(it.url)
            query = f"{parts.query}&" if parts.query else ""
            tracked = urlunsplit(parts._replace(query=query + "utm_source=agg&utm_medium=rss"))
            out.append((Item(f"tracked:{n}", "feed:aggregator", "feed", f"Link {n}", "", tracked, it.day),
                        it.key, "aggregator (same link + utm, no text)"))
        out.append((Item(f"teaser:{n}", "feed:teasers", "feed", it.headline, " ".join(words[:40]),
                         f"https://teaser.example/{n}", it.day), it.key, "teaser (same headline, first 40 words)"))
    return out


def recall(items: list[Item]) -> list[dict[str, Any]]:
    finder = DuplicateFinder()
    for it in items:
        finder.add(it.sig())
    stats: dict[str, dict[str, int]] = {}
    for copy, original, kind in variants(items):
        row = stats.setdefault(kind, {"copies": 0, "found": 0, "wrong": 0, "missed": 0})
        row["copies"] += 1
        match = finder.find(copy.sig())
        if match is None:
            row["missed"] += 1
        elif match.key == original:
            row["found"] += 1
        else:
            row["wrong"] += 1
    return [{"variant": k, **v} for k, v in stats.items()]


@click.command()
@click.option("--loose", is_flag=True, help="Title Jaccard 0.5, text containment 0.3, 7 days: what would it add?")
def main(loose: bool) -> None:
    if loose:
        dedup.TITLE_JACCARD, dedup.TEXT_CONTAINMENT, dedup.MAX_DAYS_APART = 0.5, 0.3, 7
    started = time.perf_counter()
    items = load_items()
    pairs, compared = flagged_pairs(items)
    labels = {x["label"]: x for x in json.loads(LABELS.read_text())} if LABELS.exists() else {}
    checked = [p for p in pairs if p["label"] in labels]
    correct = [p for p in checked if labels[p["label"]]["same_story"]]
    unlabeled = [p for p in pairs if p["label"] not in labels]
    kinds: dict[str, list[int]] = {}
    for p in checked:
        row = kinds.setdefault(p["kinds"], [0, 0])
        row[0] += 1
        row[1] += bool(labels[p["label"]]["same_story"])
    counts = {k: sum(i.kind == k for i in items) for k in ("feed", "news", "newsletter")}
    print(f"items: {counts}; candidate pairs compared: {compared:,}; linked pairs: {len(pairs)}")
    print(table("hand-checked linked pairs", ["kinds", "pairs", "same story", "precision"],
                [[k, n, ok, round(ok / n, 3)] for k, (n, ok) in sorted(kinds.items())]
                + [["all", len(checked), len(correct), round(len(correct) / max(1, len(checked)), 3)]]))
    for p in unlabeled:
        print("UNLABELED", json.dumps(p, ensure_ascii=False))
    rec = [] if loose else recall([i for i in items])
    if rec:
        print(table("syndication copies of the 610 real feed entries (derived, checked automatically)",
                    ["variant", "copies", "linked to the original", "linked to another story", "missed"],
                    [[r["variant"], r["copies"], r["found"], r["wrong"], r["missed"]] for r in rec]))
    name = "dedup-loose" if loose else "dedup"
    path = write_result(name, {"machine": machine(), "thresholds": {
        "title_jaccard": dedup.TITLE_JACCARD, "text_containment": dedup.TEXT_CONTAINMENT,
        "max_days_apart": dedup.MAX_DAYS_APART, "shingle": dedup.SHINGLE, "min_shingles": dedup.MIN_SHINGLES},
        "items": counts, "compared": compared, "linked_pairs": len(pairs), "hand_checked": len(checked),
        "same_story": len(correct), "precision": round(len(correct) / max(1, len(checked)), 4),
        "by_kinds": kinds, "unlabeled": len(unlabeled), "pairs": pairs, "recall_variants": rec,
        "seconds": round(time.perf_counter() - started, 1)})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
