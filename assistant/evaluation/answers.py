"""`newsdesk eval answers`: the answer suite over six newsletters of different styles, scored per newsletter.

The suite (tests/data/answers/<newsletter>.jsonl) was written from the issues before any score was seen and
checked against the files (each line keeps the grep that verified it). Every newsletter gets its own index, as a
newsletter team would have; the questions of one newsletter are asked of its index only.

    suite = load_suite(REPO_ROOT / "tests" / "data" / "answers")
    desks = prepare_desks(suite, settings=settings, data_root=..., cache_dir=...)
    outcomes = run_suite(suite, desks)
    report = score_outcomes(outcomes)
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.config import REPO_ROOT
from assistant.evaluation.datasets import DatasetError

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.pipeline import Newsdesk

# The suite's newsletter -> its folder under ../shared/data/newsletters.
FOLDERS = {
    "clustermind": "clustermind",
    "last-week-in-ai": "skynet-today-last-week-in-ai",
    "this-week-in-rust": "this-week-in-rust",
    "ml-papers-of-the-week": "ml-papers-of-the-week",
    "lwkd": "lwkd",
    "this-week-in-react": "this-week-in-react",
}
KINDS = ("fact", "first_coverage", "every_issue", "count", "date_filtered", "evolution", "unanswerable_near",
         "unanswerable_far")
UNANSWERABLE = ("unanswerable_near", "unanswerable_far")
# Answer questions as of the day after the newest issue of their newsletter: "last week" means then, not today.
AS_OF_PAD_DAYS = 1


@dataclass
class Gold:
    issue_file: str
    issue_date: str | None
    headline: str


@dataclass
class SuiteQuestion:
    qid: str
    newsletter: str
    kind: str
    question: str
    gold: list[Gold]
    answer: str = ""
    term: str = ""
    count: int | None = None
    window: dict[str, str] | None = None
    as_of: date | None = None  # the day the question is asked, when it says "last week" (bundled sets)

    @property
    def answerable(self) -> bool:
        return self.kind not in UNANSWERABLE


def load_suite(path: Path, *, newsletters: Iterable[str] | None = None) -> list[SuiteQuestion]:
    """A suite file (.jsonl) or a folder of them; one clear line for a bad line."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files or not all(f.is_file() for f in files):
        raise DatasetError(f"no answer suite at {path} (expected a .jsonl file or a folder of them)")
    wanted = set(newsletters or ())
    out: list[SuiteQuestion] = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                q = SuiteQuestion(qid=str(row["id"]), newsletter=str(row["newsletter"]), kind=str(row["kind"]),
                                  question=str(row["question"]),
                                  gold=[Gold(str(g["issue_file"]), g.get("issue_date"), str(g["headline"]))
                                        for g in row.get("gold") or []],
                                  answer=str(row.get("answer") or ""), term=str(row.get("term") or ""),
                                  count=row.get("count"), window=row.get("window"))
            except (ValueError, KeyError, TypeError) as exc:
                raise DatasetError(f"{f.name} line {n}: not a suite question ({exc})") from exc
            if q.kind not in KINDS:
                raise DatasetError(f"{f.name} line {n}: unknown kind {q.kind!r}")
            if not wanted or q.newsletter in wanted:
                out.append(q)
    return out


BUNDLED = "bundled"


def load_bundled(repo_root: Path) -> list[SuiteQuestion]:
    """The bundled corpus's question sets (tests/data: in_archive, corpus_qa, out_of_archive, heldout) as a
    seventh group, asked of corpus/issues: more unanswerable questions for calibration than the suite holds."""
    data = repo_root / "tests" / "data"
    out: list[SuiteQuestion] = []

    def add(question: str, answerable: bool, headlines: list[str], as_of: str | None = None) -> None:
        gold = [Gold(issue_file="", issue_date=None, headline=h) for h in headlines]
        out.append(SuiteQuestion(qid=f"{BUNDLED}-{len(out) + 1:03d}", newsletter=BUNDLED,
                                 kind="fact" if answerable else "unanswerable_near", question=question, gold=gold,
                                 as_of=date.fromisoformat(as_of) if as_of else None))

    for name in ("in_archive.jsonl", "corpus_qa.jsonl", "heldout_questions.jsonl"):
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                add(row["question"], bool(row.get("in_archive", True)), row.get("gold_headlines") or row.get("gold")
                    or [], row.get("as_of"))
    for line in (data / "out_of_archive.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            add(line.strip(), False, [])
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def cites_gold(issue_id: str, cited_date: str | None, gold: Gold) -> bool:
    """Whether a citation's issue is the gold story's issue: by file (issue ids end with the file's slug) or, for
    archives of many issues in one file, by the issue's date."""
    if not gold.issue_file:
        return False
    stem = Path(gold.issue_file).stem
    if issue_id.endswith("--" + _slug(stem)) or issue_id == _slug(stem):
        return True
    return bool(gold.issue_date) and (issue_id.endswith(str(gold.issue_date)) or
                                      (gold.issue_file.lower() == "readme.md" and cited_date == gold.issue_date))


def prepare_desks(questions: list[SuiteQuestion], *, settings: Settings, data_root: Path, cache_dir: Path,
                  progress: Callable[[str], None] | None = None) -> dict[str, Newsdesk]:
    """One index per newsletter of the suite, built once under cache_dir and brought up to date incrementally."""
    from assistant.pipeline import Newsdesk

    desks: dict[str, Newsdesk] = {}
    shared_embedder = None
    for name in sorted({q.newsletter for q in questions}):
        folder = REPO_ROOT / "corpus" / "issues" if name == BUNDLED else data_root / FOLDERS.get(name, name)
        if not folder.is_dir():
            raise DatasetError(f"newsletter folder {folder} is missing (set --data-dir)")
        index_dir = cache_dir / name
        desk = Newsdesk(settings.model_copy(update={"index_dir": index_dir,
                                                    "feedback_file": index_dir / "feedback.jsonl"}))
        if shared_embedder is not None:
            desk.__dict__["embedder"] = shared_embedder  # one model in memory for all six
        shared_embedder = desk.embedder
        if desk.store.current() is None:
            if progress:
                progress(f"indexing {name} (once) from {folder}")
            desk.ingest([folder])
        desks[name] = desk
    return desks


@dataclass
class Outcome:
    qid: str
    newsletter: str
    kind: str
    routed: str
    answered: bool
    citations: list[dict[str, Any]]
    latency_ms: float
    gold: list[Gold]
    count: int | None
    window: dict[str, str] | None
    answer: str = ""
    features: dict[str, Any] = field(default_factory=dict)


def newest_date(desk: Newsdesk) -> date | None:
    reader = desk.readers.get()
    info = desk.retriever.archive(reader)
    return info.calendar.latest


def run_suite(questions: list[SuiteQuestion], desks: dict[str, Newsdesk],
              progress: Callable[[int, int], None] | None = None) -> list[Outcome]:
    from datetime import timedelta

    as_of = {name: (d + timedelta(days=AS_OF_PAD_DAYS)) if (d := newest_date(desk)) else None
             for name, desk in desks.items()}
    outcomes: list[Outcome] = []
    for n, q in enumerate(questions, 1):
        desk = desks[q.newsletter]
        start = time.perf_counter()
        answer = desk.ask(q.question, as_of=q.as_of or as_of[q.newsletter])
        elapsed = (time.perf_counter() - start) * 1000
        outcomes.append(Outcome(
            qid=q.qid, newsletter=q.newsletter, kind=q.kind, routed=answer.kind, answered=not answer.refused,
            citations=[{"issue_id": c.issue_id, "date": c.date, "headline": c.headline, "supported": c.supported}
                       for c in answer.citations],
            latency_ms=elapsed, gold=q.gold, count=q.count, window=q.window, answer=answer.answer,
            features=dict(answer.gate or {})))
        if progress:
            progress(n, len(questions))
    return outcomes


def _rate(hits: list[bool]) -> float | None:
    return round(sum(hits) / len(hits), 3) if hits else None


def score_outcomes(outcomes: list[Outcome]) -> dict[str, dict[str, Any]]:
    """Per newsletter (and "all"): the measures of issue #11's table."""
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.newsletter, []).append(o)
    groups["all"] = list(outcomes)
    return {name: _score(group) for name, group in groups.items()}


def _score(group: list[Outcome]) -> dict[str, Any]:
    answerable = [o.answered for o in group if o.kind not in UNANSWERABLE]
    # A question with no gold story (the bundled held-out set names none) says nothing about which is cited.
    fact_gold = [o.answered and any(_cites(c, g) for c in o.citations for g in o.gold)
                 for o in group if o.kind == "fact" and o.gold]
    near = [not o.answered for o in group if o.kind == "unanswerable_near"]
    far = [not o.answered for o in group if o.kind == "unanswerable_far"]
    first = [o.answered and bool(o.citations) and bool(o.gold) and o.routed == "first_coverage" and
             cites_gold(o.citations[0]["issue_id"], o.citations[0]["date"], o.gold[0])
             for o in group if o.kind == "first_coverage"]
    recall: list[float] = []
    precision: list[float] = []
    for o in group:
        if o.kind != "every_issue":
            continue
        found = [g for g in o.gold if any(cites_gold(c["issue_id"], c["date"], g) for c in o.citations)]
        recall.append(len(found) / len(o.gold) if o.gold else 0.0)
        right = [c for c in o.citations if any(cites_gold(c["issue_id"], c["date"], g) for g in o.gold)]
        precision.append(len(right) / len(o.citations) if o.citations else 0.0)
    counts = [o.answered and o.count is not None and _stated_count(o.answer) == o.count
              for o in group if o.kind == "count"]
    in_window = [o.answered and bool(o.citations) and all(_inside(c["date"], o.window) for c in o.citations)
                 for o in group if o.kind == "date_filtered"]
    evolution = [o.answered and len(o.citations) >= 3 and
                 [c["date"] or "" for c in o.citations] == sorted(c["date"] or "" for c in o.citations)
                 for o in group if o.kind == "evolution"]
    cited = [c["supported"] for o in group if o.answered for c in o.citations]
    lat = sorted(o.latency_ms for o in group)
    return {
        "questions": len(group),
        "answered_when_answerable": _rate(answerable),
        "fact_gold_cited": _rate(fact_gold),
        "refused_near": _rate(near),
        "refused_far": _rate(far),
        "first_coverage_exact": _rate(first),
        "every_issue_recall": round(sum(recall) / len(recall), 3) if recall else None,
        "every_issue_precision": round(sum(precision) / len(precision), 3) if precision else None,
        "count_exact": _rate(counts),
        "date_filtered_in_window": _rate(in_window),
        "evolution_dated_timeline": _rate(evolution),
        "citation_precision_verifier": _rate(cited),
        "latency_ms_p50": round(lat[len(lat) // 2], 1) if lat else None,
    }


def _cites(citation: dict[str, Any], gold: Gold) -> bool:
    if gold.issue_file:
        return cites_gold(citation["issue_id"], citation["date"], gold)
    return gold.headline.lower()[:60] in (citation.get("headline") or "").lower()  # bundled sets: by headline


_COUNT_RE = re.compile(r"came up in (\d+) issues?")


def _stated_count(text: str) -> int | None:
    m = _COUNT_RE.search(text)
    return int(m.group(1)) if m else None


def _inside(day: str | None, window: dict[str, str] | None) -> bool:
    if not window or not day:
        return False
    return window.get("since", "") <= day <= window.get("until", "9999-12-31")


def outcomes_to_json(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    return [asdict(o) for o in outcomes]


MEASURES = ("answered_when_answerable", "fact_gold_cited", "refused_near", "refused_far", "first_coverage_exact",
            "every_issue_recall", "every_issue_precision", "count_exact", "date_filtered_in_window",
            "evolution_dated_timeline", "citation_precision_verifier")


def report_table(scores: dict[str, dict[str, Any]]) -> list[str]:
    names = [n for n in scores if n != "all"] + ["all"]
    width = max(len(m) for m in MEASURES)
    lines = [" " * width + "  " + "  ".join(f"{n[:12]:>12}" for n in names)]
    for m in (*MEASURES, "questions", "latency_ms_p50"):
        cells = []
        for n in names:
            v = scores[n].get(m)
            cells.append(f"{'-' if v is None else v:>12}")
        lines.append(f"{m:<{width}}  " + "  ".join(cells))
    return lines
