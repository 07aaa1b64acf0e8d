"""Names in stories (capitalised names, identifiers, version numbers) and how rare each is in the archive.

Which capitalised words are names is learned from the archive itself, not from a word list: a word is a name when
the stories write it capitalised in mid-sentence at least as often as in lower case ("Waymo", "Rust", "OpenAI"),
so Title Case headlines ("Google Rolls Out Latest AI Model") do not turn "Rolls" or "Latest" into names. Words
with digits ("Gemini 3.1", "GPT-5.2", "$228M", "1.80.0") are always names. Rarity is the inverse document
frequency of a name over the stories given (the whole archive in `StoryWindow`, every parsed story in the cluster
benchmark), so "OpenAI" says little and "NemoClaw" says a lot.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

# Words (with inner dots, dashes and pluses: "Next.js", "GPT-4o", "C++"), "$228M", version numbers.
_TOKEN_RE = re.compile(r"\$?[A-Za-z0-9][\w.\-+]*[\w+]|\$?[A-Za-z0-9]")
_POSSESSIVE_RE = re.compile(r"['’]s$", re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"(?<=[.!?:])\s+|\n+")
# Release stages: the same product at another stage is another event ("Vite 7.0 Beta" vs "Vite 7.0").
_STAGE_RE = re.compile(r"^(?:alpha|beta|rc\d*|preview|nightly|canary|stable|ga|lts)$", re.IGNORECASE)
_VERSION_RE = re.compile(r"^v?\d+(?:\.\d+)+(?:[-+.]?[A-Za-z]+\.?\d*)*$|^v\d+$", re.IGNORECASE)
_PART_RE = re.compile(r"\b(?:part|episode|ep\.?|chapter|day|week|vol\.?|volume|#)\s*(\d+)\b", re.IGNORECASE)
MIN_DF = 3
LEAD_WORDS = 60  # the headline plus this many words of the body say what the story is about


def words(text: str) -> list[str]:
    """The word tokens of a text as written (case kept, possessive "'s" and edge punctuation dropped)."""
    out: list[str] = []
    for raw in _TOKEN_RE.findall(text.replace("’", "'")):
        # A token ends in a word character or "+" (_TOKEN_RE), so only a trailing single "+" has edge punctuation
        # to drop; the checks spare the archive pass (every story of the archive) a call per token.
        token = raw.rstrip(".-+") if raw[-1] == "+" and not raw.endswith("++") else raw
        if "'" in token:
            token = _POSSESSIVE_RE.sub("", token)
        if token:
            out.append(token)
    return out


def lead_text(headline: str, body: str, *, limit: int = LEAD_WORDS) -> str:
    """The headline and the start of the body: where a story names its subject."""
    return f"{headline}\n{' '.join(body.split()[:limit])}"


def versions(text: str) -> frozenset[str]:
    """Version numbers, release stages and part numbers a headline states ("1.77.1", "rc", "part 2")."""
    found: set[str] = set()
    for token in words(text):
        low = token.lower().lstrip("v") if _VERSION_RE.match(token) else token.lower()
        if _VERSION_RE.match(token) or _STAGE_RE.match(token):
            found.add(low)
    found.update(f"part {n}" for n in _PART_RE.findall(text))
    return frozenset(found)


@dataclass
class NameStats:
    """Casing and document frequency of words over a body of stories; says which words are names and how
    rare each name is.

        stats = NameStats.learn([(s.headline, s.body) for s in stories])
        stats.names_of("Nvidia bets on OpenClaw", "Nvidia announced NemoClaw ...")  # {"nvidia", "openclaw", ...}
        stats.rarity("nemoclaw")  # high: few stories name it
    """

    capitalised: Counter[str] = field(default_factory=Counter)  # mid-sentence capitalised uses, by lower case
    lower: Counter[str] = field(default_factory=Counter)        # lower-case uses
    df: Counter[str] = field(default_factory=Counter)           # stories naming it
    stories: int = 0
    # is_name by token, filled as tokens are met: the casing counters are read-only once learned (the archive pass
    # meets each distinct word hundreds of times).
    _named: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def learn(cls, stories: Iterable[tuple[str, str]]) -> NameStats:
        """From (headline, body) pairs. Casing is read from body text only: headlines are often Title Case."""
        return cls.learn_with_names(stories)[0]

    @classmethod
    def learn_with_names(cls, stories: Iterable[tuple[str, str]]) -> tuple[NameStats, list[frozenset[str]]]:
        """learn(), and each story's names (`names_of(headline, body)`, in order), found on the way."""
        stats = cls()
        leads: list[str] = []
        for headline, body in stories:
            lead = lead_text(headline, body)
            leads.append(lead)
            for sentence in _SENTENCE_END_RE.split(" ".join(body.split()[:LEAD_WORDS * 2])):
                tokens = words(sentence)
                for token in tokens[1:]:  # a sentence's first word is capitalised whatever it is
                    if token[0].isupper():
                        stats.capitalised[token.lower()] += 1
                    elif token[0].islower():
                        stats.lower[token.lower()] += 1
        found = [stats.names_of_text(lead) for lead in leads]
        for names in found:
            stats.df.update(names)
        stats.stories = len(leads)
        return stats, found

    def is_name(self, token: str) -> bool:
        named = self._named.get(token)
        if named is None:
            named = self._named[token] = self._is_name(token)
        return named

    def _is_name(self, token: str) -> bool:
        if any(c.isdigit() for c in token):
            return any(c.isalpha() for c in token) or len(token) >= 2  # "4.6", "150"; not a stray "2"
        if not (token[0].isupper() or any(c.isupper() for c in token[1:])):
            return False
        if len(token) > 1 and token.isupper():
            return True  # "FDA", "UAE", "SB"
        low = token.lower()
        # Never written in lower case in the archive ("Gemini", "NemoClaw"): a name.
        return self.lower[low] == 0 or self.capitalised[low] >= self.lower[low]

    def names_of_text(self, text: str) -> frozenset[str]:
        named = self._named
        out: set[str] = set()
        for token in words(text):
            is_name = named.get(token)
            if is_name is None:
                is_name = named[token] = self._is_name(token)
            if is_name:
                out.add(token.lower())
        return frozenset(out)

    def names_of(self, headline: str, body: str) -> frozenset[str]:
        return self.names_of_text(lead_text(headline, body))

    def rarity(self, name: str) -> float:
        """Inverse document frequency: log((stories + 1) / (stories naming it + 1)); unknown names are rarest."""
        return math.log((self.stories + 1) / (self.df.get(name, 0) + 1))

    def is_rare(self, name: str, *, max_share: float) -> bool:
        """At most `max_share` of the stories carry the name; in a small archive a handful always counts as
        rare, because the stories of one event themselves carry its names (an event told by 3 sources in an
        archive of 600 stories)."""
        return self.df.get(name, 0) <= max(MIN_DF, max_share * self.stories)

    def rare_shared(self, a: Iterable[str], b: Iterable[str], *, max_share: float) -> list[str]:
        """Names both sets hold that few stories carry, rarest first."""
        shared = set(a) & set(b)
        return sorted((n for n in shared if self.is_rare(n, max_share=max_share)), key=self.rarity, reverse=True)
