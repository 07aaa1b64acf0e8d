"""Whether the archive covers a question at all, decided before any answer is written (both answer modes).

Calibrated on the bundled corpus (README "Answers", benchmarks/answer_quality.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answer.verify import STOPWORDS, _stem, names_in, numbers_in, term_set, tokens
from assistant.records import ScoredChunk

_YEAR = re.compile(r"^(?:19|20)\d\d$")

# A question's "Chinese labs" are a story's "China"; the same for the other common nationality adjectives.
DEMONYMS = {"chinese": "china", "american": "america", "european": "europe", "japanese": "japan",
            "korean": "korea", "french": "france", "german": "germany", "british": "britain", "indian": "india",
            "russian": "russia", "israeli": "israel", "canadian": "canada", "taiwanese": "taiwan",
            "australian": "australia", "italian": "italy", "spanish": "spain", "dutch": "netherlands",
            "swiss": "switzerland", "saudi": "saudi", "emirati": "uae", "brazilian": "brazil", "iranian": "iran"}


@dataclass
class Coverage:
    """Why the gate let a question through or not (kept for calibration and shown in debug output)."""

    answerable: bool
    best_dense: float
    coverage: float
    missing_names: list[str]
    missing_terms: list[str]
    reason: str = ""
    floor: float = 0.0  # the cosine the gate required (lower when every word of the question is covered)


class AnswerGate:
    """Refuse before answering when the archive does not cover the question.

    Three signals, all measured on the bundled corpus (README, Calibration): the best dense cosine of the
    retrieved stories; whether every name the question asks about (capitalised words, identifiers with digits)
    occurs in the top passages; and the share of the question's content words found there. Cosine alone does
    not separate near-topic questions ("What is the price of Tesla's Cybercab?" scores 0.58 against a Tesla
    story; in-archive questions go as low as 0.49)."""

    def __init__(self, *, refuse_below: float, min_coverage: float = 0.5, passages: int = 3,
                 full_coverage_margin: float = 0.1, require_names: bool = True) -> None:
        if not 0.0 <= min_coverage <= 1.0:
            raise ValueError("min_coverage must be within [0, 1]")
        if passages < 1:
            raise ValueError("passages must be >= 1")
        self.refuse_below = refuse_below
        self.min_coverage = min_coverage
        self.passages = passages
        self.full_coverage_margin = full_coverage_margin
        self.require_names = require_names

    @staticmethod
    def question_terms(question: str) -> tuple[set[str], set[str]]:
        """(content words, names) of a question, lower-cased; years and time words are left to retrieval."""
        words: set[str] = set()
        for tok in tokens(question):
            low = tok.lower()
            if low in STOPWORDS or _YEAR.match(low) or len(low) < 2:
                continue
            words.add(low)
        names = {n for n in names_in(question) if not _YEAR.match(n)}
        # Version numbers are as specific as names ("Go 1.27", "Opus 4.6"); years are retrieval's business.
        names |= {n for n in numbers_in(question) if not _YEAR.match(n) and ("." in n or len(n) > 1)}
        return words, names

    def check(self, question: str, hits: Sequence[ScoredChunk]) -> Coverage:
        dense = [h.dense for h in hits if h.dense is not None]
        best = max(dense, default=-1.0)
        if not hits:
            return Coverage(False, best, 0.0, [], [], reason="nothing retrieved")
        top = hits[: self.passages]
        found = set()
        for h in top:
            c = h.chunk
            text = f"{c.text}\n{c.headline}\n{c.issue_title}\n{c.source_name}\n{c.section}"
            found |= term_set(text) | numbers_in(text)
        words, names = self.question_terms(question)
        missing = sorted(w for w in words if w not in found and _stem(w) not in found)
        missing_names = sorted(n for n in names if not ({n, _stem(n), DEMONYMS.get(n, n)} & found))
        cov = 1.0 - len(missing) / len(words) if words else 1.0
        # Short questions ("Who supplies AMD's memory?") embed loosely: MiniLM gives their right story 0.42. When
        # every word and name of the question is in the top stories, a lower cosine is enough.
        floor = self.refuse_below - (self.full_coverage_margin if names and not missing else 0.0)
        if best < floor:
            reason = f"best cosine {best:.2f} below {floor:.2f}"
        elif missing_names and self.require_names:
            reason = "not mentioned in the closest stories: " + ", ".join(missing_names)
        elif cov < self.min_coverage:
            reason = f"only {cov:.0%} of the question's terms occur in the closest stories"
        else:
            reason = ""
        return Coverage(not reason, best, cov, missing_names, missing, reason, floor=floor)
