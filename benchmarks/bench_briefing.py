"""Briefings (assistant/briefing/) against the editors' own choices, the issue's "Done when".

1. **Last Week in AI, headings removed.** Every issue since 2024 with a "Top News" section is copied with every
   section heading removed (heading lines without a link: "### Top News", "### Other News", "#### Tools", ...;
   the stories' own linked headlines stay), the copies (from 2023 on, so novelty and "developing" have history)
   are ingested into a fresh index, and the briefing of each week (the 7 days ending on the issue's date) is
   built. Score: the share of the issue's Top News stories among the stories of the briefing's first 10 items.
   Beside it, the plain baseline: the window's newest stories (ties in issue order), first sentence each; and
   two ablations: position only, everything but position.
2. **This Week in Rust.** Its issues are ingested as published and each issue's week briefed; the lead item of
   every briefing must not be an event listing, a job post, a quote or a call for participation (told by the
   issue's own structure: anything from "Upcoming Events" on, "Jobs", "Quote of the Week", CFP sections).

Indexes are cached under /tmp/newsdesk-bench-brief (NEWSDESK_BENCH_BRIEF_CACHE) and rebuilt only when the files
change, so reruns take seconds.

    .venv/bin/python benchmarks/bench_briefing.py [--twir-since 2025-06-01] [--lwai-history-since 2023-01-01]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from common import LWIAI, REPO, TWIR, table, write_result  # isort: skip
from assistant.briefing.brief import build_briefing, lead_sentences  # noqa: E402
from assistant.briefing.salience import SalienceWeights  # noqa: E402
from assistant.briefing.window import archive_view, story_points, window_story_ids  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.embedding.encoder import Embedder  # noqa: E402
from assistant.index.store import IndexStore  # noqa: E402
from assistant.ingest.issues import ingest_paths  # noqa: E402
from assistant.records import Filters  # noqa: E402
from assistant.sources.newsletter import date_from_filename, link_text, links_of  # noqa: E402

CACHE = Path(os.environ.get("NEWSDESK_BENCH_BRIEF_CACHE", "/tmp/newsdesk-bench-brief"))
HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
TOP = 10
PARSER_FILES = ("sources/newsletter.py", "sources/mdx.py", "sources/archive_file.py", "ingest/chunking.py")
TARGET = 0.8


def norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", link_text(text).lower()).split())


def without_section_headings(text: str) -> str:
    """Every heading line that is not a story's own (linked) headline goes; front matter stays."""
    return "\n".join("" if (m := HEADING_RE.match(line)) and not links_of(m.group(2)) else line
                     for line in text.split("\n"))


def top_news(text: str) -> list[str]:
    """Headlines under the issue's "Top News" heading, as written."""
    out: list[str] = []
    inside, level = False, 0
    for line in text.split("\n"):
        m = HEADING_RE.match(line)
        if not m:
            continue
        depth, title = len(m.group(1)), m.group(2)
        if not links_of(title) and re.search(r"\btop news\b", title, re.IGNORECASE):
            inside, level = True, depth
            continue
        if inside and depth <= level:
            break
        if inside and links_of(title):
            out.append(link_text(title).strip())
    return out


def cached_index(name: str, files: list[Path], embedder: Embedder) -> Settings:
    """An index of these files, rebuilt only when the list or a file changed."""
    folder = CACHE / name
    settings = Settings(index_dir=folder / "index")  # type: ignore[call-arg]
    # The files and the parser that reads them: a parser change rebuilds the index.
    parser = hashlib.sha1(b"".join((REPO / "assistant" / p).read_bytes() for p in PARSER_FILES)).hexdigest()
    stamp = [[parser]] + [[str(f), f.stat().st_size, f.stat().st_mtime_ns] for f in files]
    stamp_file = folder / "files.json"
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp and IndexStore(settings).current():
        return settings
    start = time.perf_counter()
    ingest_paths(settings, embedder, files)
    stamp_file.write_text(json.dumps(stamp))
    print(f"indexed {len(files)} files for {name} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return settings


def lwai_copies(history_since: date) -> tuple[list[Path], list[tuple[date, Path, list[str]]]]:
    out_dir = CACHE / "lwai-no-headings"
    out_dir.mkdir(parents=True, exist_ok=True)
    copies, weeks = [], []
    for path in sorted(LWIAI.glob("*.md")):
        day = date_from_filename(path.name)
        if day is None or day < history_since:
            continue
        text = path.read_text(encoding="utf-8")
        copy = out_dir / path.name
        stripped = without_section_headings(text)
        if not copy.exists() or copy.read_text(encoding="utf-8") != stripped:
            copy.write_text(stripped, encoding="utf-8")
        copies.append(copy)
        tops = top_news(text)
        if day >= date(2024, 1, 1) and tops:
            weeks.append((day, copy, tops))
    return copies, weeks


def recall(found: list[set[str]], tops: list[str]) -> float:
    want = [norm(t) for t in tops]
    seen = set().union(*found) if found else set()
    return sum(1 for w in want if w in seen) / len(want)


def bench_lwai(embedder: Embedder, history_since: date) -> dict[str, Any]:
    copies, weeks = lwai_copies(history_since)
    settings = cached_index("lwai", copies, embedder)
    store = IndexStore(settings)
    reader = store.open_reader()
    rows, per_week = [], []
    variants = {"briefing": None, "position only": SalienceWeights(prominence=0, breadth=0, novelty=0, routine=0),
                "no position": SalienceWeights(position=0)}
    sums = {k: 0.0 for k in [*variants, "baseline (newest)"]}
    timings: list[float] = []
    try:
        view = archive_view(reader)
        for day, _copy, tops in weeks:
            since, until = day - timedelta(days=6), day
            scores: dict[str, float] = {}
            for label, weights in variants.items():
                start = time.perf_counter()
                briefing = build_briefing(reader, since=since, until=until, max_items=TOP, weights=weights)
                if weights is None:
                    timings.append(time.perf_counter() - start)
                    lead = briefing.items[0].headline if briefing.items else ""
                scores[label] = recall([{norm(s.headline) for s in i.sources} for i in briefing.items], tops)
            ids = window_story_ids(reader, view, Filters(since=since, until=until))
            points = story_points(reader, view, ids)
            newest = sorted(points, key=lambda p: (-(p.day or date.min).toordinal(), p.issue_id, p.position))[:TOP]
            scores["baseline (newest)"] = recall([{norm(p.headline)} for p in newest], tops)
            _ = [lead_sentences(p, limit=1) for p in newest]  # the baseline's "first sentence each"
            for k, v in scores.items():
                sums[k] += v
            per_week.append({"date": day.isoformat(), "top_news": len(tops), "stories": len(points), **scores,
                             "lead": lead})
            rows.append([day.isoformat(), len(tops), len(points), scores["briefing"], scores["baseline (newest)"],
                         lead[:60]])
    finally:
        reader.close()
    print(table(f"Last Week in AI weeks with Top News, section headings removed: recall of Top News in the first "
                f"{TOP} items", ["week", "top", "stories", "briefing", "baseline", "lead item"], rows))
    means = {k: v / len(weeks) for k, v in sums.items()}
    below = sum(1 for w in per_week if w["briefing"] < TARGET)
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))] if timings else float("nan")
    print()
    print(table("Mean recall over weeks", ["ranking", "recall"], [[k, v] for k, v in means.items()]))
    print(f"{len(weeks)} weeks; {below} below {TARGET}; briefing p95 {p95 * 1000:.0f} ms "
          f"({len(view.stories)} stories in the index)")
    return {"weeks": len(weeks), "mean_recall": means, "weeks_below_target": below, "per_week": per_week,
            "p95_ms": round(p95 * 1000, 1), "met": means["briefing"] >= TARGET}


BAD_SECTIONS = re.compile(r"^(?:upcoming events|jobs|quote of the week)$|call for participation|^cfp\b|"
                          r"calls for testing", re.IGNORECASE)


def bench_twir(embedder: Embedder, since: date) -> dict[str, Any]:
    files = sorted(p for p in TWIR.glob("*.md") if (d := date_from_filename(p.name)) and d >= since)
    settings = cached_index("twir", files, embedder)
    reader = IndexStore(settings).open_reader()
    bad_leads, rows, leads = 0, [], []
    try:
        view = archive_view(reader)
        issues = sorted({(r.day, r.issue_id) for r in view.stories.values()})
        for day_int, issue_id in issues:
            stories = sorted((r for r in view.stories.values() if r.issue_id == issue_id),
                             key=lambda r: r.first.story_index)
            # The issue's own structure says what is a listing: everything from "Upcoming Events" on, and the
            # CFP / jobs / quote sections wherever they are.
            events_at = next((r.first.story_index for r in stories if norm(r.first.headline) == "upcoming events"),
                             10**6)
            listing = {r.story_id for r in stories if r.first.story_index >= events_at
                       or BAD_SECTIONS.search(r.first.section or "") or BAD_SECTIONS.search(r.first.headline)}
            day = date(day_int // 10000, day_int // 100 % 100, day_int % 100)
            briefing = build_briefing(reader, since=day - timedelta(days=6), until=day, max_items=TOP)
            lead = briefing.items[0] if briefing.items else None
            bad = bool(lead and any(s.story_id in listing for s in lead.sources[:1]))
            top3_bad = sum(1 for i in briefing.items[:3] if i.sources[0].story_id in listing)
            bad_leads += bad
            leads.append({"date": day.isoformat(), "lead": lead.headline if lead else None, "bad": bad,
                          "bad_in_top3": top3_bad})
            rows.append([day.isoformat(), len(stories), lead.headline[:70] if lead else "-", bad, top3_bad])
    finally:
        reader.close()
    print(table("This Week in Rust: what leads each week's briefing", ["week", "stories", "lead item",
                                                                        "listing?", "listings in top 3"], rows))
    print(f"{len(rows)} briefings; {bad_leads} lead with an event, job, quote or call for participation")
    return {"briefings": len(rows), "bad_leads": bad_leads, "leads": leads, "met": bad_leads == 0}


@click.command()
@click.option("--twir-since", default="2025-06-01", show_default=True, help="This Week in Rust issues from this date.")
@click.option("--lwai-history-since", default="2023-01-01", show_default=True,
              help="Last Week in AI issues indexed from this date (weeks scored: 2024 on).")
@click.option("--skip-twir", is_flag=True, help="Only the Last Week in AI part.")
def main(twir_since: str, lwai_history_since: str, skip_twir: bool) -> None:
    embedder = Embedder.from_settings(Settings())
    result: dict[str, Any] = {"lwai": bench_lwai(embedder, date.fromisoformat(lwai_history_since))}
    if not skip_twir:
        print()
        result["twir"] = bench_twir(embedder, date.fromisoformat(twir_since))
    path = write_result("bench_briefing", {k: ({kk: vv for kk, vv in v.items() if kk not in ("per_week", "leads")}
                                               | {"detail": v.get("per_week") or v.get("leads")})
                                           for k, v in result.items()})
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
