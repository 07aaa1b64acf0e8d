"""Whether the archive answers a question at all, decided before any answer is written (both answer modes).

The evidence is the best candidate *sentence*, not the whole story's word overlap: a story can share every word of
a question and still not answer it ("How much did OpenAI pay for Astral?" against a story on the deal that names
no price), and a story can answer in its first line while sharing few words ("49B activated" for "how many active
parameters"). So the gate asks, of the closest stories:

1. Does one of them name everything the question names? Names, identifiers and versions must match as names:
   "DeepSeek-V4" = "DeepSeek V4" = "deepseek v4", and "K2.6" never matches "K2.5".
2. How close is the best sentence of those stories to the question (cosine of the sentence embeddings)?
3. Does a sentence close to the question hold the kind of thing asked for: a number for "how much/how many",
   a date for "when"? (Numbers that are part of the question's own names, like "HBM4", do not count.) For "what
   does TRACTOR stand for?" the story must define it ("Translating All C TO Rust (TRACTOR)", `acronyms.py`), and
   then no sentence floor applies: a definition shares few words with the question.
4. The best story's dense cosine and the share of the question's words found, as before.

The thresholds are chosen by leave-one-newsletter-out over six newsletters of different styles
(`newsdesk eval answers --calibrate`, docs/answers.md), never on one corpus.

    gate = AnswerGate(refuse_below=0.3, min_sentence=0.45)
    evidence = gate.gather(question, hits, sentences=[(0, "AMD picked Samsung for HBM4.", 0.71)])
    verdict = gate.decide(evidence)
    verdict.answerable, verdict.reason
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from assistant.answer.acronyms import acronyms_asked, chunk_defines
from assistant.records import ScoredChunk
from assistant.retrieval.timeframe import about_our_writing
from assistant.terms import STOPWORDS, names_in, numbers_in, term_set, tokens
from assistant.terms import stem as _stem

_YEAR = re.compile(r"^(?:19|20)\d\d$")

# A question's "Chinese labs" are a story's "China"; the same for the other common nationality adjectives.
DEMONYMS = {"chinese": "china", "american": "america", "european": "europe", "japanese": "japan",
            "korean": "korea", "french": "france", "german": "germany", "british": "britain", "indian": "india",
            "russian": "russia", "israeli": "israel", "canadian": "canada", "taiwanese": "taiwan",
            "australian": "australia", "italian": "italy", "spanish": "spain", "dutch": "netherlands",
            "swiss": "switzerland", "saudi": "saudi", "emirati": "uae", "brazilian": "brazil", "iranian": "iran"}

# What kind of answer a question asks for, from its opening words.
_ASKS_NUMBER = re.compile(r"^\s*(?:how (?:much|many|large|big|long|fast|far|expensive|old)|what (?:percentage|"
                          r"share|fraction|proportion|price|amount|number)|by how much)\b", re.IGNORECASE)
_ASKS_DATE = re.compile(r"^\s*(?:when\b|what (?:year|month|day|date)\b|on what (?:date|day)\b)", re.IGNORECASE)
_DATE_WORDS = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|"
    r"tomorrow|yesterday|week|month|year|quarter|q[1-4]|h[12]|spring|summer|autumn|fall|winter|soon|later|"
    r"(?:19|20)\d\d|\d{1,2}/\d{1,2})\b", re.IGNORECASE)
_SEP = re.compile(r"[\s\-_]+")
_V_NUMBER = re.compile(r"^v\d+$")
_POINT_RELEASE = re.compile(r"\b([A-Za-z][\w+]*)[\s-]+v?(\d+)\.\d")
# A hyphenated word with a lower-case word in it is a compound ("RL-based", "Macron-backed", "mid-2026"), not an
# identifier: its capitalised parts are names of their own and the rest is ordinary words.
_LOWER_PART = re.compile(r"^[a-z]{2,}$")


@dataclass
class StoryEvidence:
    """One close story: does it hold the question's identifiers, what share of its other names, its best
    sentence's cosine, and whether one of its closest sentences holds the kind of thing asked for."""

    rank: int
    identifiers_ok: bool
    name_share: float
    best_sentence: float
    type_found: bool
    # The share again, with the plain names that other stories of the archive hold counted as found when the
    # story holds one of the names itself: a question names "Redox OS" or "Gatsby Inc." where the story says
    # "Redox" or "Gatsby". Invented names (what an unanswerable question about the archive's topic asks) are in
    # no story at all.
    known_share: float | None = None


@dataclass
class Evidence:
    """What the gate decides from; recorded with each answer so that thresholds can be chosen offline."""

    best_dense: float
    coverage: float
    names: list[str]
    identifiers: list[str]
    missing_names: list[str]        # names that no close story holds
    missing_terms: list[str]
    answer_type: str                # "number", "date" or ""
    stories: list[StoryEvidence]
    # "What did we write about X in May?" asks for our stories about X, which any story naming X answers; no
    # single sentence is close to such a question, so the sentence floor does not apply (names still must match).
    about_coverage: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Evidence:
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known = StoryEvidence.__dataclass_fields__
        fields["stories"] = [StoryEvidence(**{k: v for k, v in s.items() if k in known})
                             for s in data.get("stories", [])]
        return cls(**fields)


@dataclass
class Coverage:
    """Why the gate let a question through or not (shown in debug output)."""

    answerable: bool
    best_dense: float
    coverage: float
    missing_names: list[str]
    missing_terms: list[str]
    reason: str = ""
    floor: float = 0.0  # the story cosine the gate required
    evidence: Evidence | None = field(default=None, repr=False)


def _joined_forms(text: str) -> set[str]:
    """Lower-cased tokens and adjacent pairs/triples with separators removed, so "DeepSeek V4" holds "deepseekv4";
    a version marked "v" after a name is the name's number too ("Remix v3" holds "remix3", as the question's
    "Remix 3" is read)."""
    toks = [t.lower() for t in tokens(text)]
    out = {_SEP.sub("", t) for t in toks}
    for n in (2, 3):
        out |= {"".join(toks[i:i + n]) for i in range(len(toks) - n + 1)}
    out |= {a + b[1:] for a, b in zip(toks, toks[1:], strict=False) if _V_NUMBER.match(b)}
    # A point release belongs to its major version: "Llama-3.1-8B" and "React 19.2" hold "llama3" and "react19"
    # (never the other way: "K2.6" is not "K2.5", and "Llama 3" does not hold "llama3.1").
    out |= {f"{m.group(1)}{m.group(2)}".lower() for m in _POINT_RELEASE.finditer(text)}
    return out


def name_present(name: str, terms: set[str], joined: set[str]) -> bool:
    """A question's name in a text: as a word, a stem, a demonym's country, or with its separators removed.
    Dotted versions stay whole: "k2.6" is never "k2.5"."""
    if {name, _stem(name), DEMONYMS.get(name, name)} & terms:
        return True
    if not any(ch.isdigit() for ch in name) and "." in name:
        name = name.replace(".", "")                    # "U.S." is "US"; "k2.6" keeps its dot
    return _SEP.sub("", name) in joined


# Day numbers and ranges in date phrases ("February 16", "May 13-19") are the timeframe's business, not names.
_DATE_PHRASE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?"
    r"(?:\s*[-–]\s*(?:[a-z]+\.?\s+)?\d{1,2}(?:st|nd|rd|th)?)?\b|\b\d{1,2}\s*[-–]\s*\d{1,2}\b", re.IGNORECASE)
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)$")
_NAMED_NUMBER = re.compile(r"(?<![\w.#-])([A-Z][\w+]*)[\s-]v?(\d+)(?![\w.%-])")
# Capitalised words that a count or a number follows without being a version of them.
_NOT_A_PRODUCT = {"issue", "issues", "week", "weeks", "top", "no", "number", "part", "chapter", "episode", "day",
                  "page", "section", "table", "figure", "the", "a", "an", "and", "or", "in", "of", "for", "with",
                  "about", "what", "which", "how", "when", "who", "why", "did", "does", "do", "is", "are", "was",
                  "were", "by", "to", "on", "at", "from", "pr", "kep", "cve", "rfc"}


def is_identifier(name: str, original: str) -> bool:
    """Identifiers and versions ("K2.6", "kep-4622", "OpenAI", "GPT-4o") must match; plain capitalised words
    and acronyms ("Lead", "API", "Meta") only count towards a share, since questions capitalise generic words."""
    if any(ch.isdigit() for ch in name):
        return True
    return bool(re.search(r"[a-z][A-Z]", original)) or ("-" in name and len(name) > 3)


# Names -> how many chunks of the archive hold each (0: none; a stop word counts as everywhere).
NameCounts = Callable[[Iterable[str]], dict[str, int]]


class AnswerGate:
    """Refuse before answering when the archive does not answer the question (see the module docstring)."""

    def __init__(self, *, refuse_below: float, min_sentence: float = -1.0, min_coverage: float = 0.5,
                 passages: int = 3, require_names: bool = True, require_type: bool = True,
                 type_sentences: int = 3, min_name_share: float = 1.0, excuse_known: bool = False,
                 name_counts: NameCounts | None = None) -> None:
        if not 0.0 <= min_coverage <= 1.0 or not 0.0 <= min_name_share <= 1.0:
            raise ValueError("min_coverage and min_name_share must be within [0, 1]")
        if passages < 1 or type_sentences < 1:
            raise ValueError("passages and type_sentences must be >= 1")
        self.refuse_below = refuse_below
        self.min_sentence = min_sentence
        self.min_coverage = min_coverage
        self.passages = passages
        self.require_names = require_names
        self.require_type = require_type
        self.type_sentences = type_sentences
        self.min_name_share = min_name_share
        self.excuse_known = excuse_known
        self.name_counts = name_counts  # the archive's story counts per name; the pipeline supplies them

    @staticmethod
    def question_terms(question: str) -> tuple[set[str], set[str]]:
        """(content words, names) of a question, lower-cased; years, dates and issue numbers are left to
        retrieval."""
        words: set[str] = set()
        for tok in tokens(question):
            low = tok.lower()
            if low in STOPWORDS or _YEAR.match(low) or len(low) < 2:
                continue
            words.add(low)
        text = _DATE_PHRASE.sub(" ", question)
        names = {n for n in names_in(text) if not _YEAR.match(n) and not n.isdigit() and not _ORDINAL.match(n)}
        for tok in tokens(text):
            parts = tok.split("-")
            if len(parts) > 1 and any(_LOWER_PART.match(p) for p in parts) and tok.lower() in names:
                names.discard(tok.lower())
                names |= {p.lower() for p in parts if not _LOWER_PART.match(p) and len(p) > 1
                          and not _YEAR.match(p) and not p.isdigit() and p.lower() not in STOPWORDS}
        # Version numbers are as specific as names ("Go 1.27", "Opus 4.6"); plain integers are usually counts or
        # issue numbers ("issue 540"), and years are retrieval's business.
        names |= {n for n in numbers_in(text) if "." in n and not _YEAR.match(n)}
        # A number right after a name is a version ("Claude 6", "React 20", "Expo SDK 55"): it must match as one
        # identifier ("claude6" = "Claude-6" = "Claude 6"), or a question about a release that never happened
        # passes on the product's name alone.
        for m in _NAMED_NUMBER.finditer(text):
            word, number = m.group(1), m.group(2)
            if not _YEAR.match(number) and word.lower() not in _NOT_A_PRODUCT:
                names.add(f"{word.lower()}{number}")
        return words, names

    @staticmethod
    def answer_type(question: str) -> str:
        if acronyms_asked(question):
            return "expansion"
        if _ASKS_NUMBER.search(question):
            return "number"
        # "When X happened, could the public use it?": a when-clause, then the real question.
        if _ASKS_DATE.search(question) and not re.match(
                r"^\s*when\b[^?]*,\s*(?:what|how|which|who|why|where|could|can|did|does|do|is|was|were|are|will|"
                r"would|should|has|have|had)\b", question, re.IGNORECASE):
            return "date"
        return ""

    def gather(self, question: str, hits: Sequence[ScoredChunk],
               sentences: Sequence[tuple[int, str, float]] | None = None) -> Evidence:
        """The evidence from the closest stories; `sentences` are (story rank, text, cosine to the question)."""
        dense = [h.dense for h in hits if h.dense is not None]
        best = max(dense, default=-1.0)
        words, names = self.question_terms(question)
        shapes = {t.lower(): t for t in tokens(question)}
        idents = {n for n in names if is_identifier(n, shapes.get(n, n))}
        soft = names - idents
        kind = self.answer_type(question)
        shorts = acronyms_asked(question) if kind == "expansion" else []
        found: set[str] = set()
        missing_everywhere = set(names)
        counts = self.name_counts(sorted(soft)) if self.name_counts is not None and soft else None
        known = {n for n in soft if counts.get(n, 0) > 0} if counts is not None else set()
        stories: list[StoryEvidence] = []
        for rank, h in enumerate(hits[: self.passages]):
            c = h.chunk
            # The story's links count: "the Grafana toolkit" is github.com/grafana/augurs.
            text = f"{c.text}\n{c.headline}\n{c.issue_title}\n{c.source_name}\n{c.section}\n{c.url or ''}\n" + \
                "\n".join(c.links)
            terms = term_set(text) | numbers_in(text)
            found |= terms
            joined = _joined_forms(text)
            present = {n for n in names if name_present(n, terms, joined)}
            missing_everywhere -= present
            own = sorted((s for s in (sentences or ()) if s[0] == rank), key=lambda s: s[2], reverse=True)
            # Without sentences (a caller that scores none) the type cannot be checked, so it does not count.
            if kind == "expansion":  # a definition anywhere in the story, however far its cosine
                typed = chunk_defines(c, shorts)
            else:
                typed = not kind or sentences is None or \
                    any(_holds(kind, t, names) for _, t, _ in own[: self.type_sentences])
            stories.append(StoryEvidence(
                rank=rank, identifiers_ok=idents <= present,
                name_share=len(soft & present) / len(soft) if soft else 1.0,
                best_sentence=own[0][2] if own else -1.0, type_found=typed,
                known_share=_known_share(soft, present, known) if counts is not None else None))
        missing = sorted(w for w in words if w not in found and _stem(w) not in found)
        cov = 1.0 - len(missing) / len(words) if words else 1.0
        return Evidence(best_dense=float(best), coverage=cov, names=sorted(names), identifiers=sorted(idents),
                        missing_names=sorted(missing_everywhere), missing_terms=missing, answer_type=kind,
                        stories=stories, about_coverage=about_our_writing(question))

    def decide(self, ev: Evidence, *, has_hits: bool = True) -> Coverage:
        named = [s for s in ev.stories if not self.require_names or not ev.names or
                 (s.identifiers_ok and self._share(s) >= self.min_name_share)]
        best_sentence = max((s.best_sentence for s in named), default=-1.0)
        # No single sentence is close to a question about our coverage, nor to a definition (see the docstrings).
        floor_waived = ev.about_coverage or (ev.answer_type == "expansion" and any(s.type_found for s in named))
        if not has_hits:
            reason = "nothing retrieved"
        elif ev.best_dense < self.refuse_below:
            reason = f"best cosine {ev.best_dense:.2f} below {self.refuse_below:.2f}"
        elif not named:
            reason = "no close story names " + ", ".join(ev.missing_names or ev.names)
        elif ev.coverage < self.min_coverage:
            reason = f"only {ev.coverage:.0%} of the question's terms occur in the closest stories"
        elif best_sentence > -1.0 and best_sentence < self.min_sentence and not floor_waived:
            reason = f"no sentence answers it closely enough ({best_sentence:.2f} < {self.min_sentence:.2f})"
        elif self.require_type and not any(s.type_found for s in named):
            reason = f"the closest sentences hold no {ev.answer_type}"
        else:
            reason = ""
        return Coverage(not reason, ev.best_dense, ev.coverage, ev.missing_names, ev.missing_terms, reason,
                        floor=self.refuse_below, evidence=ev)

    def _share(self, story: StoryEvidence) -> float:
        if self.excuse_known and story.known_share is not None:
            return story.known_share
        return story.name_share

    def check(self, question: str, hits: Sequence[ScoredChunk],
              sentences: Sequence[tuple[int, str, float]] | None = None) -> Coverage:
        return self.decide(self.gather(question, hits, sentences), has_hits=bool(hits))


def _known_share(soft: set[str], present: set[str], known: set[str]) -> float:
    """The story's share of the plain names with those the archive holds elsewhere counted as found, provided
    it holds one of them itself: a story that names none of what the question names ("What did IBM say about
    quantum computing?" against a quantum story without IBM) is about something else."""
    if not soft:
        return 1.0
    if not soft & present:
        return 0.0
    return len(soft & (present | known)) / len(soft)


def _holds(kind: str, text: str, names: set[str]) -> bool:
    """Whether a sentence holds a number (not one of the question's own names) or a date expression."""
    if kind == "number":
        own = {n for name in names for n in re.findall(r"\d+(?:\.\d+)?", name)}
        nums = numbers_in(text) - own
        return bool(nums) or bool(re.search(r"\b(?:dozen|hundreds?|thousands?|millions?|billions?|half|double|"
                                            r"twice|triple)\b", text, re.IGNORECASE))
    if kind == "date":
        return bool(_DATE_WORDS.search(text))
    return True
