"""The default briefing, no LLM: the sentences that best answer the question, picked by MMR, grouped by
story, each ending in its citation, checked by the verifier like any other answer.

What makes it read as a briefing rather than a heap of fragments (before/after examples in the README):
- a story's lead sentence is preferred (news puts the what-happened first);
- sentences that lean on the one before them ("This is ...", "They ...") are penalised unless that one is
  picked too, and fragments, link lists and headline-only items lose to full sentences;
- near-duplicates (the same fact in two issues) are dropped;
- at most three sentences per story unless only one story is relevant, 3 to 6 sentences in all;
- stories in order of relevance, or by date with a date label when the question asks how something evolved.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from assistant.answer.acronyms import acronyms_asked, chunk_defines
from assistant.answer.events import AnswerEvent, stream_answer
from assistant.answer.gate import DEMONYMS, AnswerGate
from assistant.answer.verify import (
    ABBREV_END_RE,
    INSTRUCTION_RE,
    REFUSAL,
    Check,
    Claim,
    Source,
    Verifier,
    VerifyPolicy,
    assemble,
    make_citation,
    refusal,
    term_set,
)
from assistant.embedding import Encoder
from assistant.index.errors import IndexUnavailableError
from assistant.records import Answer, Chunk, Citation, ScoredChunk
from assistant.retrieval.versions import release_pattern, releases
from assistant.sources.text import split_sentences

__all__ = ["REFUSAL", "ExtractiveAnswerer", "citation", "refusal"]

EVOLUTION_RE = re.compile(
    r"\b(evolv\w*|evolution|over time|timeline|history of|so far|progress\w*|chang(?:ed|ing)|trend\w*|"
    r"develop(?:ed|ments?)|unfold\w*|how has|how have|since (?:then|the)|step by step)\b", re.I)
# Sentences that only make sense after the one before them.
DEICTIC_RE = re.compile(r"^(this|that|these|those|it|its|they|their|he|she|but|and|also|so|still|yet|then|"
                        r"here|there|such)\b", re.I)
LINKY_RE = re.compile(r"https?://|\]\(|^\W*$")
RELATED_RE = re.compile(r"(?:^|\n|\s)Related:\s*(?=\*)")
TITLE_JOINERS = frozenset(["a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the",
                           "to", "vs", "with"])
LEAD_VERBS = frozenset([
    "released", "announced", "unveiled", "launched", "introduced", "signed", "filed", "previewed", "reported",
    "debuted", "raised", "acquired", "agreed", "added", "published", "won", "lost", "sued", "began", "opened",
    "said", "has", "have", "had", "will", "was", "were", "rolled", "shipped", "detailed", "confirmed"])
SKIP_RE = re.compile(r"^(related|see also|read more|more)\s*:", re.I)
MIN_SENTENCE_WORDS = 4
FULL_SENTENCE_WORDS = 8
MAX_SENTENCE_WORDS = 70
# A sentence that continues its headline is quoted with it when the headline is a name, not a title.
HEADLINE_PREFIX_WORDS = 8
DUPLICATE_COSINE = 0.88
MAX_CANDIDATES_PER_STORY = 10
# story ids -> {story id: the story's first chunk}; supplied by the pipeline, which owns the index reader.
LeadFetcher = Callable[[list[str]], dict[str, Chunk]]


@dataclass
class _Candidate:
    text: str
    hit_rank: int
    position: int
    relevance: float = 0.0


def _clean(sentence: str) -> str:
    # A literal "[3]" inside a source sentence would read as one of our citations; "[text][ref]" is a markdown
    # reference link the parser left behind.
    sentence = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", sentence)
    sentence = re.sub(r"\[\d{1,3}\]", "", sentence)
    return sentence.strip(" -*>•#").strip()


def _drop_related(text: str) -> str:
    """Drop a "Related: * headline * headline" list (other articles' headlines, not this story's facts).

    Chunks written before chunking kept line breaks reach us with their lines joined, so the last headline runs
    into the body's first sentence:
    "... competition heats up OpenAI will begin testing ...". Headlines are in the present tense and the
    body's lead in the past ("OpenAI released ...", "MiniMax has released ..."), so the body starts at a
    capitalised word that follows a lower-case one and is followed within four words by such a verb; a Title
    Case headline ends where its run of capitalised words ends. When neither shows, the glued sentence is
    dropped: better no lead than a lead that quotes another article's headline as this story's fact."""
    match = RELATED_RE.search(text)
    if not match:
        return text
    last = re.split(r"\s\*\s+", text[match.end():])[-1]
    if "\n" in last.strip():  # lines kept: the headline is the first line
        return text[: match.start()] + "\n" + last.strip().split("\n", 1)[1]
    words = last.split()
    cut = _lead_start(words)
    if cut is None:
        rest = split_sentences(last)
        return text[: match.start()] + "\n" + " ".join(rest[1:])
    return text[: match.start()] + "\n" + " ".join(words[cut:])


def _lead_start(words: list[str]) -> int | None:
    """Where the body starts in "<headline> <body>" (see _drop_related), or None when it cannot be told."""
    for i in range(4, len(words)):
        prev, word = words[i - 1], words[i]
        if word[:1].isupper() and prev[:1].islower() and prev.lower() not in TITLE_JOINERS:
            following = [w.strip(",;:").lower() for w in words[i + 1: i + 5]]
            if any(w in LEAD_VERBS for w in following):
                return i
    for i, word in enumerate(words):
        if word[:1].islower() and word.lower() not in TITLE_JOINERS:
            return i - 1 if i >= 4 else None  # a Title Case headline ends one word before
    return None


def _sentences(text: str) -> list[str]:
    # Inline bullet lists ("A * B") would otherwise reach punkt as one 90-word "sentence".
    out: list[str] = []
    for sentence in split_sentences(re.sub(r"\s\*\s+", "\n", _drop_related(text))):
        # punkt ends a sentence at an abbreviation it does not know ("investors like D.E. | Shaw, Founders
        # Fund ..."); quoting either half alone would misattribute.
        if out and ABBREV_END_RE.search(out[-1]) and sentence[:1].isupper():
            out[-1] += " " + sentence
        else:
            out.append(sentence)
    return out


def _candidates(hits: list[ScoredChunk]) -> list[_Candidate]:
    out: list[_Candidate] = []
    seen: set[str] = set()
    for rank, hit in enumerate(hits):
        sentences = _sentences(hit.chunk.text)
        headline = " ".join(hit.chunk.headline.lower().split())
        # The first line is the headline; so are pieces of it that punkt split off at "A.I." or "?".
        # A story's text starts with its headline; a headless one (a passage, a bullet) starts with its news.
        lines = sentences[1:] if headline else sentences
        body = [s for s in lines if " ".join(_clean(s).lower().split()).rstrip(".") not in headline]
        lead = _clean(hit.chunk.headline) if hit.chunk.chunk_index == 0 else ""
        accepted = [c.text for c in _claims(list(map(_clean, body)), headline=lead)
                    if _usable(c.text, continuation=c.continuation)]
        if not accepted and hit.chunk.headline and _usable(_clean(hit.chunk.headline)):
            accepted = [_clean(hit.chunk.headline)]  # a headline-only item (a link in a list): that is its news
        pos = 0
        for sentence in accepted:
            key = " ".join(sentence.lower().split())
            if key in seen:
                continue
            if pos >= MAX_CANDIDATES_PER_STORY:
                break  # the sentences to embed bound the answer's latency
            seen.add(key)
            # Position among the usable sentences: 0 is the story's lead unless the chunk starts mid-story.
            out.append(_Candidate(text=sentence, hit_rank=rank,
                                  position=pos + (0 if hit.chunk.chunk_index == 0 else 100)))
            pos += 1
    return out


@dataclass(frozen=True)
class _Claim:
    text: str
    continuation: bool  # starts lower-case by design: it continues the headline or a clause list


def _claims(body: list[str], *, headline: str) -> list[_Claim]:
    """The body's sentences as claims. Link-list newsletters write "**Evo** - a 7B model ...; the model, trained
    on ..., can ...": the first sentence continues the headline (so it is quoted with it, as the source reads)
    and a long sentence is a list of clauses, each its own claim. Both start lower-case, which elsewhere marks a
    fragment cut off by a chunk boundary."""
    out: list[_Claim] = []
    for i, sentence in enumerate(body):
        first = bool(headline) and i == 0 and sentence[:1].islower()
        parts = [sentence]
        if len(sentence.split()) > MAX_SENTENCE_WORDS and "; " in sentence:
            parts = [p.strip() for p in sentence.split("; ") if p.strip()]
        for j, part in enumerate(parts):
            if first and j == 0 and len(headline.split()) <= HEADLINE_PREFIX_WORDS:
                part = f"{headline} - {part}"
            out.append(_Claim(part, continuation=(first and j == 0) or j > 0))
    return out


def _usable(sentence: str, *, continuation: bool = False) -> bool:
    words = len(sentence.split())
    return (MIN_SENTENCE_WORDS <= words <= MAX_SENTENCE_WORDS and not LINKY_RE.search(sentence)
            and not SKIP_RE.match(sentence) and not INSTRUCTION_RE.search(sentence)
            and (continuation or not sentence[:1].islower())  # else a fragment cut from something before it
            and sentence.count("|") < 2)  # a markdown table row (This Week in Rust's perf triage), not a claim


def with_leads(hits: list[ScoredChunk], fetch: LeadFetcher | None) -> list[ScoredChunk]:
    """A hit from the middle of a long story gets the story's first chunk put in front of its text, so the
    lead ("Apple announced ...") can be quoted and cited; the hit keeps its id and scores."""
    if fetch is None:
        return hits
    wanted = [h.chunk.story_id for h in hits if h.chunk.chunk_index > 0]
    if not wanted:
        return hits
    try:
        leads = fetch(wanted)
    except IndexUnavailableError:  # a missing lead only makes the briefing less complete
        return hits
    out = []
    for hit in hits:
        lead = leads.get(hit.chunk.story_id) if hit.chunk.chunk_index > 0 else None
        if lead is None:
            out.append(hit)
            continue
        rest = hit.chunk.text.split("\n", 1)[1] if "\n" in hit.chunk.text else hit.chunk.text
        chunk = replace(hit.chunk, text=f"{lead.text}\n{rest}", chunk_index=0)
        out.append(replace(hit, chunk=chunk))
    return out


def _mmr(rel: np.ndarray, sim: np.ndarray, *, k: int, lam: float, per_story: list[int], cap: int) -> list[int]:
    """Maximal marginal relevance, skipping near-duplicates and stories that already gave `cap` sentences."""
    chosen: list[int] = []
    counts: dict[int, int] = {}
    remaining = list(range(len(rel)))
    while remaining and len(chosen) < k:
        if chosen:
            redundancy = sim[np.ix_(remaining, chosen)].max(axis=1)
        else:
            redundancy = np.zeros(len(remaining))
        scores = lam * rel[remaining] - (1 - lam) * redundancy
        best = remaining[int(np.argmax(scores))]
        remaining.remove(best)
        if chosen and sim[best, chosen].max() >= DUPLICATE_COSINE:
            continue  # the same fact again, often from another issue
        if counts.get(per_story[best], 0) >= cap:
            continue
        counts[per_story[best]] = counts.get(per_story[best], 0) + 1
        chosen.append(best)
    return chosen


class ExtractiveAnswerer:
    """Validated once; `run()` turns a question and its retrieved hits into an Answer, `stream()` yields it
    piece by piece (see assistant/answer/events.py)."""

    def __init__(self, *, embedder: Encoder, refuse_below: float, min_sentences: int = 3,
                 max_sentences: int = 6, lam: float = 0.7, max_stories: int = 4, max_per_story: int = 3,
                 gate: AnswerGate | None = None, verifier: Verifier | None = None,
                 policy: VerifyPolicy = VerifyPolicy.DROP, cache_size: int = 20000,
                 lead_fetcher: LeadFetcher | None = None) -> None:
        if not 1 <= min_sentences <= max_sentences:
            raise ValueError("need 1 <= min_sentences <= max_sentences")
        if not 0.0 <= lam <= 1.0:
            raise ValueError("lam must be within [0, 1]")
        if max_stories < 1 or max_per_story < 1:
            raise ValueError("max_stories and max_per_story must be >= 1")
        self.embedder = embedder
        self.refuse_below = refuse_below
        self.min_sentences = min_sentences
        self.max_sentences = max_sentences
        self.lam = lam
        self.max_stories = max_stories
        self.max_per_story = max_per_story
        self.gate = gate or AnswerGate(refuse_below=refuse_below)
        self.verifier = verifier or Verifier(embedder=embedder, policy=policy)
        self.policy = policy
        self.lead_fetcher = lead_fetcher
        # Sentence vectors by text: the same stories come back for related questions (and in a chat).
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def clear_cache(self) -> None:
        """Forget cached sentence vectors (benchmarks measure the cold path with it)."""
        with self._lock:
            self._cache.clear()

    def _encode(self, texts: list[str]) -> np.ndarray:
        # The web app answers several sessions at once: the cache is shared, so it is read and written locked.
        with self._lock:
            found = {t: self._cache[t] for t in dict.fromkeys(texts) if t in self._cache}
        todo = [t for t in dict.fromkeys(texts) if t not in found]
        if todo:
            vectors = self.embedder.encode(todo)
            with self._lock:
                for text, vec in zip(todo, vectors, strict=True):
                    self._cache[text] = found[text] = vec
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def select(self, question: str, hits: list[ScoredChunk], query_vector: np.ndarray, *,
               floor: float | None = None) -> list[Claim]:
        """The briefing's sentences as claims citing their story's rank (1-based), in reading order."""
        def rel_of(h: ScoredChunk) -> float:
            return h.dense if h.dense is not None else h.score

        # Stories far below the best usable one are about something else; they would only add noise.
        usable = [h for h in hits if _candidates([h])]
        # "What does TRACTOR stand for?": the stories that define it answer, whatever else they name.
        shorts = acronyms_asked(question)
        defining = [h for h in usable if chunk_defines(h.chunk, shorts)] if shorts else []
        # A story that misses names the question asks about ("Astral" in "Why did OpenAI acquire Astral?") is
        # about something else, however close its cosine; keep the stories that name the most of them.
        _, names = AnswerGate.question_terms(question)
        if defining:
            usable = defining
        elif names:
            def name_share(h: ScoredChunk) -> float:
                found = term_set(f"{h.chunk.text}\n{h.chunk.headline}")
                return sum(1 for n in names if n in found or DEMONYMS.get(n, n) in found) / len(names)

            shares = {id(h): name_share(h) for h in usable}
            top_share = max(shares.values(), default=0.0)
            usable = [h for h in usable if shares[id(h)] >= top_share - 0.34]
        # A release is an identifier: when stories name the one asked about ("Kubernetes 1.26"), a look-alike
        # ("Kubernetes 1.35 is now built with Go 1.26") is no answer, however close (retrieval/versions.py).
        release = release_pattern(releases(question))
        if release is not None and any(release.search(h.chunk.text) for h in usable):
            usable = [h for h in usable if release.search(h.chunk.text)]
        best = max((rel_of(h) for h in usable), default=-1.0)
        # The gate has already decided that the archive answers; here only stories far below the best are cut.
        floor = best - 0.2 if floor is None else max(floor, best - 0.2)
        relevant = [h for h in usable if rel_of(h) >= floor][: self.max_stories]
        cands = _candidates(relevant)
        if not cands:
            return []
        vecs = self._encode([c.text for c in cands])
        rel = vecs @ query_vector
        # A sentence from a better story is a better answer even when it repeats fewer query words.
        story_score = np.array([relevant[c.hit_rank].score for c in cands])
        rel = 0.6 * rel + 0.4 * story_score
        for i, c in enumerate(cands):
            words = len(c.text.split())
            if c.position == 0:
                rel[i] += 0.05  # the lead says what happened
            if words < FULL_SENTENCE_WORDS:
                rel[i] -= 0.08
            if DEICTIC_RE.match(c.text) and c.position > 0:
                rel[i] -= 0.08
            c.relevance = float(rel[i])
        stories = {c.hit_rank for c in cands}
        cap = self.max_per_story if len(stories) > 1 else min(4, self.max_sentences)
        chosen = _mmr(rel, vecs @ vecs.T, k=self.max_sentences, lam=self.lam,
                      per_story=[c.hit_rank for c in cands], cap=cap)
        if not chosen:
            return []
        # Beyond the minimum, keep only sentences close to the best one.
        top = rel[chosen[0]]
        chosen = [i for n, i in enumerate(chosen) if n < self.min_sentences or rel[i] >= top - 0.12]
        # A sentence that leans on its predecessor brings the predecessor along when there is room.
        for i in list(chosen):
            c = cands[i]
            if DEICTIC_RE.match(c.text) and c.position > 0 and len(chosen) < self.max_sentences:
                prev = next((j for j, d in enumerate(cands)
                             if d.hit_rank == c.hit_rank and d.position == c.position - 1), None)
                if prev is not None and prev not in chosen:
                    chosen.append(prev)

        by_story: dict[int, list[_Candidate]] = {}
        for i in chosen:
            by_story.setdefault(cands[i].hit_rank, []).append(cands[i])
        order = list(by_story)
        timeline = bool(EVOLUTION_RE.search(question))
        if timeline:
            order.sort(key=lambda r: relevant[r].chunk.date or "9999")
        claims: list[Claim] = []
        previous_label = ""
        for para, rank in enumerate(order):
            chunk = relevant[rank].chunk
            label = chunk.date if timeline and chunk.date and chunk.date != previous_label else ""
            previous_label = chunk.date or "" if timeline else ""
            for c in sorted(by_story[rank], key=lambda c: c.position):
                claims.append(Claim(text=c.text, cites=[hits.index(relevant[rank]) + 1], paragraph=para,
                                    label=label))
        return claims

    def stream(self, question: str, hits: list[ScoredChunk], query_vector: np.ndarray) -> Iterator[AnswerEvent]:
        """The answer sentence by sentence (`delta` events), then the whole Answer (`answer` event)."""
        yield from stream_answer(self.run(question, hits, query_vector))

    def sentence_evidence(self, hits: list[ScoredChunk], query_vector: np.ndarray
                          ) -> list[tuple[int, str, float]]:
        """(story rank, sentence, cosine to the question) for the headlines and sentences of the gate's stories."""
        top = hits[: self.gate.passages]
        items = [(c.hit_rank, c.text) for c in _candidates(top)]
        items += [(rank, _clean(h.chunk.headline)) for rank, h in enumerate(top) if h.chunk.headline]
        if not items:
            return []
        cosines = self._encode([text for _, text in items]) @ query_vector
        return [(rank, text, float(cos)) for (rank, text), cos in zip(items, cosines, strict=True)]

    def run(self, question: str, hits: list[ScoredChunk], query_vector: np.ndarray) -> Answer:
        hits = with_leads(hits, self.lead_fetcher)
        verdict = self.gate.check(question, hits, self.sentence_evidence(hits, query_vector))
        evidence = verdict.evidence.to_json() if verdict.evidence else None
        if not verdict.answerable:
            answer = refusal(hits)
        else:
            claims = self.select(question, hits, query_vector)
            if not claims:
                answer = refusal(hits)
            else:
                sources = {i + 1: Source(n=i + 1, hit=h) for i, h in enumerate(hits)}
                checks: list[Check] = self.verifier.check_all(claims, {n: s.passage for n, s in sources.items()})
                answer = assemble(checks, sources, policy=self.policy, suggestions_from=hits)
        answer.gate = {"reason": verdict.reason, **(evidence or {})}
        return answer


def citation(n: int, hit: ScoredChunk, *, snippet: str) -> Citation:
    """Kept for callers of the spine's API."""
    return make_citation(n, hit, snippet=snippet)
