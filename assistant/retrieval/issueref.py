"""Issues named by number: "in issue 540", "issue #141", "#339".

Editors and readers point at an issue by its number, and a question that does ("Which reqwest version did
issue 540 announce?") is about that issue only. Issue numbers live in titles ("This Week in Rust 540", "Last
Week in AI #339") or ids ("this-week-in-react--141"), so a number is matched there; it narrows a search only
when exactly one issue carries it (within the question's sources), since a number several issues carry ("Top
ML Papers of the Week (May 1-7)") names none of them.

    refs = issue_refs("What did issue #141 celebrate?")            # [IssueRef(number="141", start=9, end=20)]
    matching_issues("141", {"twir--141": "This Week In React #141"})  # ["twir--141"]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# "issue 540", "issue #141", "edition no. 12", "newsletter number 7", or a bare "#339" (not "C#", "F#12").
_REF_RE = re.compile(r"\b(?:issue|edition|newsletter)\s+(?:no\.?\s*|number\s+|#\s*)?(\d{1,5})\b"
                     r"|(?<![\w&#])#(\d{1,5})\b", re.IGNORECASE)


@dataclass(frozen=True)
class IssueRef:
    number: str
    start: int
    end: int


def issue_refs(text: str) -> list[IssueRef]:
    """The issue numbers a text names, with where each reference stands."""
    return [IssueRef(number=(m.group(1) or m.group(2)).lstrip("0") or "0", start=m.start(), end=m.end())
            for m in _REF_RE.finditer(text)]


def number_pattern(number: str) -> re.Pattern[str]:
    """How an issue number appears in a title or an id: "#339", "No. 339", "issue 339", "Rust 339", "--339"."""
    return re.compile(rf"(?:#|\bno\.?\s*|\bissue\s+|[-_ ])0*{re.escape(number)}\b", re.IGNORECASE)


def matching_issues(number: str, titles: Mapping[str, str]) -> list[str]:
    """The issue ids (keys of `titles`, id -> title) whose title or id carries the number."""
    pattern = number_pattern(number)
    return sorted(iid for iid, title in titles.items() if pattern.search(title) or pattern.search(iid))

