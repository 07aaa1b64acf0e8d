"""Named versions in a question: "Kubernetes 1.24", "React 19", "Claude 3", "Rust 1.77.0".

A product with its version names one release, and news archives hold many look-alikes: "Kubernetes is now
built with Go 1.24" is closer to "What was the codename of Kubernetes 1.24?" for a sentence embedding than the
release announcement itself, which is long and never says "codename". So the retriever fetches the chunks that
name the release ("Kubernetes 1.24", "Kubernetes version 1.24", "Kubernetes v1.24", never "1.24.7" or "Go
1.24") as candidates of their own and ranks them up, and the version anchors the question in time, so recent
stories get no bonus. Only dotted versions count there (`releases`): after a name, a whole number is as often a
name of its own ("Covid-19", "Title 42", "I-95"), and RealTime QA's questions about those need the recent weeks
(Hits@5 0.960 -> 0.955 when they were taken for releases).

    pattern = release_pattern(named_versions("What was the codename of Kubernetes 1.24?"))
    bool(pattern.search('Kubernetes 1.24 "Stargazer" is released'))   # True
    bool(pattern.search("Kubernetes is now built with Go 1.24.7"))      # False
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A capitalised word, then an optional "version"/"v", then a version: dotted ("1.24", "19.2.7") or a whole
# number ("React 19", "Claude 3"). The number must end there: "Rust 1.77" is not "Rust 1.77.1".
_QUESTION_RE = re.compile(r"(?<![\w.#-])([A-Z][\w+]*)[\s-]+(?:version\s+)?v?(\d+(?:\.\d+)*)(?![\w%]|\.\d)")
# Capitalised words that a number follows without naming a release ("Issue 540", "Top 10", "May 2024").
_NOT_NAMES = {"issue", "issues", "edition", "week", "weeks", "top", "no", "number", "part", "chapter", "episode",
              "day", "days", "page", "section", "table", "figure", "pr", "kep", "cve", "rfc", "the", "a", "an",
              "in", "of", "for", "at", "on", "by", "to", "from", "and", "or", "how", "what", "which", "when", "who",
              "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
              "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
              "dec", "q1", "q2", "q3", "q4", "h1", "h2", "fy"}
_YEAR = re.compile(r"^(?:19|20)\d\d$")


@dataclass(frozen=True)
class NamedVersion:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name} {self.version}".strip()


def named_versions(question: str) -> list[NamedVersion]:
    """The releases a question names; a year after a word ("Conf 2024") and a bare number ("Top 10") are not."""
    out: list[NamedVersion] = []
    for m in _QUESTION_RE.finditer(question):
        name, version = m.group(1), m.group(2)
        if name.lower() in _NOT_NAMES or _YEAR.match(version) or (len(version) > 2 and "." not in version):
            continue
        found = NamedVersion(name, version)
        if found not in out:
            out.append(found)
    return out


# "the v1.31 Enhancements Freeze": a dotted version marked with "v" names a release even without its product.
_BARE_RE = re.compile(r"(?<![\w.#-])v(\d+\.\d+(?:\.\d+)*)(?![\w%-]|\.\d)")


def releases(question: str) -> list[NamedVersion]:
    """The named versions that surely name a release: dotted ones ("Kubernetes 1.24", "Opus 4.5"), and a dotted
    version marked with "v" on its own ("v1.31"), whose name is then empty."""
    out = [v for v in named_versions(question) if "." in v.version]
    named = {v.version for v in out}
    for m in _BARE_RE.finditer(question):
        bare = NamedVersion("", m.group(1))
        if m.group(1) not in named and bare not in out:
            out.append(bare)
    return out


def release_pattern(versions: list[NamedVersion]) -> re.Pattern[str] | None:
    """A text names one of the releases: the name, then "version"/"v" or not, then exactly that version."""
    if not versions:
        return None
    alternatives = "|".join(rf"{re.escape(v.name)}[\s-]*(?:version\s+)?v?{re.escape(v.version)}" if v.name
                            else rf"v?{re.escape(v.version)}" for v in versions)
    return re.compile(rf"(?<![\w.])(?:{alternatives})(?![\w%]|\.\d)", re.IGNORECASE)
