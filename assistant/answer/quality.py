"""Answer quality on the bundled corpus: refusal rates and citation precision against a hand-checked key.

Shared by tests/answer/test_quality.py (thresholds) and benchmarks/answer_quality.py (calibration tables).

The key (tests/data/citation_key.jsonl) holds one line per (sentence, cited story) pair that Newsdesk has
produced, judged by a person reading the cited story: {"sentence", "headline", "supported": bool, "note"}.
"Supported" means the cited story states what the sentence says (not merely that the words occur in it).
Pairs the key does not hold yet are reported as unkeyed: a changed answerer must be re-keyed, never guessed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from assistant.answer.verify import split_claims
from assistant.records import Answer

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass
class QAItem:
    question: str
    in_archive: bool
    as_of: date | None = None
    origin: str = ""


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def qa_items(data: Path = DATA) -> list[QAItem]:
    """This issue's in-archive list plus the retrieval QA set (corpus_qa.jsonl, issue 4) when present; the
    latter marks its own out-of-archive questions with "in_archive": false and time questions with "as_of"."""
    out: list[QAItem] = []
    seen: set[str] = set()
    for name in ("in_archive.jsonl", "corpus_qa.jsonl"):
        for row in _jsonl(data / name):
            q = str(row.get("question", "")).strip()
            if not q or q in seen:
                continue
            seen.add(q)
            as_of = date.fromisoformat(row["as_of"]) if row.get("as_of") else None
            out.append(QAItem(question=q, in_archive=row.get("in_archive", True) is not False, as_of=as_of,
                              origin=name))
    for q in out_of_archive_questions(data):
        if q not in seen:
            out.append(QAItem(question=q, in_archive=False, origin="out_of_archive.txt"))
    return out


def in_archive_questions(data: Path = DATA) -> list[QAItem]:
    return [item for item in qa_items(data) if item.in_archive]


def out_of_archive_questions(data: Path = DATA) -> list[str]:
    return [line.strip() for line in (data / "out_of_archive.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def heldout_questions(data: Path = DATA) -> list[QAItem]:
    return [QAItem(question=r["question"], in_archive=bool(r["in_archive"]), origin="heldout_questions.jsonl")
            for r in _jsonl(data / "heldout_questions.jsonl")]


@dataclass
class CitedSentence:
    question: str
    sentence: str
    headline: str


def cited_sentences(question: str, answer: Answer) -> list[CitedSentence]:
    """Every (sentence, cited story) pair of an answer."""
    by_n = {c.n: c.headline for c in answer.citations}
    out = []
    for claim in split_claims(answer.answer):
        for n in claim.cites:
            out.append(CitedSentence(question=question, sentence=claim.text, headline=by_n.get(n, f"[{n}] missing")))
    return out


@dataclass
class CitationKey:
    entries: dict[tuple[str, str], bool] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = DATA / "citation_key.jsonl") -> CitationKey:
        key = cls()
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    key.entries[(_norm(row["sentence"]), _norm(row["headline"]))] = bool(row["supported"])
        return key

    def judge(self, pair: CitedSentence) -> bool | None:
        return self.entries.get((_norm(pair.sentence), _norm(pair.headline)))


@dataclass
class Precision:
    supported: int
    unsupported: int
    unkeyed: list[CitedSentence]

    @property
    def judged(self) -> int:
        return self.supported + self.unsupported

    @property
    def value(self) -> float:
        """Unkeyed pairs count against precision: an unchecked citation is not a verified one."""
        total = self.judged + len(self.unkeyed)
        return self.supported / total if total else 1.0


def citation_precision(pairs: list[CitedSentence], key: CitationKey) -> Precision:
    supported = unsupported = 0
    unkeyed: list[CitedSentence] = []
    for pair in pairs:
        verdict = key.judge(pair)
        if verdict is None:
            unkeyed.append(pair)
        elif verdict:
            supported += 1
        else:
            unsupported += 1
    return Precision(supported=supported, unsupported=unsupported, unkeyed=unkeyed)
