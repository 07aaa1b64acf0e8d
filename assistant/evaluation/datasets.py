"""Benchmark loaders. Each turns a data set into dated documents (Issues of Stories, ingested like any
newsletter) and questions whose gold answers are story ids."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from assistant.errors import NewsdeskError
from assistant.records import Issue, SourceKind, Story
from assistant.sources.newsletter import parse_date
from assistant.sources.text import html_to_text, normalize_ws

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_BENCHMARKS = REPO.parent / "shared" / "data" / "benchmarks"
CORPUS_QA = REPO / "tests" / "data" / "corpus_qa.jsonl"
CORPUS_ISSUES = REPO / "corpus" / "issues"

MULTIHOP_NOTE = ("MultiHop-RAG here is NOT the paper's protocol: its article corpus is not available, so only the "
                 "gold facts of the 500 sampled queries are indexed (as dated documents) and a query scores when "
                 "one of its facts is retrieved; null queries (no evidence) are skipped.")
REALTIMEQA_NOTE = ("RealTime QA: every non-empty evidence paragraph (HTML stripped, deduplicated) is a document dated "
                   "by the first quiz that used it; each question's question_date is its as-of date.")


class DatasetError(NewsdeskError, ValueError):
    """A data set that cannot be loaded (missing folder, unreadable file)."""


@dataclass
class EvalQuestion:
    qid: str
    question: str
    gold: set[str]
    as_of: date | None = None
    # Questions of one group (a quiz week, an issue) always land in the same split.
    group: str = ""


@dataclass
class EvalSet:
    name: str
    issues: list[Issue]
    questions: list[EvalQuestion]
    note: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def documents(self) -> int:
        return sum(len(i.stories) for i in self.issues)


def _key(text: str) -> str:
    return hashlib.sha1(" ".join(text.lower().split()).encode()).hexdigest()[:16]


def _issue_for(name: str, day: date | None, source: str, issues: dict[str, Issue]) -> Issue:
    issue_id = f"{name}--{day.isoformat() if day else 'undated'}--{source.lower().replace(' ', '-')}"
    if issue_id not in issues:
        issues[issue_id] = Issue(issue_id=issue_id, title=f"{source} {day or ''}".strip(), date=day,
                                 source_name=source, path=name)
    return issues[issue_id]


def _add_story(issue: Issue, *, story_id: str, headline: str, body: str, url: str | None = None) -> None:
    issue.stories.append(Story(story_id=story_id, issue_id=issue.issue_id, issue_title=issue.title,
                               index=len(issue.stories), headline=headline, body=body, date=issue.date, url=url,
                               links=[url] if url else [], source_kind=SourceKind.NEWSLETTER,
                               source_name=issue.source_name))


def load_realtimeqa(root: Path | None = None) -> EvalSet:
    folder = (root or DEFAULT_BENCHMARKS) / "realtimeqa"
    files = sorted(folder.glob("*/*/*_qa.jsonl"))
    if not files:
        raise DatasetError(f"no RealTime QA files (*/YYYY/*_qa.jsonl) under {folder}")
    rows: list[dict[str, object]] = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    # Oldest first, so a passage reused by a later quiz keeps the date it was first published with.
    rows.sort(key=lambda r: (str(r.get("question_date", "")), str(r.get("question_id", ""))))
    issues: dict[str, Issue] = {}
    story_of: dict[str, str] = {}
    questions: list[EvalQuestion] = []
    seen_q: set[tuple[str, str]] = set()
    for row in rows:
        text = normalize_ws(html_to_text(str(row.get("evidence") or ""))).replace("\n", " ")
        qid, sentence = str(row.get("question_id")), str(row.get("question_sentence", ""))
        # 12 ids occur twice: 11 are the same question listed twice, one id names two different questions.
        if not text or (qid, sentence) in seen_q:
            continue
        seen_q.add((qid, sentence))
        day = parse_date(str(row.get("question_date", "")).replace("/", "-"))
        key = _key(text)
        if key not in story_of:
            issue = _issue_for("rtqa", day, str(row.get("question_source") or "RealTime QA"), issues)
            story_of[key] = f"rtqa#{key}"
            _add_story(issue, story_id=story_of[key], headline="", body=text)
        questions.append(EvalQuestion(qid=f"{qid}@{row.get('question_date')}", question=sentence,
                                      gold={story_of[key]}, as_of=day, group=str(row.get("question_date"))))
    return EvalSet(name="realtimeqa", issues=list(issues.values()), questions=questions, note=REALTIMEQA_NOTE)


def load_multihop(root: Path | None = None) -> EvalSet:
    folder = (root or DEFAULT_BENCHMARKS) / "multihop-rag-500"
    try:
        queries = json.loads((folder / "queries.json").read_text(encoding="utf-8"))["queries"]
        truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(f"cannot read MultiHop-RAG from {folder}: {exc}") from exc
    issues: dict[str, Issue] = {}
    story_of: dict[str, str] = {}
    # Index every fact first so the corpus does not depend on question order or --limit.
    for item in truth.values():
        for ev in item.get("evidence_list", []):
            fact = normalize_ws(str(ev.get("fact", ""))).replace("\n", " ")
            key = _key(fact)
            if not fact or key in story_of:
                continue
            day = parse_date(str(ev.get("published_at", ""))[:10])
            issue = _issue_for("multihop", day, str(ev.get("source") or "MultiHop-RAG"), issues)
            story_of[key] = f"mh#{key}"
            _add_story(issue, story_id=story_of[key], headline=str(ev.get("title", "")).strip(), body=fact,
                       url=str(ev.get("url") or "") or None)
    questions = []
    for q in queries:
        evidence = truth.get(str(q["id"]), {}).get("evidence_list", [])
        gold = {story_of[k] for k in (_key(normalize_ws(str(e.get("fact", ""))).replace("\n", " "))
                                      for e in evidence) if k in story_of}
        if gold:
            questions.append(EvalQuestion(qid=str(q["id"]), question=str(q["question"]), gold=gold,
                                          group=str(q["id"])))
    return EvalSet(name="multihop-rag", issues=list(issues.values()), questions=questions, note=MULTIHOP_NOTE)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def load_corpus_qa(path: Path | None = None, corpus: Path | None = None) -> EvalSet:
    """The hand-checked questions about the bundled corpus; gold = stories with the listed headlines (within
    the listed issue when one is given). Out-of-archive questions (no gold) are left out of the scores."""
    from assistant.ingest.issues import collect_files, parse_files

    path = path or CORPUS_QA
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read the QA file {path}: {exc}") from exc
    files, _ = collect_files([corpus or CORPUS_ISSUES])
    issues, _ = parse_files(files)
    by_headline: dict[str, list[Story]] = {}
    for issue in issues:
        for story in issue.stories:
            by_headline.setdefault(_norm(story.headline), []).append(story)
    questions = []
    for row in rows:
        if not row.get("gold_headlines"):
            continue
        gold: set[str] = set()
        for headline in row["gold_headlines"]:
            found = [s for s in by_headline.get(_norm(headline), [])
                     if not row.get("issue") or s.issue_id == row["issue"]]
            if not found:
                raise DatasetError(f"{path.name} {row.get('id')}: no story headed {headline!r} in the corpus")
            gold.update(s.story_id for s in found)
        as_of = parse_date(row["as_of"]) if row.get("as_of") else None
        questions.append(EvalQuestion(qid=str(row.get("id")), question=str(row["question"]), gold=gold,
                                      as_of=as_of, group=str(row.get("issue") or row.get("id"))))
    return EvalSet(name="corpus-qa", issues=issues, questions=questions,
                   note=f"hand-checked questions about the bundled corpus ({path.name})")


LOADERS = {"realtimeqa": load_realtimeqa, "multihop-rag": load_multihop, "corpus-qa": load_corpus_qa}


def load(name: str, *, root: Path | None = None) -> EvalSet:
    if name == "corpus-qa":
        return load_corpus_qa()
    if name.endswith(".jsonl"):
        return load_corpus_qa(Path(name))
    if name not in LOADERS:
        raise DatasetError(f"unknown data set {name!r}; choose one of {', '.join(LOADERS)} or a QA .jsonl file")
    return LOADERS[name](root)  # type: ignore[operator]
