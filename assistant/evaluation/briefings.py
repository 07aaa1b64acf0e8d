"""`newsdesk eval briefings`: briefings (assistant/briefing/) against the editors' own choices, the issue's "Done when".

1. **Last Week in AI, headings removed.** Every issue since 2024 with a "Top News" section is copied with every
   section heading removed (heading lines without a link: "### Top News", "### Other News", "#### Tools", ...;
   the stories' own linked headlines stay), the copies (from 2023 on, so novelty and "developing" have history)
   are ingested into a fresh index, and the briefing of each week (the 7 days ending on the issue's date) is
   built. Score: the share of the issue's Top News stories among the stories of the briefing's first 10 items.
   Beside it, the plain baseline: the window's newest stories (ties in issue order), first sentence each; and
   two ablations: position only, everything but position ("salience without position").
2. **This Week in Rust.** Its issues are ingested as published and each issue's week briefed; the lead item of
   every briefing must not be an event listing, a job post, a quote or a call for participation (told by the
   issue's own structure: anything from "Upcoming Events" on, "Jobs", "Quote of the Week", CFP sections).
3. **The five-newsletter week.** Weeks (7 days) in which Last Week in AI, This Week in Rust, LWKD, This Week In
   React and ML Papers of the Week each published exactly one issue; up to four such weeks spread over the span
   where their dates overlap. Only those weeks' issues of all five go into one index; each week's briefing
   (15 items) must give every newsletter's lead stories (its first two non-listing stories, in issue order) a
   place among its items.

Indexes are cached under /tmp/newsdesk-bench-brief (NEWSDESK_BENCH_BRIEF_CACHE) and rebuilt only when the files
or the parser change, so reruns take seconds.

    embedder = Embedder.from_settings(Settings())
    result = run_all(embedder, data_root=NEWSLETTERS)   # prints the tables, returns the numbers
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.briefing.brief import build_briefing, lead_sentences
from assistant.briefing.salience import SalienceWeights, listing_kind, mark_listing_runs
from assistant.briefing.window import archive_view, story_points, window_story_ids
from assistant.config import REPO_ROOT, Settings
from assistant.index.reader import open_reader
from assistant.index.store import IndexStore
from assistant.ingest.issues import collect_files, ingest_issues, ingest_paths, parse_files
from assistant.records import Filters, Issue
from assistant.sources.newsletter import date_from_filename, link_text, links_of

if TYPE_CHECKING:
    from assistant.embedding import Encoder

Emit = Callable[[str], None]

NEWSLETTERS = REPO_ROOT.parent / "shared" / "data" / "newsletters"
LWAI_FOLDER = "skynet-today-last-week-in-ai"
TWIR_FOLDER = "this-week-in-rust"
# The five newsletters of the five-newsletter week: label -> folder under NEWSLETTERS.
FIVE = {
    "Last Week in AI": LWAI_FOLDER,
    "This Week in Rust": TWIR_FOLDER,
    "LWKD": "lwkd",
    "This Week In React": "this-week-in-react",
    "ML Papers of the Week": "ml-papers-of-the-week",
}
HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
TOP = 10
TARGET = 0.8
FIVE_TOP = 15        # the five-newsletter week's briefing: 15 items
FIVE_LEADS = 2       # lead stories per newsletter and week
FIVE_WEEKS = 4       # weeks chosen, spread over the overlap
PARSER_FILES = ("sources/newsletter.py", "sources/mdx.py", "sources/archive_file.py", "ingest/chunking.py")
BAD_SECTIONS = re.compile(r"^(?:upcoming events|jobs|quote of the week)$|call for participation|^cfp\b|"
                          r"calls for testing", re.IGNORECASE)


def default_cache() -> Path:
    return Path(os.environ.get("NEWSDESK_BENCH_BRIEF_CACHE", "/tmp/newsdesk-bench-brief"))


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr)


def table(title: str, headers: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells[1:]]
    return lines


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


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


def _parser_hash() -> str:
    # The files and the parser that reads them: a parser change rebuilds the index.
    package = REPO_ROOT / "assistant"
    return hashlib.sha1(b"".join((package / p).read_bytes() for p in PARSER_FILES)).hexdigest()


def _cached(folder: Path, stamp: list[Any], build: Callable[[Settings], object], *, what: str,
            progress: Emit) -> Settings:
    settings = Settings(index_dir=folder / "index")  # type: ignore[call-arg]
    stamp_file = folder / "files.json"
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == stamp and IndexStore(settings).current():
        return settings
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    build(settings)
    stamp_file.write_text(json.dumps(stamp))
    progress(f"indexed {what} in {time.perf_counter() - start:.0f} s")
    return settings


def cached_index(folder: Path, files: list[Path], embedder: Encoder, *, progress: Emit = _stderr) -> Settings:
    """An index of these files, rebuilt only when the list, a file or the parser changed."""
    stamp = [[_parser_hash()]] + [[str(f), f.stat().st_size, f.stat().st_mtime_ns] for f in files]
    return _cached(folder, stamp, lambda s: ingest_paths(s, embedder, files), what=f"{len(files)} files",
                   progress=progress)


# ----------------------------------------------------------------------------- 1. Last Week in AI, no headings

def lwai_copies(data_root: Path, cache: Path, history_since: date
                ) -> tuple[list[Path], list[tuple[date, Path, list[str]]]]:
    out_dir = cache / "lwai-no-headings"
    out_dir.mkdir(parents=True, exist_ok=True)
    copies, weeks = [], []
    for path in sorted((data_root / LWAI_FOLDER).glob("*.md")):
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


def bench_lwai(embedder: Encoder, *, data_root: Path = NEWSLETTERS, cache: Path | None = None,
               history_since: date = date(2023, 1, 1), emit: Emit = print, progress: Emit = _stderr
               ) -> dict[str, Any]:
    cache = cache or default_cache()
    copies, weeks = lwai_copies(data_root, cache, history_since)
    settings = cached_index(cache / "lwai", copies, embedder, progress=progress)
    reader = open_reader(IndexStore(settings))
    rows: list[list[Any]] = []
    per_week: list[dict[str, Any]] = []
    variants = {"briefing": None, "position only": SalienceWeights(prominence=0, breadth=0, novelty=0, routine=0),
                "no position": SalienceWeights(position=0)}
    sums = {k: 0.0 for k in [*variants, "baseline (newest)"]}
    timings: list[float] = []
    lead = ""
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
        stories = len(view.stories)
    finally:
        reader.close()
    for line in table(f"Last Week in AI weeks with Top News, section headings removed: recall of Top News in the "
                      f"first {TOP} items", ["week", "top", "stories", "briefing", "baseline", "lead item"], rows):
        emit(line)
    means = {k: v / len(weeks) for k, v in sums.items()} if weeks else dict.fromkeys(sums, 0.0)
    below = {k: sum(1 for w in per_week if w[k] < TARGET) for k in sums}
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))] if timings else float("nan")
    emit("")
    names = {"briefing": "briefing", "baseline (newest)": "baseline: newest stories, first sentence each",
             "position only": "position only", "no position": "salience without position"}
    for line in table("Mean recall over weeks", ["ranking", "recall", f"weeks below {TARGET}"],
                      [[names[k], means[k], below[k]] for k in names]):
        emit(line)
    emit(f"{len(weeks)} weeks; {below['briefing']} below {TARGET}; briefing p95 {p95 * 1000:.0f} ms "
         f"({stories} stories in the index)")
    return {"weeks": len(weeks), "mean_recall": means, "weeks_below_target": below["briefing"],
            "per_week": per_week, "p95_ms": round(p95 * 1000, 1), "met": bool(weeks) and means["briefing"] >= TARGET}


# ----------------------------------------------------------------------------- 2. This Week in Rust

def bench_twir(embedder: Encoder, *, data_root: Path = NEWSLETTERS, cache: Path | None = None,
               since: date = date(2025, 6, 1), emit: Emit = print, progress: Emit = _stderr) -> dict[str, Any]:
    cache = cache or default_cache()
    files = sorted(p for p in (data_root / TWIR_FOLDER).glob("*.md") if (d := date_from_filename(p.name))
                   and d >= since)
    settings = cached_index(cache / "twir", files, embedder, progress=progress)
    reader = open_reader(IndexStore(settings))
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
    for line in table("This Week in Rust: what leads each week's briefing",
                      ["week", "stories", "lead item", "listing?", "listings in top 3"], rows):
        emit(line)
    emit(f"{len(rows)} briefings; {bad_leads} lead with an event, job, quote or call for participation")
    return {"briefings": len(rows), "bad_leads": bad_leads, "leads": leads, "met": bad_leads == 0}


# ----------------------------------------------------------------------------- 3. the five-newsletter week

def five_issues(data_root: Path = NEWSLETTERS, *, since: date | None = None, until: date | None = None
                ) -> dict[str, list[Issue]]:
    """Every dated issue of the five newsletters (inside since..until), by label."""
    out: dict[str, list[Issue]] = {}
    for label, folder in FIVE.items():
        files, _ = collect_files([data_root / folder])
        issues, _ = parse_files(files)
        out[label] = sorted((i for i in issues if i.date and (since is None or i.date >= since)
                             and (until is None or i.date <= until)), key=lambda i: (i.date, i.issue_id))
    return out


def overlap_weeks(issues: dict[str, list[Issue]], *, count: int = FIVE_WEEKS) -> list[date]:
    """Up to `count` weeks (given by their last day) in which each newsletter published exactly one issue,
    spread evenly over the span where their dates overlap, no two sharing a day."""
    dated = {label: [i.date for i in found if i.date] for label, found in issues.items()}
    if not dated or not all(dated.values()):
        return []
    first = max(min(days) for days in dated.values())
    last = min(max(days) for days in dated.values())
    candidates = []
    for k in range((last - first).days + 7):
        end = first + timedelta(days=k)
        if all(sum(1 for d in days if end - timedelta(days=6) <= d <= end) == 1 for days in dated.values()):
            candidates.append(end)
    if not candidates:
        return []
    picks: list[date] = []
    steps = max(1, count - 1)
    for n in range(count):
        end = candidates[round(n * (len(candidates) - 1) / steps)]
        if all(abs((end - p).days) >= 7 for p in picks):
            picks.append(end)
    return picks


def week_issues(issues: dict[str, list[Issue]], end: date) -> dict[str, Issue]:
    return {label: next(i for i in found if i.date and end - timedelta(days=6) <= i.date <= end)
            for label, found in issues.items()}


def bench_five(embedder: Encoder, *, data_root: Path = NEWSLETTERS, cache: Path | None = None,
               weeks: list[date] | None = None, count: int = FIVE_WEEKS, max_items: int = FIVE_TOP,
               emit: Emit = print, progress: Emit = _stderr) -> dict[str, Any]:
    """The five-newsletter weeks: each newsletter's lead stories among the week briefing's first items."""
    cache = cache or default_cache()
    everything = five_issues(data_root)
    ends = weeks or overlap_weeks(everything, count=count)
    chosen = {end: week_issues(everything, end) for end in ends}
    newsletter_of = {issue.issue_id: label for per in chosen.values() for label, issue in per.items()}
    selected = [issue for per in chosen.values() for issue in per.values()]
    digest = hashlib.sha1("\n".join(f"{i.issue_id}|{s.headline}|{len(s.body)}" for i in selected
                                    for s in i.stories).encode()).hexdigest()
    stamp = [[_parser_hash()], [e.isoformat() for e in ends], [digest]]
    settings = _cached(cache / "five", stamp, lambda s: ingest_issues(s, embedder, selected, fresh=True),
                       what=f"{len(selected)} issues of five newsletters", progress=progress)
    reader = open_reader(IndexStore(settings))
    found = {label: 0 for label in FIVE}
    wanted = {label: 0 for label in FIVE}
    first_found = {label: 0 for label in FIVE}
    rows: list[list[Any]] = []
    detail: list[dict[str, Any]] = []
    try:
        view = archive_view(reader)
        for end in ends:
            since = end - timedelta(days=6)
            briefing = build_briefing(reader, since=since, until=end, max_items=max_items)
            placed = {s.story_id: item.rank for item in briefing.items for s in item.sources}
            points = story_points(reader, view, window_story_ids(reader, view, Filters(since=since, until=end)))
            kinds = {p.story_id: listing_kind(p) for p in points}
            mark_listing_runs(points, kinds)
            week: dict[str, Any] = {"week": f"{since.isoformat()}..{end.isoformat()}", "newsletters": {}}
            for issue_id, label in newsletter_of.items():
                own = sorted((p for p in points if p.issue_id == issue_id), key=lambda p: p.position)
                if not own:
                    continue
                leads = [p for p in own if not kinds.get(p.story_id)][:FIVE_LEADS]
                ranks = [placed.get(p.story_id) for p in leads]
                wanted[label] += len(leads)
                found[label] += sum(1 for r in ranks if r)
                first_found[label] += bool(ranks and ranks[0])
                week["newsletters"][label] = {"issue": issue_id, "stories": len(own),
                                              "leads": [p.headline for p in leads], "ranks": ranks}
                rows.append([end.isoformat(), label, len(own), " / ".join(str(r or "-") for r in ranks),
                             (leads[0].headline if leads else "-")[:60]])
            week["items"] = [f"{i.sources[0].source}: {i.headline}" for i in briefing.items]
            detail.append(week)
    finally:
        reader.close()
    for line in table(f"Five-newsletter weeks: each newsletter's first {FIVE_LEADS} non-listing stories, their "
                      f"rank in the week's briefing ({max_items} items; - = not in it)",
                      ["week ending", "newsletter", "stories", "ranks", "first lead"], rows):
        emit(line)
    emit("")
    share = {label: (found[label] / wanted[label] if wanted[label] else 0.0) for label in FIVE}
    overall = sum(found.values()) / sum(wanted.values()) if sum(wanted.values()) else 0.0
    summary = [[label, share[label], f"{first_found[label]}/{len(ends)}"] for label in FIVE]
    summary.append(["overall", overall, f"{sum(first_found.values())}/{len(ends) * len(FIVE)}"])
    for line in table(f"Share of lead stories in the first {max_items} items, over {len(ends)} weeks",
                      ["newsletter", "lead stories placed", "weeks with the first lead placed"], summary):
        emit(line)
    met = bool(ends) and all(first_found[label] == len(ends) for label in FIVE)
    emit(f"{len(ends)} weeks ({', '.join(e.isoformat() for e in ends)}); every newsletter's first lead in the "
         f"first {max_items}: {'yes' if met else 'NO'}")
    return {"weeks": [e.isoformat() for e in ends], "share": share, "overall": overall,
            "first_lead_placed": first_found, "met": met, "per_week": detail}


def run_all(embedder: Encoder, *, data_root: Path = NEWSLETTERS, cache: Path | None = None,
            twir_since: date = date(2025, 6, 1), lwai_history_since: date = date(2023, 1, 1),
            parts: tuple[str, ...] = ("lwai", "twir", "five"), emit: Emit = print,
            progress: Emit = _stderr) -> dict[str, Any]:
    """The three parts, printed one after the other; returns {part: numbers}."""
    result: dict[str, Any] = {}
    if "lwai" in parts:
        result["lwai"] = bench_lwai(embedder, data_root=data_root, cache=cache, history_since=lwai_history_since,
                                    emit=emit, progress=progress)
    if "twir" in parts:
        if result:
            emit("")
        result["twir"] = bench_twir(embedder, data_root=data_root, cache=cache, since=twir_since, emit=emit,
                                    progress=progress)
    if "five" in parts:
        if result:
            emit("")
        result["five"] = bench_five(embedder, data_root=data_root, cache=cache, emit=emit, progress=progress)
    return result


def summary_json(result: dict[str, Any]) -> dict[str, Any]:
    """The numbers without the per-week detail (the detail under "detail")."""
    return {k: ({kk: vv for kk, vv in v.items() if kk not in ("per_week", "leads")}
                | {"detail": v.get("per_week") or v.get("leads")}) for k, v in result.items()}
