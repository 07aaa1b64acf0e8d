"""Checks that keep answers honest, in both answer modes.

- `Verifier`: every answer sentence and its `[n]` is checked against passage n: semantic similarity (MiniLM,
  the sentence against the passage's sentences and adjacent pairs of them) plus agreement of the numbers and
  names it contains. A verbatim quote is supported by definition. Citations to sources that do not exist are
  removed; an uncited sentence may be matched to the passage that supports it; everything else is unsupported.
- `assemble`: the checked sentences -> an Answer: unsupported sentences dropped (or flagged), citations
  renumbered in order of first use, and only sources that a kept sentence cites are listed.
The gate that decides whether to answer at all lives in gate.py.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from assistant.embedding import Encoder
from assistant.records import Answer, Citation, ScoredChunk
from assistant.sources.text import split_sentences
from assistant.terms import (
    CITATION_RE,
    STOPWORDS,
    names_in,
    numbers_in,
    strip_citations,
    term_set,
    tokens,
)
from assistant.terms import (
    stem as _stem,
)

REFUSAL = "The archive does not cover this."
MIN_CLAIM_WORDS = 3

# "[1]", "[1, 3]", "[1][2]", "[source 2]": the citation forms models actually write.
_NUM_IN_CITE_RE = re.compile(r"\d{1,3}")
# Sentences that say the sources do not answer: the honest outcome the prompt asks for, not a claim to check.
NO_ANSWER_RE = re.compile(
    r"\b(?:sources?|archive|passages?|documents?|context|provided (?:text|information)|newsletters?)\b[^.]{0,80}?"
    r"\b(?:do(?:es)?n['’]?t|do(?:es)? not|never|no)\b[^.]{0,40}?"
    r"\b(?:mention|answer|cover|contain|say|provide|include|discuss|address|information|details?)"
    r"|\bI (?:do not|don['’]t|cannot|can['’]t) (?:know|find|answer)\b"
    r"|\bnot (?:mentioned|covered|answered|discussed) (?:in|by) the (?:sources?|archive|passages?)\b",
    re.I,
)

# Text in a source that talks to the model instead of reporting news: removed from what the model reads and from
# what a sentence can be verified against, so an obeyed injection has nothing to be "supported" by.
INSTRUCTION_RE = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,40}?\b(?:previous|prior|above|earlier|all|any|your)\b"
    r"[^.!?\n]{0,30}?\b(?:instructions?|prompts?|rules|directions|guidelines)\b"
    r"|\b(?:new instructions|you are now|from now on,? you|(?:reply|respond|answer|output|say) only (?:with|in)\b)"
    r"|\b(?:note|message|instructions?)s? (?:to|for) (?:the |any |all )?(?:AI |language )?"
    r"(?:AI|assistants?|models?|LLMs?|chatbots?)\s*[:,]"
    r"|\b(?:AI|assistants?|language models?|LLMs?|chatbots?) (?:reading|processing|summari[sz]ing) this\b",
    re.I)
INSTRUCTION_REMOVED = "[instruction-like text removed]"




class VerifyPolicy(str, Enum):
    DROP = "drop"
    FLAG = "flag"


@dataclass
class Claim:
    """One answer sentence: its text without citation markers and the source numbers it cites."""

    text: str
    cites: list[int] = field(default_factory=list)
    paragraph: int = 0
    label: str = ""  # shown before the first sentence of a paragraph (a date in a timeline); not a claim


@dataclass
class Passage:
    """Source n as the answer saw it: its text plus the metadata a sentence may name (issue, source, date)."""

    n: int
    text: str
    meta: str = ""


@dataclass
class Check:
    claim: Claim
    supported: bool
    cites: list[int]
    similarity: float = 0.0
    reason: str = ""
    no_answer: bool = False


def cited_numbers(text: str) -> list[int]:
    out: list[int] = []
    for match in CITATION_RE.finditer(text):
        for num in _NUM_IN_CITE_RE.findall(match.group(1)):
            if int(num) not in out:
                out.append(int(num))
    return out


def split_claims(text: str) -> list[Claim]:
    """An answer's text -> its sentences with their citations. Citation-only fragments ("[2]" after a full
    stop) belong to the sentence before them; blank lines start a new paragraph; a paragraph's leading date
    label ("2026-03-16: ", a timeline) is kept apart from the sentence."""
    claims: list[Claim] = []
    for p_index, para in enumerate(re.split(r"\n\s*\n", text.strip())):
        # "... sued. [2] It said ..." : punkt does not always see a sentence end before a citation group.
        para = _AFTER_CITE_RE.sub(lambda m: m.group(1) + m.group(2) + "\n", para)
        pieces: list[str] = []
        for line in para.split("\n"):
            line = line.strip().lstrip("-*• ").strip()
            if line:
                for sentence in split_sentences(line):
                    # punkt ends a sentence at "A.I." or "U.S." it does not know; such a piece goes on.
                    if pieces and ABBREV_END_RE.search(pieces[-1]) and not cited_numbers(pieces[-1]):
                        pieces[-1] += " " + sentence
                    else:
                        pieces.append(sentence)
        for piece in pieces:
            body = strip_citations(piece)
            cites = cited_numbers(piece)
            if not re.search(r"[A-Za-z0-9]", body):
                if claims and cites:
                    claims[-1].cites.extend(n for n in cites if n not in claims[-1].cites)
                continue
            # A sentence that opens with a citation ("[1] Apple ...") usually closes the one before it.
            lead = re.match(r"^(\s*(?:" + CITATION_RE.pattern + r")\s*)+", piece, re.I)
            if lead and claims and claims[-1].paragraph == p_index:
                moved = cited_numbers(lead.group(0))
                claims[-1].cites.extend(n for n in moved if n not in claims[-1].cites)
                cites = cited_numbers(piece[lead.end():])
            label = ""
            dated = _LABEL_RE.match(body)
            if dated and not any(c.paragraph == p_index for c in claims):
                label, body = dated.group(1), body[dated.end():]
            claims.append(Claim(text=body, cites=cites, paragraph=p_index, label=label))
    return claims


ABBREV_END_RE = re.compile(r"(?:^|\s)(?:[A-Za-z]\.){2,}$")
_LABEL_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}): ")
_AFTER_CITE_RE = re.compile(r"([.!?…][\"”’)]?\s*)((?:\[\s*(?:sources?\s*)?\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\])+)[ \t]+"
                            r"(?=[A-Z0-9\"“‘(])", re.I)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w%$.]+", " ", text.lower()).split())


class Verifier:
    """Checks claims against numbered passages. Thread-safe for reads; caches passage-unit embeddings."""

    def __init__(self, *, embedder: Encoder, min_similarity: float = 0.55,
                 policy: VerifyPolicy = VerifyPolicy.DROP, repair_uncited: bool = True,
                 cache_size: int = 512) -> None:
        if not -1.0 <= min_similarity <= 1.0:
            raise ValueError("min_similarity must be within [-1, 1]")
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.policy = policy
        self.repair_uncited = repair_uncited
        self._units: OrderedDict[str, tuple[list[str], np.ndarray]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _passage_units(self, passage: Passage) -> tuple[list[str], np.ndarray]:
        with self._lock:  # shared by the web app's concurrent sessions
            cached = self._units.get(passage.text)
            if cached is not None:
                self._units.move_to_end(passage.text)
                return cached
        sentences = [s for s in split_sentences(passage.text) if re.search(r"[A-Za-z]", s)]
        # Pairs too: a model often fuses two adjacent sentences into one.
        units = sentences + [f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False)]
        vecs = self.embedder.encode(units) if units else np.zeros((0, 1), dtype=np.float32)
        with self._lock:
            self._units[passage.text] = (units, vecs)
            if len(self._units) > self._cache_size:
                self._units.popitem(last=False)
        return units, vecs

    def similarity(self, text: str, passages: Sequence[Passage], vector: np.ndarray | None = None) -> float:
        target = _norm(text)
        if any(target and target in _norm(p.text) for p in passages):
            return 1.0  # a verbatim quote
        best = -1.0
        for passage in passages:
            _, vecs = self._passage_units(passage)
            if len(vecs):
                if vector is None:
                    vector = self.embedder.encode_one(text)
                best = max(best, float((vecs @ vector).max()))
        return best

    def _agreement(self, text: str, passages: Sequence[Passage]) -> str:
        """'' when every number and name of the sentence occurs in the passages, else what is missing."""
        body = " ".join(f"{p.text}\n{p.meta}" for p in passages)
        missing_numbers = sorted(numbers_in(text) - numbers_in(body))
        words = term_set(body)
        missing_names = sorted(n for n in names_in(text) if n not in words and _stem(n) not in words)
        parts = []
        if missing_numbers:
            parts.append("numbers not in the source: " + ", ".join(missing_numbers))
        if missing_names:
            parts.append("names not in the source: " + ", ".join(missing_names))
        return "; ".join(parts)

    def check(self, claim: Claim, passages: dict[int, Passage], *, question: str = "") -> Check:
        if NO_ANSWER_RE.search(claim.text):
            return Check(claim=claim, supported=True, cites=[], similarity=0.0, reason="says the sources do not "
                         "answer", no_answer=True)
        if len(re.findall(r"[A-Za-z0-9]+", claim.text)) < MIN_CLAIM_WORDS:
            # "PWNED.", "Yes [1]": too little to check against anything, so too little to vouch for.
            return Check(claim=claim, supported=False, cites=[], reason="too short to verify")
        if question and _echoes(claim.text, question):
            # "The company that will supply HBM4 for AMD's MI455X is AMD": every word comes from the question, so
            # a passage that matches it matches the question, not an answer. Nothing new is claimed to check.
            return Check(claim=claim, supported=False, cites=[], reason="only repeats the question")
        valid = [n for n in claim.cites if n in passages]
        notes = [f"cites missing source [{n}]" for n in claim.cites if n not in passages]
        candidates = valid or (list(passages) if self.repair_uncited else [])
        if not candidates:
            return Check(claim=claim, supported=False, cites=[], reason="; ".join(notes) or "no citation")
        vector: np.ndarray | None = None
        if not any(_norm(claim.text) in _norm(passages[n].text) for n in candidates):
            vector = self.embedder.encode_one(claim.text)  # a verbatim quote needs no embedding
        best_sim, best_reason = -1.0, ""
        supporting: list[int] = []
        for n in candidates:
            sim = self.similarity(claim.text, [passages[n]], vector)
            # A verbatim quote holds the passage's own names and numbers.
            problem = "" if sim >= 1.0 else self._agreement(claim.text, [passages[n]])
            if sim >= self.min_similarity and not problem:
                supporting.append(n)
            if sim > best_sim:
                best_sim, best_reason = sim, problem
        if not supporting and len(valid) > 1:
            # "A did X [1] and B did Y [2]": no single passage holds both halves; the cited ones together may.
            together = [passages[n] for n in valid]
            sim = self.similarity(claim.text, together, vector)
            if sim >= self.min_similarity and not self._agreement(claim.text, together):
                supporting = list(valid)
                best_sim = max(best_sim, sim)
        if not valid and supporting:
            # Uncited but supported: cite the best passage rather than leave a claim without a source.
            best = max(supporting, key=lambda n: self.similarity(claim.text, [passages[n]], vector))
            supporting = [best]
            notes.append(f"uncited; supported by [{best}]")
        if not supporting:
            why = best_reason or f"similarity {best_sim:.2f} below {self.min_similarity:.2f}"
            notes.append(why if valid else f"no citation ({why})")
        return Check(claim=claim, supported=bool(supporting), cites=supporting or valid,
                     similarity=best_sim, reason="; ".join(notes))

    def check_all(self, claims: Iterable[Claim], passages: dict[int, Passage], *, question: str = "") -> list[Check]:
        return [self.check(c, passages, question=question) for c in claims]


def _content(text: str) -> set[str]:
    return {_stem(t.lower()) for t in tokens(text) if t.lower() not in STOPWORDS and len(t) > 1}


def _echoes(claim: str, question: str) -> bool:
    """True when the sentence adds no content word to the question."""
    words = _content(claim)
    return bool(words) and words <= _content(question)


class Renumberer:
    """Maps source numbers to display numbers in order of first use, so the listed sources read [1], [2], ..."""

    def __init__(self) -> None:
        self.order: dict[int, int] = {}

    def __call__(self, n: int) -> int:
        return self.order.setdefault(n, len(self.order) + 1)


def render_check(check: Check, renumber: Renumberer, *, policy: VerifyPolicy) -> str | None:
    """One checked sentence as shown to the reader, or None when it is dropped."""
    if check.no_answer:
        return _finish(check.claim.text)
    if not check.supported and policy is VerifyPolicy.DROP:
        return None
    marks = "".join(f"[{renumber(n)}]" for n in check.cites)
    flag = "" if check.supported else " (unverified)"
    return f"{_finish(check.claim.text)}{' ' + marks if marks else ''}{flag}"


def _finish(sentence: str) -> str:
    sentence = sentence.strip()
    return sentence if sentence.endswith((".", "!", "?", "\"", "”", ")", "…")) else sentence + "."


def join_piece(piece: str, *, first: bool, new_paragraph: bool, label: str = "") -> str:
    """The text to append for one rendered sentence, so that streamed pieces add up to the final answer."""
    prefix = "" if first else ("\n\n" if new_paragraph else " ")
    return prefix + (f"{label}: " if label and (first or new_paragraph) else "") + piece


def strip_instructions(text: str) -> str:
    """The sentences of a source that address an AI ("ignore previous instructions and ...") replaced by a marker."""
    if not INSTRUCTION_RE.search(text):
        return text
    lines = []
    for line in text.split("\n"):
        if INSTRUCTION_RE.search(line):
            parts = split_sentences(line) or [line]
            line = " ".join(INSTRUCTION_REMOVED if INSTRUCTION_RE.search(p) else p for p in parts)
        lines.append(line)
    return "\n".join(lines)


@dataclass
class Source:
    """A retrieved hit as numbered for the answer step (n as given to the verifier or the prompt)."""

    n: int
    hit: ScoredChunk

    @property
    def passage(self) -> Passage:
        c = self.hit.chunk
        return Passage(n=self.n, text=strip_instructions(c.text), meta=" ".join(x for x in (c.headline, c.issue_title, c.source_name,
                                                                        c.section, c.date or "") if x))


def make_citation(n: int, hit: ScoredChunk, *, snippet: str, supported: bool = True) -> Citation:
    chunk = hit.chunk
    return Citation(n=n, issue=chunk.issue_title, date=chunk.date, headline=chunk.headline, url=chunk.url,
                    snippet=snippet, score=float(hit.dense if hit.dense is not None else hit.score),
                    supported=supported, source_name=chunk.source_name, chunk_id=chunk.chunk_id, links=chunk.links,
                    issue_id=chunk.issue_id)


class AnswerBuilder:
    """Checked sentences -> the Answer, one sentence at a time, so that a stream can show each sentence as soon
    as it is checked and the final Answer's text is exactly what was streamed.

    Dropped (or, with the flag policy, flagged) sentences and "the sources do not say" sentences are held back
    until a supported sentence arrives: if none ever does, nothing was shown and the answer is a refusal."""

    def __init__(self, sources: dict[int, Source], *, policy: VerifyPolicy,
                 suggestions_from: Sequence[ScoredChunk] = ()) -> None:
        self.sources = sources
        self.policy = policy
        self.suggestions_from = list(suggestions_from)
        self.renumber = Renumberer()
        self.text = ""
        self.dropped = 0
        self.checks: list[Check] = []
        self._pending: list[Check] = []
        self._has_fact = False
        self._last_para: int | None = None

    def _emit(self, check: Check) -> str:
        piece = render_check(check, self.renumber, policy=self.policy)
        if piece is None:
            return ""
        delta = join_piece(piece, first=not self.text, new_paragraph=check.claim.paragraph != self._last_para,
                           label=check.claim.label)
        self._last_para = check.claim.paragraph
        self.text += delta
        return delta

    def add(self, check: Check) -> str:
        """Record one checked sentence; returns the text to stream now ('' when held back or dropped)."""
        self.checks.append(check)
        if not check.supported and not check.no_answer and self.policy is VerifyPolicy.DROP:
            self.dropped += 1
            return ""
        if not (check.supported and not check.no_answer):
            if self._has_fact:
                return self._emit(check)
            self._pending.append(check)
            return ""
        self._has_fact = True
        delta = "".join(self._emit(c) for c in self._pending)
        self._pending.clear()
        return delta + self._emit(check)

    def finish(self) -> tuple[str, Answer]:
        """(the text still to stream, the Answer)."""
        if not self._has_fact:
            answer = refusal(self.suggestions_from or [s.hit for s in self.sources.values()])
            answer.unsupported_dropped = self.dropped
            return answer.answer, answer
        snippets: dict[int, list[str]] = {}
        support: dict[int, bool] = {}
        for check in self.checks:
            if check.supported or self.policy is VerifyPolicy.FLAG:
                for n in check.cites:
                    snippets.setdefault(n, []).append(check.claim.text)
                    support[n] = support.get(n, False) or (check.supported and not check.no_answer)
        citations = [make_citation(shown, self.sources[n].hit, snippet=" ".join(snippets.get(n, [])),
                                   supported=support.get(n, False))
                     for n, shown in sorted(self.renumber.order.items(), key=lambda kv: kv[1])]
        return "", Answer(answer=self.text, refused=False, citations=citations, unsupported_dropped=self.dropped)


def assemble(checks: Sequence[Check], sources: dict[int, Source], *, policy: VerifyPolicy,
             suggestions_from: Sequence[ScoredChunk] = ()) -> Answer:
    """Checked sentences -> the Answer. Refuses when nothing supported is left."""
    builder = AnswerBuilder(sources, policy=policy, suggestions_from=suggestions_from)
    for check in checks:
        builder.add(check)
    return builder.finish()[1]


def refusal(hits: Sequence[ScoredChunk]) -> Answer:
    """The archive does not cover the question: say so and offer the closest stories it does have."""
    suggestions: list[str] = []
    for h in hits:
        if h.chunk.headline and len(suggestions) < 3:
            label = f"{h.chunk.headline} ({h.chunk.issue_title}{', ' + h.chunk.date if h.chunk.date else ''})"
            if label not in suggestions:
                suggestions.append(label)
    text = REFUSAL + " Nothing in the indexed issues and feeds answers this question."
    if suggestions:
        text += " The closest stories it has: " + "; ".join(suggestions) + "."
    return Answer(answer=text, refused=True, citations=[], suggestions=suggestions)
