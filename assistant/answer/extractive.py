"""The default briefing, no LLM: the sentences that best answer the question, picked by MMR, grouped by
story, each ending in its citation."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.embedding import Embedder
from assistant.models import Answer, Citation, ScoredChunk
from assistant.sources.text import split_sentences

EVOLUTION_RE = re.compile(r"\b(evolv|over time|timeline|history|so far|since|progress|changed|trend)", re.I)
MIN_SENTENCE_WORDS = 4
REFUSAL = "The archive does not cover this."


@dataclass
class _Candidate:
    text: str
    hit_rank: int
    position: int
    relevance: float = 0.0


def _candidates(hits: list[ScoredChunk]) -> list[_Candidate]:
    out: list[_Candidate] = []
    seen: set[str] = set()
    for rank, hit in enumerate(hits):
        sentences = split_sentences(hit.chunk.text)
        body = sentences[1:] if len(sentences) > 1 else sentences  # the first line is the headline
        for pos, sentence in enumerate(body):
            sentence = sentence.strip(" -*>")
            key = sentence.lower()
            if len(sentence.split()) < MIN_SENTENCE_WORDS or key in seen:
                continue
            seen.add(key)
            out.append(_Candidate(text=sentence, hit_rank=rank, position=pos))
    return out


def _mmr(rel: np.ndarray, sim: np.ndarray, *, k: int, lam: float) -> list[int]:
    chosen: list[int] = []
    remaining = list(range(len(rel)))
    while remaining and len(chosen) < k:
        if chosen:
            redundancy = sim[np.ix_(remaining, chosen)].max(axis=1)
        else:
            redundancy = np.zeros(len(remaining))
        scores = lam * rel[remaining] - (1 - lam) * redundancy
        best = remaining[int(np.argmax(scores))]
        chosen.append(best)
        remaining.remove(best)
    return chosen


def _finish(sentence: str) -> str:
    return sentence if sentence.endswith((".", "!", "?", "\"", "”", ")")) else sentence + "."


class ExtractiveAnswerer:
    """Validated once; `run()` turns a question and its retrieved hits into an Answer."""

    def __init__(self, *, embedder: Embedder, refuse_below: float, min_sentences: int = 3,
                 max_sentences: int = 6, lam: float = 0.7, max_stories: int = 4) -> None:
        if not 1 <= min_sentences <= max_sentences:
            raise ValueError("need 1 <= min_sentences <= max_sentences")
        if not 0.0 <= lam <= 1.0:
            raise ValueError("lam must be within [0, 1]")
        self.embedder = embedder
        self.refuse_below = refuse_below
        self.min_sentences = min_sentences
        self.max_sentences = max_sentences
        self.lam = lam
        self.max_stories = max_stories

    def run(self, question: str, hits: list[ScoredChunk], query_vector: np.ndarray) -> Answer:
        relevant = [h for h in hits if (h.dense if h.dense is not None else h.score) >= self.refuse_below]
        if not relevant:
            return refusal(hits)
        relevant = relevant[: self.max_stories]
        cands = _candidates(relevant)
        if not cands:
            return refusal(hits)
        vecs = self.embedder.encode([c.text for c in cands])
        rel = vecs @ query_vector
        # A sentence from a better story is a better answer even when it repeats fewer query words.
        story_score = np.array([relevant[c.hit_rank].score for c in cands])
        rel = 0.6 * rel + 0.4 * story_score
        for c, r in zip(cands, rel, strict=True):
            c.relevance = float(r)
        chosen = _mmr(rel, vecs @ vecs.T, k=self.max_sentences, lam=self.lam)
        # Beyond the minimum, keep only sentences close to the best one.
        top = rel[chosen[0]]
        chosen = [i for n, i in enumerate(chosen) if n < self.min_sentences or rel[i] >= top - 0.15]

        by_story: dict[int, list[_Candidate]] = {}
        for i in chosen:
            by_story.setdefault(cands[i].hit_rank, []).append(cands[i])
        order = list(by_story)
        if EVOLUTION_RE.search(question):
            order.sort(key=lambda r: relevant[r].chunk.date or "9999")
        citations: list[Citation] = []
        paragraphs: list[str] = []
        for rank in order:
            hit = relevant[rank]
            n = len(citations) + 1
            picked = sorted(by_story[rank], key=lambda c: c.position)
            citations.append(citation(n, hit, snippet=" ".join(c.text for c in picked)))
            paragraphs.append(" ".join(f"{_finish(c.text)} [{n}]" for c in picked))
        return Answer(answer="\n\n".join(paragraphs), refused=False, citations=citations)


def citation(n: int, hit: ScoredChunk, *, snippet: str) -> Citation:
    chunk = hit.chunk
    return Citation(n=n, issue=chunk.issue_title, date=chunk.date, headline=chunk.headline, url=chunk.url,
                    snippet=snippet, score=float(hit.dense if hit.dense is not None else hit.score),
                    source_name=chunk.source_name, chunk_id=chunk.chunk_id, links=chunk.links)


def refusal(hits: list[ScoredChunk]) -> Answer:
    suggestions = [f"{h.chunk.headline} ({h.chunk.issue_title}{', ' + h.chunk.date if h.chunk.date else ''})"
                   for h in hits[:3] if h.chunk.headline]
    text = REFUSAL + " Nothing in the indexed issues and feeds answers this question."
    if suggestions:
        text += " The closest stories it has: " + "; ".join(suggestions) + "."
    return Answer(answer=text, refused=True, citations=[], suggestions=suggestions)
