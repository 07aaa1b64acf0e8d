"""Which tool answers a question: the briefing answer, the coverage engine, the timeline or the briefing.

Subscribers ask for facts ("what did AMD announce about HBM4?"); editors ask about the archive itself ("when did
we first cover Groq?", "which issues covered it?", "how many times?"). Those are different tools: the fact answer
quotes the closest stories, the coverage engine lists every story that mentions a term, in date order. Asking the
fact answerer "when did we first cover X" returns the *closest* story, not the *earliest* one.

The rules are phrasings, not topics: they hold for any newsletter. A question no rule places is a fact question,
never an error. Every kind can be forced (`--kind`, the web app's selector).

    from assistant.routing import route

    r = route("When did we first cover Groq?")
    assert r.kind is QuestionKind.FIRST_COVERAGE and r.term == "Groq"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class QuestionKind(str, Enum):
    FACT = "fact"
    FIRST_COVERAGE = "first_coverage"
    EVERY_ISSUE = "every_issue"
    COUNT = "count"
    EVOLUTION = "evolution"
    BRIEFING = "briefing"

    @classmethod
    def parse(cls, value: str | QuestionKind | None) -> QuestionKind | None:
        """None or "auto" -> None (route by the question); otherwise a kind, or a one-line error."""
        if value is None or isinstance(value, QuestionKind):
            return value
        key = value.strip().lower().replace("-", "_").replace(" ", "_")
        if key in ("", "auto"):
            return None
        aliases = {"first": cls.FIRST_COVERAGE, "every": cls.EVERY_ISSUE, "issues": cls.EVERY_ISSUE,
                   "timeline": cls.EVOLUTION, "brief": cls.BRIEFING, "summary": cls.BRIEFING}
        if key in aliases:
            return aliases[key]
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(k.value for k in cls)
            raise ValueError(f"unknown question kind {value!r}: use auto, {names}") from None


@dataclass(frozen=True)
class Route:
    kind: QuestionKind
    term: str  # what the question is about, for the archive tools ("Groq"); the whole question for facts
    forced: bool = False


# Verbs an editor uses for "our writing about X"; past and present forms.
_WROTE = (r"(?:cover(?:ed|s|ing)?|mention(?:ed|s)?|wr(?:ote|ite|itten)(?: about)?|report(?:ed)?(?: on)?|"
          r"feature(?:d|s)?|discuss(?:ed)?|talk(?:ed)? about|brought up|bring up|come up|came up|"
          r"show(?:ed|n)? up|appear(?:ed|s)?|include[ds]?|link(?:ed)? to)")
_PUNCT = " \t?.!:;,\"'“”‘’"
# "issue" as editors say it: weeks, editions, newsletters, optionally "weekly"/"past"/"our".
_ISSUES = r"(?:(?:weekly|daily|past|our|the)\s+)?(?:issues|weeks|editions|newsletters|posts)"
_ISSUE = r"(?:(?:weekly|daily|past|our|the)\s+)?(?:issue|week|edition|newsletter|post)"

# (kind, pattern with a named group "term"), tried in order: the first that matches wins.
_RULES: list[tuple[QuestionKind, re.Pattern[str]]] = [(k, re.compile(p, re.IGNORECASE)) for k, p in [
    (QuestionKind.FIRST_COVERAGE,
     rf"^(?:when|what (?:issue|date|week)|which issue|in which issue|where)\b.*?\b(?:did|was|were|have|has)?\s*"
     rf"(?:we|you|the newsletter|it)?\s*(?:first|first ever|initially|earliest)\s+{_WROTE}\s+(?P<term>.+)$"),
    (QuestionKind.FIRST_COVERAGE,
     rf"^(?:when|what issue|which issue|in which issue)\b\s+(?:was|were|did)\s+(?P<term>.+?)\s+"
     rf"(?:first|initially)\s+{_WROTE}.*$"),
    (QuestionKind.FIRST_COVERAGE,
     r"^(?:what|which) (?:issue|story) (?:first|initially)\s+\w+(?: about| on)?\s+(?P<term>.+)$"),
    (QuestionKind.FIRST_COVERAGE,
     r"^(?:what|when) (?:was|is) (?:the|our) (?:first|earliest) (?:mention|coverage|story|issue)\s+"
     r"(?:of|about|on|that (?:covered|mentioned))\s+(?P<term>.+)$"),
    (QuestionKind.FIRST_COVERAGE, r"^(?:first|earliest) (?:mention|coverage) of\s+(?P<term>.+)$"),
    (QuestionKind.FIRST_COVERAGE,
     rf"^(?:what|which|when)\s+(?:was\s+)?(?:the\s+)?(?:{_ISSUE}|one)\s+(?:was\s+)?(?:the\s+)?"
     rf"(?:first|earliest)(?:\s+one)?\s+(?:to\s+|that\s+)?(?:\w+\s+)?{_WROTE}\s+(?P<term>.+)$"),
    (QuestionKind.FIRST_COVERAGE,
     rf"^(?:what|which)\s+(?:was|is)\s+the\s+(?:first|earliest)\s+{_ISSUE}\s+(?:to|that)\s+(?:\w+\s+)?{_WROTE}"
     rf"\s+(?P<term>.+)$"),
    (QuestionKind.FIRST_COVERAGE,
     rf"^(?:what|which)\s+{_ISSUE}\s+(?:first|initially)\s+{_WROTE}\s+(?P<term>.+)$"),
    (QuestionKind.COUNT,
     rf"^how (?:many times|often|many issues|many stories|many of (?:our|the) issues)\b.*?"
     rf"(?:did|have|has|was|were)?\s*(?:we|you|the newsletter)?\s*{_WROTE}\s+(?P<term>.+)$"),
    (QuestionKind.COUNT,
     rf"^how (?:many times|often)\s+(?:was|were|has|have|did)\s+(?P<term>.+?)\s+(?:been\s+)?{_WROTE}.*$"),
    (QuestionKind.COUNT,
     rf"^how many (?:{_ISSUES}|stories)\s+(?:have\s+|has\s+)?{_WROTE}\s+(?P<term>.+)$"),
    (QuestionKind.EVERY_ISSUE,
     rf"^(?:list|show|name|give me|find)\b.*?\b(?:{_ISSUES}|{_ISSUE}|stories)\b\s+(?:that|which|where|in which)"
     rf"\s+(?P<term>.+?)\s+(?:was|were|has been|have been)\s+{_WROTE}$"),
    (QuestionKind.EVERY_ISSUE,
     rf"^(?:list|show|name|give me|find)\b.*?\b(?:{_ISSUES}|{_ISSUE}|stories)\b.*?{_WROTE}\s+(?P<term>.+)$"),
    (QuestionKind.EVERY_ISSUE,
     rf"^(?:in )?(?:which|what) {_ISSUES}\b.*?\b(?:did|have|has|was|were)\s+(?P<term>.+?)\s+"
     rf"(?:been\s+)?{_WROTE}.*$"),
    (QuestionKind.EVERY_ISSUE,
     rf"^(?:in )?(?:which|what) {_ISSUES}\b\s*(?:have\s+|has\s+|did\s+)?(?:we\s+|you\s+)?"
     rf"{_WROTE}\s+(?P<term>.+)$"),
    (QuestionKind.EVERY_ISSUE, r"^(?:every|all) (?:the )?issues? (?:that|which) \w+(?: about| on)?\s+(?P<term>.+)$"),
    (QuestionKind.EVOLUTION,
     r"^how (?:has|have|did)\s+(?P<term>.+?)\s+(?:evolved?|changed?|developed?|progressed?|grown|grow)"
     r"(?:\s+(?:over|in|across|according|since|throughout|from)\b.*)?$"),
    (QuestionKind.EVOLUTION,
     r"^(?:give me |show me |what is |what's )?(?:the )?(?:history|timeline|evolution|story so far)\s+of\s+"
     r"(?P<term>.+?)(?:\s+(?:in|across|over) (?:the |our )?(?:newsletter|issues|archive|time|years))?$"),
    (QuestionKind.EVOLUTION, r"^(?P<term>.+?)\s*(?:,|:|-)?\s*(?:a |the )?timeline$"),
]]

_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
# A time phrase right after the verb: "what happened this week", "what's new since the last issue". Without one,
# "what happened in Musk's case" and "what is new in Sonnet 4.6" are questions about a topic (facts).
_WHEN = (rf"(?:this|last|past|today|yesterday|lately|recently|on\s+(?:{_MONTHS}|\d)|in\s+{_MONTHS}|in\s+(?:19|20)\d\d|"
         rf"in\s+(?:the\s+)?(?:last|past|latest|newest|most recent)\s+\w+|since\s+(?:the\s+|our\s+)?"
         rf"(?:last|previous|latest|prior)\b|since\s+(?:{_MONTHS}|\d)|during\s+)")
_BRIEFING = re.compile(
    rf"^(?:brief me\b|give me (?:a|the) (?:briefing|brief|digest|rundown|summary)\b|catch me up\b|"
    rf"what'?s new\s*$|what is new\s*$|what'?s new\s+{_WHEN}|what is new\s+{_WHEN}|what happened\s*$|"
    rf"what happened\s+{_WHEN}|"
    rf"summari[sz]e (?:the |this |that |our )?(?:latest|last|newest|most recent|issue|week|day|newsletter)\b|"
    rf"(?:a |the )?summary of (?:the )?(?:latest|last|issue|this week|the week)\b|"
    rf"what(?:'s| is| was) in (?:the )?(?:latest|last|newest) issue\b)",
    re.IGNORECASE)

# Words that frame the term, not part of it ("Groq in the newsletter", "the Gateway API so far").
_TAIL = re.compile(r"(?:^|\s+)(?:(?:as )?(?:covered|mentioned|reported|featured)\b.*|(?:in|across|throughout|according to|"
                   r"over) (?:the |our |this )?(?:newsletter|issues?|archive|past|weeks?|weekly \w+|"
                   r"newsletter's history|years|time)\b.*|so far|ever|before|at all|since then|from .+ to .+)$",
                   re.IGNORECASE)
_LEAD = re.compile(r"^(?:about|on|the topic of|the subject of|the|a|an|our)\s+", re.IGNORECASE)
_OWNER = re.compile(r"^[\w.\-]+(?:\s+[A-Z][\w.\-]*)*['’]s\s+")
# Lower-case nouns that say what kind of thing the term is ("the uutils project"): the thing is the rest.
_KIND_WORDS = {"project", "projects", "library", "libraries", "effort", "efforts", "work", "release", "releases",
               "model", "models", "family", "app", "apps", "startup", "company", "engine", "framework", "tool",
               "tools", "crate", "crates", "story", "feature", "features", "support", "initiative", "series",
               "platform", "announcement", "announcements", "news", "paper", "papers", "version", "versions",
               "product", "products", "service", "updates", "update", "plans", "plan"}


# "(KEP-4639, first proposed as the OCI VolumeSource)": the other names an aside gives the thing.
_ALIAS_LEAD = re.compile(r"^(?:(?:first |originally |previously |formerly |also )?(?:proposed |known |called |named |"
                         r"introduced )?(?:as |aka |a\.k\.a\. |or )?)?(?:the )?", re.IGNORECASE)


def _aliases(term: str) -> list[str]:
    """Names inside a parenthetical aside: "image volumes (KEP-4639, first proposed as the OCI VolumeSource)"
    -> ["KEP-4639", "OCI VolumeSource"]. Only names count; "(the new one)" gives none."""
    out = []
    for aside in re.findall(r"\(([^)]*)\)", term):
        for part in re.split(r",|;|\s+or\s+", aside):
            name = _ALIAS_LEAD.sub("", part.strip()).strip(_PUNCT)
            if name and len(name) <= 60 and any(_NAME.fullmatch(w) for w in name.split()):
                out.append(name)
    return out


def _clean_term(term: str) -> str:
    """The thing asked about, without the words that frame it: possessive owners, appositives, asides; names an
    aside gives are alternatives ("image volumes / KEP-4639 / OCI VolumeSource", either counts)."""
    term = term.strip(_PUNCT)
    aliases = _aliases(term)
    cleaned = _clean_words(term)
    return " / ".join(dict.fromkeys([cleaned, *aliases])) if cleaned else cleaned


def _clean_words(term: str) -> str:
    term = re.sub(r"\s*\([^)]*\)", "", term)          # "image volumes (KEP-4639)" -> "image volumes"
    term = re.split(r",\s+|\s+[-–—]\s+", term)[0]        # "gccrs, the GCC-based Rust compiler" -> "gccrs"
    for _ in range(3):
        term = _TAIL.sub("", term).strip(_PUNCT)
        term = _LEAD.sub("", term).strip(_PUNCT)
    owned = _OWNER.sub("", term)
    if owned != term and set(owned.lower().split()) - _KIND_WORDS:
        term = owned                                      # "Tesla's Dojo" -> "Dojo"; "DeepSeek's models" stays
    else:
        term = re.sub(r"['’]s\b", "", term)
    words = term.split()
    kept = [w for w in words if w not in _KIND_WORDS] or words  # lower-case only: "React Compiler" stays
    if len(words) >= 3:
        # A long description around a name ("the AI music generator Suno"): the name is what stories carry.
        if re.fullmatch(r"in [A-Z][\w.\-]*", " ".join(kept[-2:])):
            kept = kept[:-2]                              # "cgroup v1 in Kubernetes" -> "cgroup v1"
        at = [i for i, w in enumerate(kept) if _NAME.fullmatch(w)]
        if any(re.match(r"[A-Z](?:[a-z]|[A-Z]{2})", kept[i]) for i in at):
            # From the first name to the last, numbers after it kept: "Tree of Thoughts", "Expo SDK 55".
            end = at[-1] + 1
            while end < len(kept) and re.fullmatch(r"v?\d[\w.]*", kept[end]):
                end += 1
            kept = kept[at[0]:end]
    return " ".join(kept).strip(_PUNCT)


# A proper name: capitalised (not a two-letter acronym like "AI") or a mixed identifier ("k8s.gcr.io", "GPT-5").
_NAME = re.compile(r"(?:[A-Z][a-z][\w.\-+]*|[A-Z]{3,}[\w.\-+]*|[A-Za-z]+[\d.][\w.\-]*|[a-z]+[A-Z][\w.\-]*)")


def route(question: str, *, kind: QuestionKind | str | None = None) -> Route:
    """The tool for `question`; `kind` forces one (the term is still extracted when a rule finds it)."""
    text = " ".join(question.split()).strip()
    forced = QuestionKind.parse(kind)
    if _BRIEFING.search(text.strip(_PUNCT)):
        found: Route | None = Route(QuestionKind.BRIEFING, text)
    else:
        found = None
        body = text.rstrip(_PUNCT)
        for rule_kind, pattern in _RULES:
            m = pattern.match(body)
            if m:
                term = _clean_term(m.group("term"))
                if term and len(term) <= 120 and term.lower() not in ("it", "this", "that", "them"):
                    found = Route(rule_kind, term)
                    break
    if forced is not None:
        term = found.term if found and found.kind is not QuestionKind.BRIEFING else text
        return Route(forced, term if forced is not QuestionKind.FACT else text, forced=True)
    return found or Route(QuestionKind.FACT, text)
